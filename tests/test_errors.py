"""Error pages speak plainly and never show a traceback; a 500 rolls the session back."""

import pytest
from flask import abort
from sqlmodel import select

from simulator.db import db
from simulator.models import User
from simulator.web.auth import public


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (400, "Something was wrong with that request"),
        (403, "You cannot open this page"),
        (404, "Page not found"),
        (409, "That could not be done"),
        (500, "Sorry, there is a problem with the service"),
    ],
)
def test_error_pages(make_app, code, words):
    """Each error has its own plain page."""
    app = make_app()
    app.add_url_rule("/fail", "fail", public(lambda: abort(code)))
    response = app.test_client().get("/fail")
    assert response.status_code == code
    page = response.get_data(as_text=True)
    assert words in page and "<!DOCTYPE html>" in page and "Traceback" not in page


def test_not_found(client):
    """An unknown address gets the 404 page."""
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_method_not_allowed(signed_in):
    """A wrong method gets a plain page."""
    assert signed_in.delete("/").status_code == 405


def test_server_error_rolls_back(make_app):
    """An unexpected error shows a plain page and loses the half-done write."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def explode():
        db.session.add(User(username="half-done", password_hash="x", role="trainee"))
        db.session.flush()
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/explode", "explode", public(explode))
    response = app.test_client().get("/explode")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem" in page
    assert "secret internal detail" not in page and "Traceback" not in page
    with app.app_context():
        assert db.session.exec(select(User)).all() == []


def test_too_large(signed_in):
    """An oversized form is refused plainly."""
    response = signed_in.post("/sign-out", data={"x": "y" * 100_000})
    assert response.status_code == 413
    assert "That was too much text" in response.get_data(as_text=True)
