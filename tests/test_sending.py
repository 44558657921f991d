"""Sending the outbox to a learning record store that fails, times out and comes back."""

import os
import threading
from datetime import timedelta
from functools import partial

import pytest
from helpers import BEST_PATH, SHARING_PATH, gen_attempt, gen_user
from local_lrs import LocalStore
from postgres import free_port
from sqlmodel import select

from simulator import lrs, outbox
from simulator.db import db
from simulator.models import OutboxMessage, utcnow

ON_POSTGRES = os.environ.get("SIMULATOR_TEST_DATABASE") == "postgresql"


@pytest.fixture
def store():
    """Return a running local learning record store, stopped afterwards."""
    running = LocalStore().start()
    yield running
    running.stop()


@pytest.fixture
def played(make_app, store):
    """Return an app pointed at the store, after two attempts wrote their statements."""
    app = make_app(**store.config())
    gen_user(app, "trainee")
    gen_attempt(app, "trainee", BEST_PATH)
    gen_attempt(app, "trainee", SHARING_PATH)
    return app


def rows(app):
    """Return the outbox rows, oldest first, detached."""
    with app.app_context():
        found = db.session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return found


def send(app, at, batch_size=5):
    """Run the sender once as if it were `at`, with the app's store."""
    with app.app_context():
        store = lrs.configured(app.config)
        return outbox.send_waiting("xapi", partial(lrs.deliver, store), batch_size, now=at)


def test_every_statement_arrives_once_through_failure_time_out_and_return(played, store):
    """A store that fails, then hangs, then comes back ends with each statement once."""
    made = rows(played)
    assert len(made) == 12
    began = utcnow()

    store.failing = True
    result = played.test_cli_runner().invoke(args=["records", "send", "--batch", "5"])
    assert result.exit_code == 1, result.output
    assert "Sent 0 statement(s)" in result.output and "5 failed" in result.output
    assert "12 statement(s) waiting, 5 of them failing." in result.output
    assert "HTTP 500 store unavailable" in result.output

    store.failing, store.hang_s = False, 1.5
    hung = send(played, began + timedelta(minutes=2))
    assert hung.delivered == 0 and len(hung.failed) == 5
    assert all("no answer" in error for _id, error in hung.failed)
    store.settle()  # the slow store kept that batch after the sender gave up on it
    assert len(store.statements) == 5

    store.hang_s, store.failing = 0, True
    send(played, began + timedelta(minutes=10))
    first = rows(played)[0]
    assert first.tries == 3 and "HTTP 500" in first.last_error

    store.failing = False
    back = send(played, began + timedelta(hours=1))
    assert back.delivered == 12 and back.failed == []
    assert set(store.statements) == {row.message_id for row in made}
    assert set(store.stored.values()) == {1}
    assert all(store.statements[row.message_id] == row.payload for row in made)
    assert all(row.delivered_at is not None for row in rows(played))


def test_each_failure_waits_twice_as_long(played, store):
    """After each failure a row waits 1, 2, then 4 minutes from that run."""
    store.failing = True
    began = utcnow()
    waits = []
    for minutes in (0, 5, 15):
        at = began + timedelta(minutes=minutes)
        send(played, at, batch_size=50)
        waits.append(round((rows(played)[0].next_try_at - at).total_seconds()))
    assert waits == [60, 120, 240]
    assert outbox.backoff(12) == timedelta(hours=1)


def test_a_row_is_not_tried_again_before_its_time(played, store):
    """A failed row waits: a run before its next try leaves it alone."""
    store.failing = True
    began = utcnow()
    send(played, began, batch_size=50)
    store.failing = False
    early = send(played, began + timedelta(seconds=30))
    assert early.delivered == 0 and store.statements == {}


def test_one_refused_statement_holds_back_no_other(played, store):
    """A statement the store refuses fails alone; the rest of its batch is stored."""
    bad = rows(played)[1].message_id
    store.refused = {bad}
    result = played.test_cli_runner().invoke(args=["records", "send"])
    assert result.exit_code == 1
    assert "Sent 11 statement(s)" in result.output
    assert f"Failing {bad} (1 tries" in result.output and "HTTP 400" in result.output
    assert bad not in store.statements and len(store.statements) == 11


def test_a_sender_run_again_sends_nothing_twice(played, store):
    """Run twice, the sender delivers everything once, then has nothing to send."""
    runner = played.test_cli_runner()
    assert runner.invoke(args=["records", "send"]).exit_code == 0
    again = runner.invoke(args=["records", "send"])
    assert again.exit_code == 0
    assert "Sent 0 statement(s)" in again.output and "0 statement(s) waiting" in again.output
    assert len(store.posted_ids()) == 12


def test_no_endpoint_sends_nothing_and_keeps_every_row(make_app):
    """With no store configured the sender says so, and every statement waits."""
    app = make_app()
    gen_user(app, "trainee")
    gen_attempt(app, "trainee", BEST_PATH)
    result = app.test_cli_runner().invoke(args=["records", "send"])
    assert result.exit_code == 0
    assert "No learning record store is configured" in result.output
    assert "6 statement(s) waiting" in result.output
    assert all(row.delivered_at is None and row.tries == 0 for row in rows(app))


def test_a_store_that_cannot_be_reached_is_tried_again(make_app):
    """A connection refused is an error to retry, with the reason kept."""
    app = make_app(XAPI_ENDPOINT=f"http://127.0.0.1:{free_port()}/xapi", XAPI_TIMEOUT=0.5)
    gen_user(app, "trainee")
    gen_attempt(app, "trainee", ["check-status"])
    result = app.test_cli_runner().invoke(args=["records", "send"])
    assert result.exit_code == 1
    assert all("could not reach" in row.last_error and row.tries == 1 for row in rows(app))


@pytest.mark.skipif(not ON_POSTGRES, reason="several machines share PostgreSQL")
def test_two_senders_at_once_send_each_row_once(make_app, played, store):
    """Two machines sending at once never send the same row: each is posted once."""
    store.delay_s = 0.1
    apps = [played, make_app(**store.config())]
    barrier = threading.Barrier(2)
    sent = []

    def run(app):
        with app.app_context():
            barrier.wait()
            sent.append(send(app, utcnow(), batch_size=2).delivered)

    threads = [threading.Thread(target=run, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    posted = store.posted_ids()
    assert sorted(posted) == sorted({row.message_id for row in rows(played)})
    assert sum(sent) == 12 and min(sent) > 0
