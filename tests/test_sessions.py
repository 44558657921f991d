"""Server-side sessions: an opaque cookie, revoked by signing out, a password change or
reset, a role change, disabling or erasure, timed out when idle or old, but never during a
candidate's assessment attempt."""

import base64
import re
import time
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from helpers import PASSWORD, client_of, gen_assessment, gen_cohort, gen_user, post, sign_in
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from simulator import assessments, sessions
from simulator.db import db
from simulator.models import Assignment, User, WebSession

COOKIE = "session"


def token_of(client):
    """Return the session token the client holds."""
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def signed_in(client):
    """Say whether the client's session is signed in (the account page answers)."""
    return client.get("/account").status_code == 200


def age(app, client, **by):
    """Move the client's stored session back in time (its start and last request)."""
    with app.app_context():
        row = db.session.get(WebSession, sessions.digest(token_of(client)))
        row.created_at -= timedelta(**by)
        row.last_seen_at -= timedelta(**by)
        db.session.commit()


def test_the_cookie_carries_only_an_opaque_token(app):
    """No user id, no CSRF secret: a random token, stored only as its hash."""
    user_id = gen_user(app, "ann")
    client = app.test_client()
    assert sign_in(client, "ann").status_code == 303
    token = token_of(client)
    assert len(token) >= 40 and "." not in token  # not a signed cookie of data
    with app.app_context():
        row = db.session.get(WebSession, sessions.digest(token))
        assert row.user_id == user_id and token not in row.data
        assert db.session.exec(select(WebSession).where(WebSession.id == token)).first() is None


def rows(app):
    """Return how many sessions are stored."""
    with app.app_context():
        return len(db.session.exec(select(WebSession)).all())


def csrf_of(html):
    """Return the CSRF token in a page's form."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_signing_in_as_someone_else_gives_a_new_token(app):
    """Fixation: when the person a stored session belongs to changes, its token ends."""
    gen_user(app, "ann")
    gen_user(app, "bob")
    client = app.test_client()
    sign_in(client, "ann")
    before = token_of(client)
    post(client, "/sign-out")
    sign_in(client, "bob")
    assert token_of(client) not in (None, before)
    with app.app_context():
        assert db.session.get(WebSession, sessions.digest(before)) is None
        row = db.session.get(WebSession, sessions.digest(token_of(client)))
        assert row.user_id == db.session.exec(select(User.id).where(User.username == "bob")).one()


def test_a_visitor_keeps_no_row_and_the_cookie_shows_nothing(app):
    """The sign-in page, loaded any number of times, writes nothing to the database; its
    cookie carries the form's secret sealed, and signing in with it works."""
    gen_user(app, "ann")
    client = app.test_client()
    for _ in range(5):
        assert client.get("/sign-in").status_code == 200
    assert rows(app) == 0
    cookie = token_of(client)
    assert cookie.startswith(sessions.VISITOR_PREFIX)
    sealed = cookie.removeprefix(sessions.VISITOR_PREFIX)
    secret = sessions.serializer.loads(
        sessions.visitor_box(app.secret_key).decrypt(sealed.encode()).decode()
    )["csrf_token"]
    opened = base64.urlsafe_b64decode(sealed + "==")
    assert secret not in cookie and secret.encode() not in opened  # encrypted, not signed
    token = csrf_of(client.get("/sign-in").text)
    data = {"username": "ann", "password": PASSWORD, "csrf_token": token}
    assert client.post("/sign-in", data=data).status_code == 303
    assert not token_of(client).startswith(sessions.VISITOR_PREFIX)
    assert rows(app) == 1 and signed_in(client)


def test_a_visitor_cookie_is_rewritten_only_when_due(app, monkeypatch):
    """An unchanged visitor's session is not sent again on every page, only once
    TOUCH_EVERY has passed (so its idle time starts afresh while it is used)."""
    client = app.test_client()
    assert "Set-Cookie" in client.get("/sign-in").headers
    assert "Set-Cookie" not in client.get("/sign-in").headers
    monkeypatch.setattr(sessions, "TOUCH_EVERY", timedelta(0))
    assert "Set-Cookie" in client.get("/sign-in").headers


