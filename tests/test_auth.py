"""Signing in and out, password hashing, CSRF, and the role check on every route."""

import pytest
from argon2 import PasswordHasher
from flask import Blueprint
from helpers import PASSWORD, csrf_token, gen_user, sign_in

from simulator.accounts import check_password, create_user, find_user
from simulator.db import db
from simulator.models import ROLES
from simulator.web.auth import PUBLIC, allow


def test_sign_in_page(client):
    """The sign-in page asks for a username and password."""
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'autocomplete="username"' in page and 'type="password"' in page


def test_anonymous_sent_to_sign_in(client):
    """Someone not signed in is sent to sign in, and back afterwards."""
    response = client.get("/scenarios/doorstep")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=/scenarios/doorstep"


def test_sign_in_then_back_to_next(client, trainee):
    """After signing in the person returns to the page they asked for."""
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in?next=/scenarios/doorstep",
        data={"username": "trainee", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/scenarios/doorstep"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_next_never_leaves_the_site(client, trainee, target):
    """A `next` pointing elsewhere is ignored."""
    token = csrf_token(client, "/sign-in")
    response = client.post(
        "/sign-in",
        query_string={"next": target},
        data={"username": "trainee", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_username_ignores_case(client, trainee):
    """Usernames are matched without regard to case."""
    assert sign_in(client, "  TRAINEE ").status_code == 303


def test_wrong_password(client, trainee):
    """A wrong password gets an error summary and no session."""
    response = sign_in(client, "trainee", "wrong password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "govuk-error-summary" in page and "Enter a correct username and password" in page
    assert client.get("/").status_code == 302


def test_unknown_user(client):
    """An unknown username gets the same answer as a wrong password."""
    response = sign_in(client, "nobody", "whatever password")
    assert response.status_code == 422
    assert "Enter a correct username and password" in response.get_data(as_text=True)


def test_empty_fields(client):
    """Empty fields are each named in the error summary, linking to the field."""
    response = sign_in(client, "", "")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#username"' in page and 'href="#password"' in page


def test_signed_in_person_skips_sign_in_page(signed_in):
    """A signed-in person visiting the sign-in page goes to the catalogue."""
    assert signed_in.get("/sign-in").headers["Location"] == "/"


def test_sign_out(signed_in, auth):
    """Signing out ends the session."""
    response = auth.logout()
    assert response.status_code == 303
    assert "You have signed out" in signed_in.get("/sign-in").get_data(as_text=True)
    assert signed_in.get("/").status_code == 302


def test_sign_out_needs_post(signed_in):
    """A link cannot sign someone out."""
    assert signed_in.get("/sign-out").status_code == 405


@pytest.mark.parametrize("url", ["/sign-in", "/sign-out", "/scenarios/doorstep/attempts"])
def test_forms_need_csrf_token(signed_in, url):
    """A post without a CSRF token is refused with a plain page."""
    response = signed_in.post(url, data={"username": "trainee", "password": PASSWORD})
    assert response.status_code == 400
    assert "This page had expired" in response.get_data(as_text=True)


def test_passwords_hashed_with_argon2(app, trainee):
    """Passwords are stored as Argon2id hashes, never as typed."""
    with app.app_context():
        user = find_user("trainee")
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_outdated_hash_is_upgraded(app, trainee):
    """A hash made with weaker parameters is replaced at the next sign-in."""
    with app.app_context():
        user = find_user("trainee")
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=64).hash(PASSWORD)
        db.session.commit()
        assert check_password(user, PASSWORD)
        assert "m=64," not in find_user("trainee").password_hash


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("", PASSWORD, "trainee", "username"),
        ("a" * 65, PASSWORD, "trainee", "username"),
        ("x", "short", "trainee", "at least 8"),
        ("x", PASSWORD, "boss", "role"),
        ("trainee", PASSWORD, "trainee", "already"),
    ],
)
def test_create_user_refuses_bad_details(app, trainee, username, password, role, message):
    """Bad account details get a clear message."""
    with app.app_context(), pytest.raises(ValueError, match=message):
        create_user(username, password, role)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_can_play(client, app, role):
    """Trainees, trainers and admins all reach the catalogue."""
    gen_user(app, f"user-{role}", role)
    sign_in(client, f"user-{role}")
    assert client.get("/").status_code == 200


def test_every_route_declares_who_may_use_it(app):
    """No view is reachable without an explicit access rule."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "allowed_roles", None), rule.endpoint


def test_role_check_forbids_other_roles(make_app):
    """A view for trainers answers 403 to a trainee."""
    app = make_app()
    bp = Blueprint("trainers_only", __name__)
    bp.add_url_rule("/trainers", "page", allow("trainer", "admin")(lambda: "secret"))
    app.register_blueprint(bp)
    gen_user(app, "trainee", "trainee")
    gen_user(app, "trainer", "trainer")
    client = app.test_client()
    sign_in(client, "trainee")
    response = client.get("/trainers")
    assert response.status_code == 403
    assert "You cannot open this page" in response.get_data(as_text=True)
    client = app.test_client()
    sign_in(client, "trainer")
    assert client.get("/trainers").get_data(as_text=True) == "secret"


def test_undeclared_view_is_refused(make_app):
    """A view someone forgot to protect answers 403 rather than opening up."""
    app = make_app()
    app.add_url_rule("/forgotten", "forgotten", lambda: "open")
    assert app.test_client().get("/forgotten").status_code == 403


def test_public_marker():
    """Public views are marked as such."""
    from simulator.web.auth import login

    assert login.allowed_roles == PUBLIC


def test_unknown_role_in_decorator():
    """A typo in a role name fails at import time."""
    with pytest.raises(ValueError):
        allow("trainr")
