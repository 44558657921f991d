"""Sign-in throttling: counted in the database per pair, address and username; waits that
double to a cap, never a lock; checked before any password is hashed."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from helpers import PASSWORD, csrf_token, gen_user, queries_in
from sqlmodel import select

from simulator import accounts, throttle
from simulator.db import db
from simulator.models import AuditEntry, SignInThrottle, User, utcnow


def attempt(client, username, password, address="10.0.0.1"):
    """Post the sign-in form from an address."""
    token = csrf_token(client, "/sign-in")
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/sign-in", data=data, environ_base={"REMOTE_ADDR": address})


def error_summary(page):
    """Return the list of an error summary on a page."""
    return page.split("govuk-error-summary__list")[1].split("</ul>")[0]


@pytest.mark.parametrize(
    "failures, wait",
    [(5, None), (6, 1), (7, 2), (8, 4), (15, 512), (16, 900), (60, 900)],
)
def test_the_wait_doubles_from_the_threshold_to_a_cap(failures, wait):
    """Five free failures for a pair, then 1, 2, 4 … seconds, never more than 15 minutes."""
    found = throttle.delay(failures, throttle.PAIR.free)
    assert (found.total_seconds() if found else None) == wait


def test_after_six_failures_the_next_waits_and_costs_no_hash(app, monkeypatch):
    """Five failures are free; the sixth sets a wait. The next sign-in, even with the right
    password, waits, with 429 and Retry-After, and no hash is computed."""
    gen_user(app, "ann")
    client = app.test_client()
    for _ in range(6):
        assert attempt(client, "ann", "wrong password").status_code == 422
    hashed = []
    monkeypatch.setattr(
        "simulator.web.auth.check_password", lambda *args: hashed.append(args) or True
    )
    response = attempt(client, "ann", PASSWORD)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert "Too many failed sign-ins. Wait 1 second, then try again" in response.text
    assert hashed == []


def test_an_unknown_username_gets_the_same_words(app):
    """The answer never says whether the username exists."""
    gen_user(app, "ann")
    client = app.test_client()
    for _ in range(7):
        known = attempt(client, "ann", "wrong", "10.0.0.2")
        unknown = attempt(client, "nobody", "wrong", "10.0.0.3")
    assert known.status_code == unknown.status_code == 429
    said = [error_summary(response.text) for response in (known, unknown)]
    assert said[0] == said[1] and "Too many failed sign-ins" in said[0]


def test_when_the_wait_is_over_the_right_password_signs_in_and_clears_it(app):
    """The wait runs out on its own; a correct sign-in clears the pair and the username."""
    gen_user(app, "ann")
    client = app.test_client()
    for _ in range(6):
        attempt(client, "ann", "wrong")
    with app.app_context():
        for row in db.session.exec(select(SignInThrottle)).all():
            row.blocked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert attempt(client, "ann", PASSWORD).status_code == 303
    with app.app_context():
        left = {row.scope for row in db.session.exec(select(SignInThrottle)).all()}
    assert left == {"address"}  # a guesser's address keeps its count


def test_a_sign_in_runs_two_statements(app):
    """A correct sign-in with no failures to clear checks the waits and finds the person,
    beside the session store's statements, and writes nothing of the throttle's."""
    gen_user(app, "ann")
    client = app.test_client()
    data = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_token(client, "/sign-in")}
    count, response = queries_in(app, lambda: client.post("/sign-in", data=data))
    assert response.status_code == 303 and count == 2


def test_a_sign_in_after_a_failure_clears_it_in_one_more_statement(app):
    """After a failure, a correct sign-in also clears the pair and the username in one
    statement, with no reload after its commit: three in all."""
    gen_user(app, "ann")
    client = app.test_client()
    assert attempt(client, "ann", "wrong").status_code == 422
    data = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_token(client, "/sign-in")}
    where = {"REMOTE_ADDR": "10.0.0.1"}  # the address the failure came from
    send = lambda: client.post("/sign-in", data=data, environ_base=where)  # noqa: E731
    count, response = queries_in(app, send)
    assert response.status_code == 303 and count == 3
    with app.app_context():
        left = {row.scope for row in db.session.exec(select(SignInThrottle)).all()}
    assert left == {"address"}


def test_a_colleague_elsewhere_cannot_shut_a_candidate_out(app):
    """Thirty failures for ann from another computer leave ann's own sign-in open."""
    gen_user(app, "ann")
    client = app.test_client()
    for n in range(30):
        attempt(client, "ann", "wrong", f"10.1.0.{n}")
    assert attempt(client, "ann", PASSWORD, "10.9.9.9").status_code == 303


def test_one_address_trying_many_names_waits(app):
    """Twenty-one failures from one address, each for a new name, make the next one wait."""
    gen_user(app, "ann")
    client = app.test_client()
    for n in range(21):
        attempt(client, f"guess-{n}", "wrong", "10.2.0.1")
    assert attempt(client, "ann", PASSWORD, "10.2.0.1").status_code == 429
    assert attempt(client, "ann", PASSWORD, "10.2.0.2").status_code == 303


