"""With JavaScript on, htmx swaps only the play region; without it, whole pages work."""

from helpers import BEST_PATH, csrf_token, play_through, start, take

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


def test_post_from_htmx_redirects(signed_in):
    """A successful post answers 303 for htmx too, so the browser loads the next screen."""
    url = start(signed_in)
    response = take(signed_in, url, 0, "interpreter", headers=HTMX)
    assert response.status_code == 303
    follow = signed_in.get(response.headers["Location"], headers=HTMX)
    assert follow.headers["HX-Push-Url"] == url + "/feedback/1"
    assert "A good choice" in follow.get_data(as_text=True)


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
