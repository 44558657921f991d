"""What the database could not hold is refused before any view, and HEAD changes nothing."""

import logging

import pytest
from helpers import PASSWORD, csrf_token, gen_cohort, gen_user, sign_in, text_of

from simulator.web.auth import safe_next
from simulator.web.safety import LARGEST_ID

NUL_WORDS = "NUL character"


def test_nul_in_the_path_is_refused(signed_in):
    """A NUL byte in the address gets a 400 that says what is wrong."""
    response = signed_in.get("/scenarios/door%00step")
    assert response.status_code == 400 and NUL_WORDS in text_of(response)


def test_nul_in_the_query_is_refused(signed_in):
    """A NUL byte in a query argument gets a 400."""
    response = signed_in.get("/train/people", query_string={"q": "a\x00b"})
    assert response.status_code == 400 and NUL_WORDS in text_of(response)


def test_nul_in_a_form_is_refused_and_not_logged(client, trainee, caplog):
    """A NUL byte in a form field gets a 400, and the value is not written to the log."""
    token = csrf_token(client, "/sign-in")
    data = {"username": "secret\x00value", "password": PASSWORD, "csrf_token": token}
    with caplog.at_level(logging.DEBUG):
        response = client.post("/sign-in", data=data)
    assert response.status_code == 400 and NUL_WORDS in text_of(response)
    assert "secret" not in caplog.text and "NUL byte in its form" in caplog.text
    assert "user_id" not in str(client.get_cookie("session"))


def test_nul_is_refused_before_the_form_token_is_checked(client):
    """The NUL answer comes first, so the person learns what is really wrong."""
    response = client.post("/sign-in", data={"username": "\x00"})
    assert response.status_code == 400 and NUL_WORDS in text_of(response)


@pytest.mark.parametrize(
    "url",
    [
        "/attempts/{id}",
        "/attempts/{id}/debrief",
        "/attempts/{id}/feedback/{id}",
        "/assignments/{id}",
        "/train/cohorts/{id}",
        "/train/people/{id}",
        "/train/attempts/{id}/record",
    ],
)
@pytest.mark.parametrize(
    "number", [str(LARGEST_ID + 1), str(2**63), "9" * 5000], ids=["2^31", "2^63", "5000 digits"]
)
def test_ids_too_large_for_the_database_are_not_found(make_app, url, number):
    """An id beyond PostgreSQL's integer is a 404, never a failed query."""
    app = make_app()
    gen_user(app, "trainer", "trainer")
    client = app.test_client()
    sign_in(client, "trainer")
    response = client.get(url.format(id=number))
    assert response.status_code == 404 and "Page not found" in text_of(response)


def test_the_largest_id_still_reaches_the_view(make_app):
    """The bound sits at the largest id the database holds, not below it."""
    app = make_app()
    gen_user(app, "trainer", "trainer")
    cohort_id = gen_cohort(app, "trainer")
    client = app.test_client()
    sign_in(client, "trainer")
    assert client.get(f"/train/cohorts/{cohort_id}").status_code == 200
    assert client.get(f"/train/cohorts/{LARGEST_ID}").status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "HTTPS://evil.example/",
        "javascript:alert(1)",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/scenarios\r\nSet-Cookie: x=1",
        "/\nevil",
        "/\tevil",
        "/scenarios\x7f",
        "evil",
    ],
)
def test_next_with_anything_but_a_local_path_goes_to_the_catalogue(client, trainee, target):
    """A `next` that is absolute, protocol-relative or holds control characters is ignored."""
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in",
        query_string={"next": target},
        data={"username": "trainee", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_next_with_a_nul_byte_is_refused(client, trainee):
    """A NUL byte in `next` is refused before signing in, as anywhere else."""
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in",
        query_string={"next": "/\x00evil"},
        data={"username": "trainee", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 400


def test_safe_next_refuses_a_nul_byte(app):
    """Even past the request check, a NUL byte never becomes a redirect."""
    with app.test_request_context():
        assert safe_next("/\x00evil") == "/"
        assert safe_next("/scenarios/doorstep?x=1") == "/scenarios/doorstep?x=1"


def test_head_with_a_body_does_not_sign_in(client, trainee):
    """HEAD /sign-in with a username and password answers like GET and signs nobody in."""
    response = client.head("/sign-in", data={"username": "trainee", "password": PASSWORD})
    assert response.status_code == 200 and response.get_data() == b""
    cookie = client.get_cookie("session")
    assert cookie is None or "user_id" not in cookie.value
    assert client.get("/").status_code == 302


def test_head_never_runs_a_post_branch(make_app):
    """HEAD on a page with a form changes nothing, even for a signed-in person."""
    app = make_app()
    gen_user(app, "trainer", "trainer")
    cohort_id = gen_cohort(app, "trainer")
    client = app.test_client()
    sign_in(client, "trainer")
    response = client.head(f"/train/cohorts/{cohort_id}/archive")
    assert response.status_code == 200
    assert "was archived on" not in text_of(client.get(f"/train/cohorts/{cohort_id}"))
