"""Error pages speak plainly and never show a traceback; a 500 rolls the session back."""

import pytest
from flask import abort
from helpers import (
    csrf_token,
    database_away,
    database_away_for,
    gen_user,
    sign_in,
    unreachable_database_url,
)
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select

from simulator.db import db
from simulator.models import User
from simulator.web.auth import public
from simulator.web.errors import repeatable


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


def test_a_signed_in_page_while_the_database_is_away_is_503(make_app, tmp_path):
    """With the database out of reach, a page says the service is busy and to retry soon."""
    client = make_app().test_client()
    gen_user(client.application)
    sign_in(client)
    # As in production, an error before any view (opening the session) is not propagated.
    away = make_app(
        DATABASE_URL=unreachable_database_url(tmp_path),
        LOAD_LIBRARY_ON_START=False,
        PROPAGATE_EXCEPTIONS=False,
    )
    away_client = away.test_client()
    away_client.set_cookie("session", client.get_cookie("session").value)
    response = away_client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "busy for a moment" in page and "Nothing you have done so far" in page
    assert "Traceback" not in page and response.headers["Cache-Control"] == "no-store"


def test_a_form_sent_while_the_database_is_away_says_it_was_not_recorded(make_app, tmp_path):
    """A form not safe to repeat (signing in) is not retried; its 503 says what was sent
    was not recorded."""
    away = make_app(
        DATABASE_URL=unreachable_database_url(tmp_path),
        LOAD_LIBRARY_ON_START=False,
        PROPAGATE_EXCEPTIONS=False,
        WTF_CSRF_ENABLED=False,  # no page with a token can be had while the database is away
    )
    response = away.test_client().post("/sign-in", data={"username": "trainee", "password": "x"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "could not be recorded" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "marked", "status", "runs"),
    [("GET", False, 200, 2), ("POST", False, 503, 1), ("POST", True, 200, 2)],
)
def test_only_a_request_safe_to_repeat_is_retried_once(make_app, method, marked, status, runs):
    """A GET that meets the database away runs once more, and so does a POST its view
    says is `repeatable`; any other POST never runs twice."""
    app = make_app(WTF_CSRF_ENABLED=False)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise database_away()
        return "fine"

    view = public(flaky)
    app.add_url_rule(
        "/flaky", "flaky", repeatable(view) if marked else view, methods=["GET", "POST"]
    )
    response = app.test_client().open("/flaky", method=method)
    assert (response.status_code, len(calls)) == (status, runs)


def test_a_repeatable_post_is_retried_only_once(make_app):
    """A POST safe to repeat gives up with a 503 that says it was not recorded, after its
    one retry, while the database stays away."""
    app = make_app(WTF_CSRF_ENABLED=False)
    calls = []

    def down():
        calls.append(1)
        raise database_away()

    app.add_url_rule("/down", "down", repeatable(public(down)), methods=["POST"])
    response = app.test_client().post("/down")
    assert response.status_code == 503 and len(calls) == 2
    assert "could not be recorded" in response.get_data(as_text=True)


def connection_dropped():
    """Return the error SQLAlchemy raises when a pooled connection turns out to be dead."""
    return OperationalError(
        "SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True
    )


@pytest.mark.parametrize(("statement_first", "status", "runs"), [(False, 200, 2), (True, 503, 1)])
def test_a_post_on_a_dead_connection_runs_again_only_if_nothing_reached_the_database(
    make_app, statement_first, status, runs
):
    """A POST whose first statement met a dead connection runs once more, on a fresh one;
    one that had already run a statement is never run twice."""
    app = make_app(WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False, LOAD_LIBRARY_ON_START=False)
    calls = []

    def dead_once():
        calls.append(1)
        if statement_first:
            db.session.exec(select(User)).all()
        if len(calls) == 1:
            raise connection_dropped()
        return "fine"

    app.add_url_rule("/dead", "dead", public(dead_once), methods=["POST"])
    response = app.test_client().post("/dead")
    assert (response.status_code, len(calls)) == (status, runs)


def test_a_connection_dead_twice_is_not_retried_for_ever(make_app):
    """A POST that keeps meeting dead connections is answered 503 after its one rerun."""
    app = make_app(WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False, LOAD_LIBRARY_ON_START=False)
    calls = []

    def dead():
        calls.append(1)
        raise connection_dropped()

    app.add_url_rule("/dead", "dead", public(dead), methods=["POST"])
    response = app.test_client().post("/dead")
    assert response.status_code == 503 and len(calls) == 2