def test_a_username_guessed_from_everywhere_meets_its_ceiling(app):
    """A hundred and one failures for one name, spread over addresses, make it wait."""
    with app.app_context():
        now = utcnow()
        for n in range(101):
            throttle.failed("ann", f"10.3.{n // 250}.{n % 250}", now=now)
        assert throttle.standing("ann", "10.9.9.9", now).wait == timedelta(seconds=1)
        assert throttle.standing("bob", "10.9.9.9", now).wait is None


def test_every_failure_is_audited_and_an_admin_unlocks(app):
    """Each failure is an audit entry; unlocking clears the name and its pairs."""
    gen_user(app, "ann")
    client = app.test_client()
    for _ in range(7):
        attempt(client, "ann", "wrong")
    with app.app_context():
        failed = db.session.exec(
            select(AuditEntry).where(AuditEntry.action == "sign_in.failed")
        ).all()
        assert len(failed) == 6  # the seventh waited, and was not tried
        assert failed[0].details["username"] == "ann"
        assert throttle.unlock(None, "ann") == 2
    assert attempt(client, "ann", PASSWORD).status_code == 303


def test_the_unlock_command(app, runner):
    """`flask users unlock NAME` clears a name's failures and says so."""
    gen_user(app, "ann")
    with app.app_context():
        for _ in range(6):
            throttle.failed("ann", "10.0.0.1")
    result = runner.invoke(args=["users", "unlock", "ann"])
    assert result.exit_code == 0, result.output
    assert "Cleared 2 sign-in waits for 'ann': it can sign in now." in result.output
    with app.app_context():
        assert throttle.standing("ann", "10.0.0.1").wait is None
    again = runner.invoke(args=["users", "unlock", "ann"])
    assert "'ann' had no failed sign-ins to clear." in again.output


def test_an_outdated_hash_is_upgraded_at_sign_in(app, monkeypatch):
    """A hash made with other Argon2 parameters is replaced by the current ones."""
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    )
    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with app.app_context():
        user = db.session.exec(select(User).where(User.id == gen_user(app, "ann"))).one()
        user.password_hash = old.hash(PASSWORD)
        db.session.commit()
    assert attempt(app.test_client(), "ann", PASSWORD).status_code == 303
    with app.app_context():
        stored = accounts.find_user("ann").password_hash
    assert "m=2048,t=2,p=1" in stored


def test_the_production_hasher_follows_owasp():
    """Argon2id at 19 MiB, 2 passes, 1 lane (OWASP's password storage cheat sheet)."""
    made = PasswordHasher(**accounts.HASH_PARAMETERS).hash("x")
    assert made.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.skipif(
    os.environ.get("SIMULATOR_TEST_DATABASE") != "postgresql",
    reason="several machines share PostgreSQL; SQLite has one writer at a time",
)
def test_failures_counted_at_once_are_all_counted(app):
    """Four processes' worth of failures at the same moment lose no count (one upsert each)."""
    barrier = threading.Barrier(4)

    def fail(_):
        with app.app_context():
            barrier.wait()
            for _ in range(10):
                throttle.failed("ann", "10.4.0.1")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(fail, range(4)))
    with app.app_context():
        rows = db.session.exec(select(SignInThrottle)).all()
        assert {row.scope: row.failures for row in rows} == {
            "pair": 40,
            "address": 40,
            "username": 40,
        }


def test_behind_a_trusted_proxy_each_client_counts_apart(make_app):
    """With TRUSTED_PROXIES=1 the address comes from the proxy's X-Forwarded-For, so one
    guesser behind nginx does not make everyone else wait; without it, it would."""
    app = make_app(TRUSTED_PROXIES=1)
    gen_user(app, "ann")
    client = app.test_client()

    def through_proxy(username, password, forwarded):
        token = csrf_token(client, "/sign-in")
        data = {"username": username, "password": password, "csrf_token": token}
        headers = {"X-Forwarded-For": forwarded}
        environ = {"REMOTE_ADDR": "127.0.0.1"}
        return client.post("/sign-in", data=data, headers=headers, environ_base=environ)

    for n in range(21):
        through_proxy(f"guess-{n}", "wrong", "203.0.113.9")
    assert through_proxy("ann", PASSWORD, "203.0.113.9").status_code == 429
    assert through_proxy("ann", PASSWORD, "198.51.100.7").status_code == 303


def test_a_sign_in_uses_one_connection_and_one_commit(app):
    """The new session is stored in the sign-in's own transaction: one connection from the
    pool and one commit for the whole request, and the cookie it sets opens
    that session."""
    from sqlalchemy import event

    gen_user(app, "ann")
    client = app.test_client()
    data = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_token(client, "/sign-in")}
    before = client.get_cookie("session").value
    with app.app_context():
        engine = db.engine
    seen = {"checkout": 0, "commit": 0}

    def checkout(*_args):
        seen["checkout"] += 1

    def commit(*_args):
        seen["commit"] += 1

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine, "commit", commit)
    try:
        response = client.post("/sign-in", data=data)
    finally:
        event.remove(engine.pool, "checkout", checkout)
        event.remove(engine, "commit", commit)
    assert response.status_code == 303 and seen == {"checkout": 1, "commit": 1}
    assert client.get_cookie("session").value != before  # a new token (fixation)
    assert client.get("/account").status_code == 200
