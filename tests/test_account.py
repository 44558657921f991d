"""One's own account: the details, a forced change of a one-time password, a free change."""

import pytest
from helpers import PASSWORD, gen_user, people_audit, post, sign_in, text_of
from sqlalchemy import func
from sqlmodel import select

from simulator import accounts
from simulator.db import db
from simulator.models import Attempt, AuditEntry, User

NEW_PASSWORD = "a brand new passphrase"
ONE_TIME = "abcd-efgh-jkmn-pqrs"


def signed_in(app, username="amina", role="trainee"):
    """Return a new client signed in as a new account with this role."""
    gen_user(app, username, role)
    client = app.test_client()
    assert sign_in(client, username).status_code == 303
    return client


def account(app, username):
    """Return a detached copy of an account's fields."""
    with app.app_context():
        return accounts.find_user(username).model_dump()


def give_one_time_password(app, username):
    """Make an account hold a known one-time password, as a reset would."""
    with app.app_context():
        user = accounts.find_user(username)
        user.password_hash = accounts.hash_password(ONE_TIME)
        user.must_change_password = True
        db.session.add(user)
        db.session.commit()


def change(client, current, new, confirm=None):
    """Post the change-password form."""
    data = {
        "current_password": current,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    }
    return post(client, "/account/password", data, token_from="/account/password")


def test_details_page_shows_the_details(app):
    """The account page shows the username and the details, with a link to change the password."""
    client = signed_in(app)
    page = text_of(client.get("/account"))
    assert "amina" in page and 'id="display_name"' in page and 'id="collar_number"' in page
    assert 'href="/account/password"' in page and 'aria-current="page"' in page


def test_edit_details(app):
    """A person saves their own name, force and collar number, and the change is audited."""
    client = signed_in(app)
    data = {"display_name": " Amina Hassan ", "force": "Kent Police", "collar_number": "KP12"}
    response = post(client, "/account", data)
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    person = account(app, "amina")
    assert (person["display_name"], person["force"], person["collar_number"]) == (
        "Amina Hassan",
        "Kent Police",
        "KP12",
    )
    assert "Your details have been saved" in text_of(client.get("/account"))
    with app.app_context():
        entry = db.session.exec(people_audit(select(AuditEntry))).one()
        assert entry.action == "account.update" and entry.details["before"]["force"] == ""


def test_details_validation(app):
    """A missing name or over-long detail is refused, each field named, nothing saved."""
    client = signed_in(app)
    data = {"display_name": "", "force": "f" * 101, "collar_number": "c" * 33}
    response = post(client, "/account", data)
    page = text_of(response)
    assert response.status_code == 422
    for field in ("display_name", "force", "collar_number"):
        assert f'href="#{field}"' in page
    assert account(app, "amina")["force"] == ""


def test_admin_edits_anyones_details(app):
    """An admin changes another person's details, and it is audited with them as the actor."""
    user_id = gen_user(app, "amina")
    admin = signed_in(app, "admin", "admin")
    assert 'value=""' in text_of(admin.get(f"/train/people/{user_id}/details"))
    data = {"display_name": "Amina Hassan", "force": "", "collar_number": ""}
    response = post(admin, f"/train/people/{user_id}/details", data)
    assert response.status_code == 303
    assert account(app, "amina")["display_name"] == "Amina Hassan"
    with app.app_context():
        entry = db.session.exec(people_audit(select(AuditEntry))).one()
        assert entry.actor_id == account(app, "admin")["id"] and entry.target_id == user_id


def test_only_admins_edit_others_details(app):
    """A trainer cannot use the admin's details form."""
    user_id = gen_user(app, "amina")
    trainer = signed_in(app, "trainer", "trainer")
    assert trainer.get(f"/train/people/{user_id}/details").status_code == 403


def test_forced_change_redirects_every_page(app):
    """Someone on a one-time password is sent to choose their own from any page, GET or POST."""
    client = signed_in(app)
    give_one_time_password(app, "amina")
    for path in ("/", "/account", "/scenarios/doorstep"):
        response = client.get(path)
        assert response.status_code in (302, 303), path
        assert response.headers["Location"] == "/account/password"
    response = post(client, "/scenarios/doorstep/attempts", {"number": "1"}, "/account/password")
    assert response.headers["Location"] == "/account/password"
    with app.app_context():
        assert db.session.exec(select(func.count()).select_from(Attempt)).one() == 0


def test_forced_change_page_explains(app):
    """The forced page says why, asks for the one-time password, and sign-out still works."""
    client = signed_in(app)
    give_one_time_password(app, "amina")
    page = text_of(client.get("/account/password"))
    assert "Choose your own password" in page and "one-time password" in page
    response = post(client, "/sign-out", token_from="/account/password")
    assert response.headers["Location"] == "/sign-in"


def test_forced_change_flow(app):
    """Choosing a new password ends the one-time one and goes to the scenarios."""
    client = signed_in(app)
    give_one_time_password(app, "amina")
    response = change(client, ONE_TIME, NEW_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert not account(app, "amina")["must_change_password"]
    assert sign_in(app.test_client(), "amina", ONE_TIME).status_code == 422
    assert sign_in(app.test_client(), "amina", NEW_PASSWORD).status_code == 303


def test_forced_change_must_differ(app):
    """The new password must not be the one-time password again."""
    client = signed_in(app)
    give_one_time_password(app, "amina")
    response = change(client, ONE_TIME, ONE_TIME)
    assert response.status_code == 422 and "must be different" in text_of(response)
    assert account(app, "amina")["must_change_password"]


def test_voluntary_change(app):
    """A person changes their password from their account page, and goes back to it."""
    client = signed_in(app)
    assert "Change your password" in text_of(client.get("/account/password"))
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert sign_in(app.test_client(), "amina", NEW_PASSWORD).status_code == 303
    with app.app_context():
        assert (
            db.session.exec(people_audit(select(AuditEntry.action))).one()
            == "account.change_password"
        )


def test_wrong_current_password(app):
    """A wrong current password is refused, and the password stays as it was."""
    client = signed_in(app)
    response = change(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 422 and 'href="#current_password"' in text_of(response)
    assert sign_in(app.test_client(), "amina", PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("new", "confirm", "field"),
    [("short", "short", "new_password"), (NEW_PASSWORD, "something else", "confirm_password")],
)
def test_new_password_checks(app, new, confirm, field):
    """A too-short new password, or two that differ, is refused at that field."""
    client = signed_in(app)
    response = change(client, PASSWORD, new, confirm)
    assert response.status_code == 422 and f'href="#{field}"' in text_of(response)
    with app.app_context():
        assert accounts.check_password(db.session.get(User, account(app, "amina")["id"]), PASSWORD)