def test_a_database_that_stays_away_is_retried_only_once(make_app):
    """A safe request gives up with a 503 after its one retry."""
    app = make_app()
    calls = []

    def down():
        calls.append(1)
        raise database_away()

    app.add_url_rule("/down", "down", public(down))
    assert app.test_client().get("/down").status_code == 503 and len(calls) == 2


def test_other_database_errors_are_still_500(make_app):
    """A database error that is a bug, not an outage, is a 500 and is not retried."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def broken():
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    app.add_url_rule("/broken", "broken", public(broken))
    assert app.test_client().get("/broken").status_code == 500


def test_the_database_going_away_after_the_person_is_loaded_is_503_not_500(make_app):
    """A restart in the middle of a signed-in page: the busy page needs no database itself.

    The rollback that follows the error expires the signed-in person; the busy page must
    not read them again from a database that is still away.
    """
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    down = []

    def restart(conn, cursor, statement, parameters, context, executemany):
        if down:
            raise database_away()

    def view_that_meets_the_restart():
        db.session.exec(select(User)).all()  # the person is loaded; now the server goes
        down.append(True)
        raise database_away()

    app.add_url_rule("/mid", "mid", public(view_that_meets_the_restart))
    gen_user(app)
    client = app.test_client()
    sign_in(client)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", restart)
    try:
        response = client.get("/mid")
    finally:
        event.remove(engine, "before_cursor_execute", restart)
    assert response.status_code == 503 and "busy for a moment" in response.get_data(as_text=True)


def fail_session_reads(app, times):
    """Make the next `times` reads of the session store fail as a restart does."""

    def session_read(statement):
        return "web_sessions" in statement and statement.lstrip().startswith("SELECT")

    return database_away_for(app, session_read, times)


def test_a_session_read_during_a_restart_is_retried_not_logged(make_app, caplog):
    """The restart meets the first statement of a request, reading its session: a page is
    retried once with the session read afresh, nothing is logged as an error, and the
    person stays signed in."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    gen_user(app)
    client = app.test_client()
    sign_in(client)
    cookie = client.get_cookie("session").value
    stop = fail_session_reads(app, 1)
    try:
        response = client.get("/account")
    finally:
        stop()
    assert response.status_code == 200 and "Sign out" in response.get_data(as_text=True)
    assert client.get_cookie("session").value == cookie
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_form_whose_session_cannot_be_read_keeps_the_cookie(make_app, caplog):
    """A POST meeting the restart as its session is read: a 503 that says nothing was
    recorded (not a 400 for a form token it could not read), not retried, with no error
    logged, and the cookie is neither replaced nor deleted, so the person is still signed
    in once the database is back."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    gen_user(app)
    client = app.test_client()
    sign_in(client)
    token = csrf_token(client, "/account")
    cookie = client.get_cookie("session").value
    stop = fail_session_reads(app, 2)
    try:
        response = client.post("/sign-out", data={"csrf_token": token})
    finally:
        stop()
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "could not be recorded" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert client.get_cookie("session").value == cookie
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert client.get("/account").status_code == 200  # still signed in


def test_the_database_going_away_as_a_page_ends_still_sends_the_page(make_app, caplog):
    """A restart between the view's last statement and the end of the request: closing the
    request's session fails (its rollback meets the closed server), but the page already
    made is sent (not a 500), with a warning in the log and no error."""
    from sqlmodel import Session

    app = make_app(PROPAGATE_EXCEPTIONS=False)
    failing = []
    original = Session.close

    def close(self):
        original(self)
        if failing:
            failing.pop()
            raise OperationalError("ROLLBACK", {}, Exception("terminating connection"))

    def view_then_restart():
        db.session.exec(select(User)).all()
        failing.append(True)  # the server goes as the request ends
        return "made"

    app.add_url_rule("/late", "late", public(view_then_restart))
    gen_user(app)
    client = app.test_client()
    sign_in(client)
    Session.close = close
    try:
        response = client.get("/late")
    finally:
        Session.close = original
    assert not failing, "the request's session was closed"
    assert response.status_code == 200 and response.get_data(as_text=True) == "made"
    assert "went away as a request ended" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