def sealed_cookie(app, data, written):
    """Return a visitor's cookie sealed with the app's key at the UNIX time `written`."""
    box = sessions.visitor_box(app.secret_key)
    serialised = sessions.serializer.dumps(data).encode()
    return sessions.VISITOR_PREFIX + box.encrypt_at_time(serialised, int(written)).decode()


@pytest.mark.parametrize(
    "cookie",
    [
        lambda app: sessions.VISITOR_PREFIX + "not-a-sealed-session",
        lambda app: sessions.VISITOR_PREFIX + "é",
        lambda app: sealed_cookie(app, {"csrf_token": "x"}, time.time()).replace("v.g", "v.h"),
        lambda app: (
            sessions.VISITOR_PREFIX
            + Fernet(Fernet.generate_key()).encrypt(b'{"csrf_token": "x"}').decode()
        ),
        lambda app: sealed_cookie(
            app, {"csrf_token": "x"}, time.time() - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
        ),
    ],
    ids=["forged", "not ascii", "altered", "another key", "ended"],
)
def test_a_bad_visitor_cookie_opens_a_new_session(app, cookie):
    """A forged, altered, foreign or ended visitor's cookie is not an error: the page is
    shown with a new session, and a form token made for the old one is refused."""
    gen_user(app, "ann")
    client = app.test_client()
    client.set_cookie(COOKIE, cookie(app))
    response = client.get("/sign-in")
    assert response.status_code == 200
    assert token_of(client) != cookie(app) and token_of(client).startswith("v.")
    stale = app.test_client()
    stale.set_cookie(COOKIE, cookie(app))
    data = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_of(response.text)}
    refused = stale.post("/sign-in", data=data)
    assert refused.status_code == 400 and "Traceback" not in refused.text
    assert rows(app) == 0


def test_a_visitor_cookie_from_another_process_opens(make_app):
    """Every process with the same SECRET_KEY opens a visitor's cookie (several machines)."""
    first, second = make_app(), make_app()
    gen_user(first, "ann")
    client = first.test_client()
    token = csrf_of(client.get("/sign-in").text)
    elsewhere = second.test_client()
    elsewhere.set_cookie(COOKIE, token_of(client))
    data = {"username": "ann", "password": PASSWORD, "csrf_token": token}
    assert elsewhere.post("/sign-in", data=data).status_code == 303


def test_the_notice_after_signing_out_travels_in_the_cookie(app):
    """Signing out ends every stored session; the notice that says so needs no row."""
    gen_user(app, "ann")
    client = app.test_client()
    sign_in(client, "ann")
    response = post(client, "/sign-out")
    assert response.status_code == 303 and token_of(client).startswith("v.")
    assert rows(app) == 0
    assert "You have signed out" in client.get(response.location, follow_redirects=True).text


def test_a_visitor_session_too_large_for_a_cookie_is_stored(make_app):
    """Data over VISITOR_MAX is stored under a token, as a signed-in person's is."""
    from flask import session

    from simulator.web.auth import public

    app = make_app()

    def keep():
        session["note"] = "x" * (sessions.VISITOR_MAX + 1)
        return "ok"

    app.add_url_rule("/keep", "keep", public(keep))
    app.add_url_rule("/show", "show", public(lambda: str(len(session.get("note", "")))))
    client = app.test_client()
    assert client.get("/keep").status_code == 200
    assert not token_of(client).startswith("v.") and rows(app) == 1
    assert client.get("/show").text == str(sessions.VISITOR_MAX + 1)


def test_a_copied_cookie_is_dead_after_sign_out(app):
    """Signing out ends the session on the server: a copy of the cookie opens nothing."""
    gen_user(app, "ann")
    client = app.test_client()
    sign_in(client, "ann")
    copy = app.test_client()
    copy.set_cookie(COOKIE, token_of(client))
    assert signed_in(copy)
    post(client, "/sign-out")
    assert not signed_in(copy)


