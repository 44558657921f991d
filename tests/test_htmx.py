"""With JavaScript on, htmx swaps only the play region; without it, whole pages work."""

from helpers import (
    BEST_PATH,
    csrf_token,
    doorstep,
    gen_user,
    play_through,
    sign_in,
    start,
    take,
    write_scenario,
)

HTMX = {"HX-Request": "true"}


def test_full_page_without_htmx(signed_in):
    """A normal request gets the whole page and a Vary header."""
    response = signed_in.get(start(signed_in))
    page = response.get_data(as_text=True)
    assert page.startswith("<!DOCTYPE html>")
    assert 'id="play-region"' in page
    assert "HX-Request" in response.headers["Vary"]


def test_fragment_for_htmx(signed_in):
    """An htmx request gets the title and the play region only, and the address to show."""
    url = start(signed_in)
    response = signed_in.get(url, headers=HTMX)
    page = response.get_data(as_text=True)
    assert page.startswith("<title>Step 1: A call to a flat – Safe to Report</title>")
    assert "<html" not in page and "govuk-header" not in page
    assert 'id="play-region"' not in page
    assert "What do you do?" in page
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["HX-Push-Url"] == url


def test_form_enhanced_with_htmx(signed_in):
    """The play form is a real form that htmx also posts, swapping the play region."""
    url = start(signed_in)
    page = signed_in.get(url).get_data(as_text=True)
    assert f'<form method="post" action="{url}"' in page
    assert f'hx-post="{url}"' in page and 'hx-target="#play-region"' in page


def test_post_from_htmx_answers_with_the_feedback(signed_in):
    """A decision posted by htmx is answered with its feedback region at once, with the
    feedback's own address to show; that address shows the same feedback."""
    url = start(signed_in)
    response = take(signed_in, url, 0, "interpreter", headers=HTMX)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == url + "/feedback/1"
    assert page.startswith("<title>Feedback on decision 1: A call to a flat – Safe to Report")
    assert "<html" not in page and "A good choice" in page
    assert f'data-hx-get="{url}"' in page and "Continue" in page
    again = signed_in.get(url + "/feedback/1", headers=HTMX).get_data(as_text=True)
    assert again == page


def test_post_from_htmx_answers_with_the_next_node(signed_in):
    """A step with nothing to say is answered with the next node, marked shown as the step
    is recorded, so the time to decide counts from then; a second post records nothing."""
    from sqlmodel import select

    from simulator.db import db
    from simulator.models import Attempt, AttemptStep

    url = start(signed_in)
    take(signed_in, url, 0, "interpreter", headers=HTMX)
    response = take(signed_in, url, 1, "continue", headers=HTMX)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Push-Url"] == url
    assert page.startswith("<title>Step 3: A call to a flat") and 'name="step" value="2"' in page
    with signed_in.application.app_context():
        attempt = db.session.get(Attempt, int(url.rsplit("/", 1)[1]))
        last = db.session.exec(
            select(AttemptStep)
            .where(AttemptStep.attempt_id == attempt.id)
            .order_by(AttemptStep.step_number.desc())
        ).first()
        assert attempt.shown_step == 2 and attempt.shown_at == last.recorded_at
    repeat = take(signed_in, url, 1, "continue", headers=HTMX)
    assert repeat.status_code == 303 and repeat.headers["Location"] == url


def test_post_from_htmx_with_the_last_feedback_leads_to_the_debrief(signed_in):
    """The final decision's feedback comes at once too, and leads on to the debrief."""
    url = start(signed_in)
    play_through(signed_in, url, BEST_PATH[:2])
    last = take(signed_in, url, 2, "reassure", "She is at risk.", headers=HTMX)
    assert last.status_code == 200 and last.headers["HX-Push-Url"] == url + "/feedback/3"
    page = last.get_data(as_text=True)
    assert "See your debrief" in page and f'data-hx-get="{url}/debrief"' in page


def test_post_from_htmx_straight_to_the_debrief_redirects(scenarios_dir, make_app):
    """A last choice with nothing to say leads to the debrief by a 303, as without htmx."""
    write_scenario(scenarios_dir, text=doorstep().replace("        feedback: Safety first.\n", ""))
    client = make_app().test_client()
    gen_user(client.application)
    assert sign_in(client).status_code == 303
    url = start(client)
    play_through(client, url, BEST_PATH[:2])
    last = take(client, url, 2, "reassure", "She is at risk.", headers=HTMX)
    assert last.status_code == 303 and last.headers["Location"] == url + "/debrief"


def test_errors_swap_into_region(signed_in):
    """A form error for htmx comes back as the region with its error summary."""
    url = start(signed_in)
    response = take(signed_in, url, 0, "", headers=HTMX)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.startswith("<title>Error: Step 1") and "govuk-error-summary" in page
    assert "HX-Push-Url" not in response.headers


def test_debrief_fragment(signed_in):
    """The debrief also comes as a fragment for htmx."""
    url = start(signed_in)
    play_through(signed_in, url, BEST_PATH)
    page = signed_in.get(url + "/debrief", headers=HTMX).get_data(as_text=True)
    assert page.startswith("<title>Debrief: A call to a flat") and "<html" not in page


def test_other_pages_are_whole(signed_in):
    """Pages outside play are whole pages even for htmx."""
    assert "<!DOCTYPE html>" in signed_in.get("/", headers=HTMX).get_data(as_text=True)


def test_csrf_token_in_fragment(signed_in):
    """Swapped-in forms carry their CSRF token."""
    url = start(signed_in)
    assert csrf_token(signed_in, url)


def test_security_headers(client):
    """Pages cannot be framed or sniffed."""
    response = client.get("/sign-in")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_history_restore_gets_whole_page(signed_in):
    """When htmx restores history from the server it gets the whole page."""
    url = start(signed_in)
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    assert signed_in.get(url, headers=headers).get_data(as_text=True).startswith("<!DOCTYPE")
