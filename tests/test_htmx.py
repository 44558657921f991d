"""With JavaScript on, htmx swaps only the play region; without it, whole pages work."""

import re

import pytest
from helpers import (
    BEST_PATH,
    attempt_id,
    csrf_token,
    doorstep,
    gen_user,
    play_through,
    post,
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


def test_title_and_region_share_one_context(signed_in):
    """htmx's title and region are rendered in one context: Flask's context processors run
    once for both, not once a block."""
    url = start(signed_in)
    calls = []

    def counted():
        calls.append(1)
        return {}

    signed_in.application.template_context_processors[None].append(counted)
    try:
        page = signed_in.get(url, headers=HTMX).get_data(as_text=True)
    finally:
        signed_in.application.template_context_processors[None].remove(counted)
    assert len(calls) == 1
    assert page.startswith("<title>Step 1: A call to a flat") and "What do you do?" in page


def test_form_enhanced_with_htmx(signed_in):
    """The play form is a real form that htmx also posts, swapping the play region."""
    url = start(signed_in)
    page = signed_in.get(url).get_data(as_text=True)
    assert f'<form method="post" action="{url}"' in page
    assert f'hx-post="{url}"' in page and 'hx-target="#play-region"' in page


def start_with_htmx(client, key="doorstep", number=1):
    """Press Start on a scenario's briefing as htmx sends it; return the response."""
    return post(client, f"/scenarios/{key}/attempts", {"number": str(number)}, headers=HTMX)


def test_start_is_enhanced_with_htmx(signed_in):
    """The briefing's Start is a real form that htmx also posts, replacing all of <main>."""
    page = signed_in.get("/scenarios/doorstep").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/scenarios/doorstep/attempts"[^>]*>', page)
    assert form is not None
    assert 'data-hx-post="/scenarios/doorstep/attempts"' in form.group(0)
    assert 'data-hx-target="#main-content"' in form.group(0)


def test_start_from_htmx_shows_the_first_node_in_place(app, signed_in):
    """htmx's Start is answered with the first node at once, as <main>'s content (the play
    region with its wrapper), the attempt's address to show, and the node marked shown as
    the attempt began; that address shows the same node."""
    from simulator.db import db
    from simulator.models import Attempt

    response = start_with_htmx(signed_in)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    url = response.headers["HX-Push-Url"]
    assert re.fullmatch(r"/attempts/\d+", url)
    assert page.startswith("<title>Step 1: A call to a flat – Safe to Report</title>")
    assert "<html" not in page and "govuk-header" not in page
    assert 'id="play-region"' in page and "What do you do?" in page
    assert f'hx-post="{url}"' in page
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        assert attempt.shown_step == 0 and attempt.shown_at == attempt.started_at
    again = signed_in.get(url).get_data(as_text=True)
    assert 'id="play-region"' in again and "What do you do?" in again
    assert take(signed_in, url, 0, "interpreter").status_code == 303


def test_start_from_htmx_that_redirects_loads_the_page_whole(signed_in):
    """A Start that leads elsewhere (an attempt already in progress) tells htmx to load that
    page whole (HX-Redirect), which shows why; htmx would otherwise put its region where
    <main> belongs. No second attempt is begun."""
    url = start(signed_in)
    response = start_with_htmx(signed_in, number=2)
    assert response.status_code == 200 and response.get_data() == b""
    assert response.headers["HX-Redirect"] == url
    assert "HX-Push-Url" not in response.headers
    page = signed_in.get(url).get_data(as_text=True)
    assert "You already have this scenario in progress" in page


def test_double_start_from_htmx_begins_one_attempt(signed_in):
    """A second htmx Start with the same number leads to the attempt the first began."""
    first = start_with_htmx(signed_in).headers["HX-Push-Url"]
    second = start_with_htmx(signed_in)
    assert second.headers["HX-Redirect"] == first


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
    again = signed_in.get(url + "/feedback/1", headers=HTMX).get_data(as_text=True)
    # The next node sent ahead holds a form token, which is signed with the time: two
    # requests a second apart carry different ones.
    assert without_tokens(again) == without_tokens(page)


def without_tokens(page):
    """Return a page with its form tokens' values blanked."""
    return CSRF_VALUE.sub(r'\1"', page)


CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]+"')


def ahead_of(page):
    """Return the content of the next node sent ahead in a feedback region, or None."""
    found = re.search(r"<template data-app-next>(.*)</template>", page, re.S)
    return found.group(1) if found else None


def test_the_next_node_comes_ahead_with_the_feedback(signed_in):
    """In practice, the feedback's answer carries the next node, which Continue shows with
    no request: the same region the node's address gives htmx, with a field for when it
    was shown; Continue is still a link to that address."""
    url = start(signed_in)
    page = take(signed_in, url, 0, "interpreter", headers=HTMX).get_data(as_text=True)
    continue_link = re.search(r"<a [^>]*data-app-reveal[^>]*>", page).group(0)
    assert f'href="{url}"' in continue_link and "hx-get" not in continue_link
    node = ahead_of(page)
    assert node.lstrip().startswith("<title>Step 2: A call to a flat – Safe to Report</title>")
    assert '<input type="hidden" name="shown_after" value="">' in node
    assert 'name="step" value="1"' in node and f'hx-post="{url}"' in node
    shown = signed_in.get(url, headers=HTMX).get_data(as_text=True)
    without_field = node.replace('<input type="hidden" name="shown_after" value="">', "")
    normal = "\n".join(line for line in without_field.splitlines() if line.strip())
    assert CSRF_VALUE.sub(r"\1", normal) == CSRF_VALUE.sub(
        r"\1", "\n".join(line for line in shown.splitlines() if line.strip())
    )