def test_a_password_change_ends_every_other_session(app):
    """The person stays signed in where they changed it; everywhere else is signed out."""
    gen_user(app, "ann")
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, "ann")
    sign_in(elsewhere, "ann")
    new = "a brand new passphrase"
    data = {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
    response = post(here, "/account/password", data, token_from="/account/password")
    assert response.status_code == 303, response.text
    assert signed_in(here) and not signed_in(elsewhere)


def copy_of(app, client):
    """Return another client holding a copy of this client's session cookie."""
    copy = app.test_client()
    copy.set_cookie(COOKIE, token_of(client))
    return copy


def opens_nothing(app, client):
    """Say whether a client's cookie opens no session: its token is stored nowhere, and even
    the page left to someone on a one-time password sends it to sign in."""
    with app.app_context():
        stored = db.session.get(WebSession, sessions.digest(token_of(client)))
    response = client.get("/account/password")
    return stored is None and response.status_code == 302 and "/sign-in" in response.location


def people(app):
    """Make an admin, a trainer, and Ann, a trainee the trainer created and teaches; return
    Ann's id."""
    from simulator import accounts

    gen_user(app, "admin", "admin")
    trainer_id = gen_user(app, "trainer", "trainer")
    ann_id = gen_user(app, "ann")
    with app.app_context():
        accounts.find_user("ann").created_by_id = trainer_id
        db.session.commit()
    gen_cohort(app, "trainer", "Intake", ["ann"])
    return ann_id


def change_own_password(app, here, _ann_id):
    """Ann changes her password in the browser whose cookie was copied."""
    new = "a brand new passphrase"
    data = {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
    assert post(here, "/account/password", data, token_from="/account/password").status_code == 303


def admin_posts(path, data=None):
    """Return an event in which an admin posts a form about Ann's account."""

    def event(app, _here, ann_id):
        response = post(client_of(app, "admin"), f"/admin/accounts/{ann_id}/{path}", data)
        assert response.status_code in (200, 303), response.text

    return event


def trainer_resets(app, _here, ann_id):
    """The trainer who created Ann's account resets her password."""
    response = post(client_of(app, "trainer"), f"/train/people/{ann_id}/password")
    assert response.status_code == 200, response.text


EVENTS = {
    "sign-out": lambda app, here, _id: post(here, "/sign-out"),
    "sign-out elsewhere": lambda app, here, _id: post(client_of(app, "ann"), "/sign-out"),
    "password change": change_own_password,
    "password reset by an admin": admin_posts("password"),
    "password reset by a trainer": trainer_resets,
    "role change": admin_posts("role", {"role": "trainer"}),
    "disabling": admin_posts("disable"),
    "erasure": admin_posts("erase", {"reason": "Request 1"}),
}


@pytest.mark.parametrize("event", EVENTS.values(), ids=EVENTS.keys())
def test_a_copied_cookie_stops_working_after(app, event):
    """Each event that ends a person's sessions kills a copy of their cookie at once."""
    ann_id = people(app)
    here = client_of(app, "ann")
    copy = copy_of(app, here)
    assert signed_in(copy)
    event(app, here, ann_id)
    assert opens_nothing(app, copy)


def test_signing_out_ends_the_persons_sessions_on_every_device(app):
    """Signing out in one browser signs the person out in every other browser too."""
    gen_user(app, "ann")
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, "ann")
    sign_in(elsewhere, "ann")
    post(here, "/sign-out")
    assert not signed_in(elsewhere)


def test_a_password_change_gives_the_browser_that_made_it_a_new_token(app):
    """The person stays signed in where they changed it, under a token no copy holds."""
    people(app)
    here = client_of(app, "ann")
    before = token_of(here)
    change_own_password(app, here, None)
    assert token_of(here) != before
    assert signed_in(here)


def test_a_reset_by_the_trainer_signs_the_person_out(app):
    """When a trainer resets a trainee's password, the trainee's sessions end."""
    from simulator import accounts, roster

    gen_user(app, "trainer", "trainer")
    gen_user(app, "ann")
    client = app.test_client()
    sign_in(client, "ann")
    with app.app_context():
        trainer, ann = accounts.find_user("trainer"), accounts.find_user("ann")
        ann.created_by_id = trainer.id
        roster.reset_password(trainer, ann)
    assert not signed_in(client)


def test_an_idle_or_old_session_ends(app):
    """Past the idle limit, or the absolute one, the session is over."""
    gen_user(app, "ann")
    idle, old = app.test_client(), app.test_client()
    sign_in(idle, "ann")
    sign_in(old, "ann")
    age(app, idle, minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    assert not signed_in(idle)
    with app.app_context():
        row = db.session.get(WebSession, sessions.digest(token_of(old)))
        row.created_at -= timedelta(hours=app.config["SESSION_HOURS"] + 1)
        db.session.commit()
    assert not signed_in(old)


def test_a_recent_request_keeps_the_session_going(app):
    """A request marks the session seen (at most once a minute), so active people stay in."""
    gen_user(app, "ann")
    client = app.test_client()
    sign_in(client, "ann")
    age(app, client, minutes=app.config["SESSION_IDLE_MINUTES"] - 1)
    assert signed_in(client)
    age(app, client, minutes=2)  # idle for 2 minutes since the request just made
    assert signed_in(client)


def test_a_candidate_is_never_timed_out_during_an_assessment(app):
    """While an assessment attempt's time is not over, neither limit ends its session."""
    gen_user(app, "trainer", "trainer")
    gen_user(app, "ann")
    cohort = gen_cohort(app, "trainer", "CPD", ["ann"], audience="cpd")
    assignment_id = gen_assessment(app, cohort, time_limit_s=20 * 3600)
    client = app.test_client()
    sign_in(client, "ann")
    url = f"/assignments/{assignment_id}"
    assert post(client, f"{url}/attempts", {"number": "1"}, token_from=url).status_code == 303
    age(app, client, hours=app.config["SESSION_HOURS"] + 1)
    assert signed_in(client)
    with app.app_context():
        found = assessments.settings_of(db.session.get(Assignment, assignment_id))
        assert found.time_limit_s == 20 * 3600


def test_ended_sessions_are_purged(app, runner):
    """`flask users purge-sessions` deletes what has ended and keeps what has not."""
    gen_user(app, "ann")
    kept, gone = app.test_client(), app.test_client()
    sign_in(kept, "ann")
    sign_in(gone, "ann")
    age(app, gone, hours=app.config["SESSION_HOURS"] + 1)
    result = runner.invoke(args=["users", "purge-sessions"])
    assert result.exit_code == 0 and "Purged 1 ended session(s)." in result.output
    assert signed_in(kept)
    with app.app_context():
        assert len(db.session.exec(select(WebSession)).all()) == 1


def test_a_session_that_cannot_be_stored_still_sends_the_page(make_app, monkeypatch, caplog):
    """The database going away between the page and storing the session: the page is
    sent (not a 500), and the session stays as it was."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    gen_user(app)
    client = app.test_client()
    sign_in(client)

    def away(*args, **kwargs):
        raise OperationalError("UPDATE web_sessions", {}, Exception("server closed"))

    monkeypatch.setattr(sessions, "keep_session", away)
    monkeypatch.setattr(sessions, "TOUCH_EVERY", timedelta(0))
    response = client.get("/")
    assert response.status_code == 200 and "Could not store the session" in caplog.text
    monkeypatch.undo()
    assert client.get("/account").status_code == 200  # still signed in


def test_a_session_begun_in_the_views_transaction_keeps_what_is_added_after(make_app):
    """`sign_in` stores the new session with the view's own commit; anything the view puts
    in the session afterwards (a notice, say) is stored too, under the new token."""
    from flask import session

    from simulator.web.auth import public

    app = make_app()
    user_id = gen_user(app)

    def begin_then_add():
        sessions.sign_in(session, user_id)
        db.session.commit()
        session["later"] = "kept"
        return "ok"

    def show():
        return session.get("later", "lost")

    app.add_url_rule("/begin", "begin", public(begin_then_add))
    app.add_url_rule("/show", "show", public(show))
    client = app.test_client()
    assert client.get("/begin").status_code == 200
    assert client.get("/show").get_data(as_text=True) == "kept"
    assert client.get("/account").status_code == 200  # signed in as that person
    with app.app_context():
        assert len(db.session.exec(select(WebSession)).all()) == 1