@pytest.mark.parametrize("how", ["whole page", "history restore", "earlier decision"])
def test_no_node_comes_ahead_where_continue_needs_the_server(signed_in, how):
    """A whole page, a history restore and an earlier decision's feedback send nothing
    ahead: Continue is a link (and htmx's get)."""
    url = start(signed_in)
    take(signed_in, url, 0, "interpreter", headers=HTMX)
    headers = {
        "whole page": {},
        "history restore": HTMX | {"HX-History-Restore-Request": "true"},
    }
    if how == "earlier decision":
        take(signed_in, url, 1, "continue")
        headers = HTMX
    page = signed_in.get(url + "/feedback/1", headers=headers.get(how, HTMX)).get_data(True)
    assert ahead_of(page) is None and "data-app-reveal" not in page
    assert "data-hx-get=" in page or how == "earlier decision"


def recorded(app, url):
    """Return the attempt's steps, in order."""
    from sqlmodel import select

    from simulator.db import db
    from simulator.models import AttemptStep

    with app.app_context():
        statement = select(AttemptStep).where(AttemptStep.attempt_id == attempt_id(url))
        return db.session.exec(statement.order_by(AttemptStep.step_number)).all()


@pytest.mark.parametrize("value", ["", "soon", "-5", "²", "1" * 9, "86400001"])
def test_a_shown_after_that_is_not_a_time_is_ignored(signed_in, value):
    """Whatever the field holds, the step is recorded once, timed from the previous step."""
    url = start(signed_in)
    take(signed_in, url, 0, "interpreter", headers=HTMX)
    response = post(signed_in, url, {"step": "1", "choice": "continue", "shown_after": value})
    assert response.status_code == 303
    steps = recorded(signed_in.application, url)
    assert len(steps) == 2
    since = steps[1].recorded_at - steps[0].recorded_at
    assert steps[1].elapsed_ms == int(since.total_seconds() * 1000)


def test_a_form_with_errors_keeps_its_shown_after(signed_in):
    """A choice left out is asked for again, and the form keeps when the node was shown."""
    url = start(signed_in)
    take(signed_in, url, 0, "interpreter", headers=HTMX)
    data = {"step": "1", "choice": "", "shown_after": "1234"}
    response = post(signed_in, url, data, headers=HTMX)
    assert response.status_code == 422
    assert '<input type="hidden" name="shown_after" value="1234">' in response.get_data(True)


@pytest.mark.parametrize(
    ("seen_by_the_server", "shown_after", "expected_ms"),
    [(False, 2, 3000), (False, 0, 5000), (False, 9, 5000), (True, 2, 5000)],
    ids=["within", "at once", "after the choice", "the server saw it shown"],
)
def test_shown_after_places_the_showing_within_the_time_since_the_step(
    signed_in, seen_by_the_server, shown_after, expected_ms
):
    """The browser's word places the showing between the previous step and the choice,
    never outside; where the server saw the node shown, its own time counts."""
    from datetime import timedelta

    from simulator import attempts
    from simulator.db import db
    from simulator.models import Attempt

    url = start(signed_in)
    take(signed_in, url, 0, "interpreter", headers=HTMX)
    if seen_by_the_server:
        signed_in.get(url)
    with signed_in.application.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        progress = attempts.progress_of(attempt)
        since = attempt.shown_at if seen_by_the_server else progress.steps[-1].recorded_at
        step = attempts.record_step(
            progress,
            progress.offered()[0],
            None,
            shown_after=timedelta(seconds=shown_after),
            now=since + timedelta(seconds=5),
        )
        assert step.elapsed_ms == expected_ms


def test_post_from_htmx_with_the_last_feedback_brings_the_debrief(signed_in):
    """The final decision's feedback comes at once too, with the debrief ahead of it: See
    your debrief shows it with no request, and is still a link to the debrief's address,
    which gives htmx the same debrief."""
    url = start(signed_in)
    play_through(signed_in, url, BEST_PATH[:2])
    last = take(signed_in, url, 2, "reassure", "She is at risk.", headers=HTMX)
    assert last.status_code == 200 and last.headers["HX-Push-Url"] == url + "/feedback/3"
    page = last.get_data(as_text=True)
    reveal = re.search(r"<a [^>]*data-app-reveal[^>]*>\s*See your debrief", page)
    assert reveal is not None and f'href="{url}/debrief"' in reveal.group(0)
    debrief = ahead_of(page)
    assert debrief.lstrip().startswith("<title>Debrief: A call to a flat – Safe to Report")
    assert "Passed" in debrief and "Try again" in debrief
    shown = signed_in.get(url + "/debrief", headers=HTMX).get_data(as_text=True)
    assert without_tokens(debrief).strip() == without_tokens(shown).strip()


def test_post_from_htmx_straight_to_the_debrief_shows_it_in_place(scenarios_dir, make_app):
    """A last choice with nothing to say is answered with the debrief at once, with the
    debrief's address to show (without htmx it is a 303 there)."""
    write_scenario(scenarios_dir, text=doorstep().replace("        feedback: Safety first.\n", ""))
    client = make_app().test_client()
    gen_user(client.application)
    assert sign_in(client).status_code == 303
    url = start(client)
    play_through(client, url, BEST_PATH[:2])
    last = take(client, url, 2, "reassure", "She is at risk.", headers=HTMX)
    assert last.status_code == 200 and last.headers["HX-Push-Url"] == url + "/debrief"
    page = last.get_data(as_text=True)
    assert page.startswith("<title>Debrief: A call to a flat") and "<html" not in page
    shown = client.get(url + "/debrief", headers=HTMX).get_data(as_text=True)
    assert without_tokens(page) == without_tokens(shown)


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
