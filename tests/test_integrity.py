"""Integrity: steps are recorded once, results derive from the log, attempts survive restarts."""

import threading
from contextlib import contextmanager

import psycopg
import pytest
from helpers import (
    BEST_PATH,
    CHECK_PATH,
    SHARING_PATH,
    attempt_id,
    csrf_token,
    database_away,
    database_away_for,
    doorstep,
    gen_user,
    play_through,
    post,
    prepared_statements_test,
    sign_in,
    start,
    take,
    write_scenario,
)
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from simulator import attempts, engine
from simulator.db import db
from simulator.library import scenario_for
from simulator.models import (
    AppendOnlyError,
    Attempt,
    AttemptStep,
    OutboxMessage,
    ScenarioVersion,
)

CAST = "\n".join(f"  - victim: Name{n}\n    language: Language{n}" for n in range(20))


def many_cast_rows():
    """Return the doorstep scenario with twenty cast rows."""
    text = doorstep()
    start_cast = text.index("cast:\n") + len("cast:\n")
    end_cast = text.index("flags:")
    return text[:start_cast] + CAST + "\n" + text[end_cast:]


def load(app, model, ident):
    """Load one row in a fresh session."""
    with app.app_context():
        row = db.session.get(model, ident)
        db.session.expunge_all()
        return row


def steps_of(app, ident):
    """Return an attempt's steps in order."""
    with app.app_context():
        statement = select(AttemptStep).where(AttemptStep.attempt_id == ident)
        return db.session.exec(statement.order_by(AttemptStep.step_number)).all()


@pytest.mark.parametrize("path", [BEST_PATH, SHARING_PATH, CHECK_PATH])
def test_stored_result_equals_recomputed(app, signed_in, path):
    """The stored result is exactly engine.result over the recorded choices."""
    url = start(signed_in)
    play_through(signed_in, url, path)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        version = db.session.get(ScenarioVersion, attempt.scenario_version_id)
        progress = attempts.progress_of(attempt)
        recomputed = engine.result(scenario_for(version), progress.choice_ids)
        assert progress.choice_ids == path
        assert attempt.result == attempts.result_record(recomputed)
        assert attempt.passed == recomputed.passed
        assert attempt.sharing_passed == recomputed.sharing_passed
        assert attempt.ending == recomputed.ending
        assert attempt.finished_at == progress.steps[-1].recorded_at


def test_steps_record_time(app, signed_in):
    """Each step records when it was taken and how long it took."""
    url = start(signed_in)
    play_through(signed_in, url, BEST_PATH)
    steps = steps_of(app, attempt_id(url))
    assert [s.step_number for s in steps] == [0, 1, 2]
    assert [s.is_decision for s in steps] == [True, False, True]
    assert all(s.elapsed_ms >= 0 and s.recorded_at.tzinfo is not None for s in steps)
    assert steps[0].recorded_at <= steps[1].recorded_at <= steps[2].recorded_at


def test_attempt_mode_is_practice(app, signed_in):
    """Attempts are practice attempts."""
    url = start(signed_in)
    assert load(app, Attempt, attempt_id(url)).mode == "practice"


def test_unique_step_number(app, signed_in):
    """The database itself refuses a second step with the same number."""
    url = start(signed_in)
    take(signed_in, url, 0, "interpreter")
    with app.app_context():
        db.session.add(
            AttemptStep(
                attempt_id=attempt_id(url),
                step_number=0,
                node_id="arrival",
                choice_id="check-status",
                is_decision=True,
                elapsed_ms=0,
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_race_between_two_processes(app, signed_in, trainee):
    """When two requests both pass the step check, only the first records, and nothing
    of the second's writes is kept: not its outbox row, not where it moved the attempt
    (on PostgreSQL the three are one statement, which then writes nothing at all)."""
    url = start(signed_in)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        first = attempts.progress_of(attempt)
        second = attempts.progress_of(attempt)
        choice = first.offered()[0]
        attempts.record_step(first, choice, None)
        messages = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        stands = (attempt.at_node, attempt.shown_step, attempt.shown_at)
        with pytest.raises(attempts.StepConflict):  # it would mark the next node shown
            attempts.record_step(second, second.offered()[1], None, shows_next=True)
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == messages
        attempt = db.session.get(Attempt, attempt_id(url))
        assert (attempt.at_node, attempt.shown_step, attempt.shown_at) == stands
    assert [s.choice_id for s in steps_of(app, attempt_id(url))] == [choice.id]


@prepared_statements_test
@pytest.mark.parametrize("which", ["a step", "the last step"])
def test_a_lost_race_ends_its_transaction_keeping_the_prepared_statements(app, signed_in, which):
    """On PostgreSQL the losing step's insert inserts nothing and raises no error (the last
    step's too, which ends the attempt by its own path), so its transaction, which changed
    nothing, ends with COMMIT: psycopg keeps the statements its connection had prepared
    (a ROLLBACK makes it forget them all)."""
    url = start(signed_in)
    if which == "the last step":
        play_through(signed_in, url, BEST_PATH[:2])
    count = select(func.count()).select_from(OutboxMessage)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        first, second = attempts.progress_of(attempt), attempts.progress_of(attempt)
        attempts.record_step(first, first.offered()[0], None)
        for _ in range(6):  # psycopg prepares a statement at its fifth run
            db.session.execute(count).scalar_one()
        connection = db.session.connection().connection.dbapi_connection
        with pytest.raises(attempts.StepConflict):
            attempts.record_step(second, second.offered()[1], None)
        db.session.rollback()
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        prepared = connection.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
        connection.rollback()
    assert prepared[0] >= 1


def test_simultaneous_posts_from_two_app_processes(make_app, app, signed_in):
    """Two app instances sharing the database record exactly one of two simultaneous posts."""
    url = start(signed_in)
    other = make_app().test_client()
    sign_in(other)
    barrier = threading.Barrier(2)
    responses = []

    def post_from(client, choice):
        token_page = client.get("/").get_data(as_text=True)
        token = token_page.split('name="csrf_token" value="')[1].split('"')[0]
        barrier.wait()
        data = {"step": "0", "choice": choice, "csrf_token": token}
        responses.append(client.post(url, data=data).status_code)

    threads = [
        threading.Thread(target=post_from, args=(signed_in, "interpreter")),
        threading.Thread(target=post_from, args=(other, "check-status")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert responses == [303, 303]
    assert len(steps_of(app, attempt_id(url))) == 1


def away_once(app, statement_part):
    """Make the first statement that contains `statement_part` meet the database away, as
    a restart does; return what stops it."""
    return database_away_for(app, lambda statement: statement_part in statement)


@contextmanager
def answer_lost_once(app):
    """Make the first COMMIT report an error once it has reached the database, as when the
    server restarts after committing but before the app hears so."""
    with app.app_context():
        dialect = db.engine.dialect
    commit, left = dialect.do_commit, [1]

    def lost(dbapi_connection):
        commit(dbapi_connection)
        if left[0]:
            left[0] -= 1
            raise database_away("COMMIT")

    dialect.do_commit = lost
    try:
        yield
    finally:
        del dialect.do_commit  # the class's own again


def outbox_count(app):
    """Return how many outbox rows there are."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_a_step_that_meets_a_restart_is_run_again_and_recorded_once(app, signed_in):
    """The database goes away as a step is written: the step is sent again once, after a
    pause, and recorded, so the trainee sees its feedback, not the busy page."""
    url = start(signed_in)
    before = outbox_count(app)
    form = {"step": "0", "choice": "interpreter", "csrf_token": csrf_token(signed_in)}
    stop = away_once(app, "INSERT INTO attempt_steps")
    try:
        response = signed_in.post(url, data=form)
    finally:
        stop()
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/feedback/1")
    assert [s.choice_id for s in steps_of(app, attempt_id(url))] == ["interpreter"]
    assert outbox_count(app) == before + 1
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "already recorded" not in page


def test_a_step_whose_commit_answer_was_lost_is_not_recorded_twice(app, signed_in):
    """The step was committed, but the app heard an error: run again, it finds the step
    recorded, and says so, with the feedback; the log and the outbox hold it once."""
    url = start(signed_in)
    before = outbox_count(app)
    form = {"step": "0", "choice": "interpreter", "csrf_token": csrf_token(signed_in)}
    with answer_lost_once(app):
        response = signed_in.post(url, data=form)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/feedback/1")
    assert [s.choice_id for s in steps_of(app, attempt_id(url))] == ["interpreter"]
    assert outbox_count(app) == before + 1
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "already recorded" in page


def test_a_start_that_meets_a_restart_begins_one_attempt(app, signed_in, trainee):
    """Start meets the database going away as the attempt is written: run again, it
    begins the attempt, once."""
    stop = away_once(app, "INSERT INTO attempts")
    try:
        url = start(signed_in)
    finally:
        stop()
    with app.app_context():
        mine = db.session.exec(select(Attempt).where(Attempt.user_id == trainee)).all()
    assert [attempt.id for attempt in mine] == [attempt_id(url)]


def test_a_form_not_safe_to_repeat_is_not_run_again(app, signed_in):
    """Signing out meets the database away: not run again, it says nothing was recorded."""
    token = csrf_token(signed_in, "/account")
    stop = away_once(app, "DELETE FROM web_sessions")
    try:
        response = signed_in.post("/sign-out", data={"csrf_token": token})
    finally:
        stop()
    assert response.status_code == 503
    assert "could not be recorded" in response.get_data(as_text=True)


def test_resume_after_sign_out(signed_in):
    """After signing out and in again the attempt is where it was."""
    url = start(signed_in)
    play_through(signed_in, url, ["interpreter", "continue"])
    post(signed_in, "/sign-out")
    sign_in(signed_in)
    assert "threatens to have her deported" in signed_in.get(url).get_data(as_text=True)


def test_resume_after_restart_with_same_cast(make_app, scenarios_dir):
    """A new server process shows the same node with the same cast row."""
    write_scenario(scenarios_dir, text=many_cast_rows())
    app = make_app()
    gen_user(app)
    client = app.test_client()
    sign_in(client)
    url = start(client)
    take(client, url, 0, "interpreter")
    cast_index = load(app, Attempt, attempt_id(url)).cast_index
    restarted = make_app().test_client()
    sign_in(restarted)
    page = restarted.get(url).get_data(as_text=True)
    assert "You step into the hallway." in page
    feedback = restarted.get(url + "/feedback/1").get_data(as_text=True)
    assert f"lets Name{cast_index} speak freely" in feedback


def test_cast_drawn_per_attempt(make_app, scenarios_dir):
    """Each attempt draws a cast row, and the page uses it."""
    write_scenario(scenarios_dir, text=many_cast_rows())
    app = make_app()
    gen_user(app)
    client = app.test_client()
    sign_in(client)
    url = start(client)
    cast_index = load(app, Attempt, attempt_id(url)).cast_index
    assert 0 <= cast_index < 20
    assert f"Name{cast_index} opens the door" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("change", ["update", "delete"])
def test_steps_are_append_only(app, signed_in, change):
    """Recorded steps cannot be changed or deleted through the models."""
    url = start(signed_in)
    take(signed_in, url, 0, "interpreter")
    with app.app_context():
        step = db.session.exec(select(AttemptStep)).one()
        if change == "update":
            step.choice_id = "check-status"
        else:
            db.session.delete(step)
        with pytest.raises(AppendOnlyError):
            db.session.commit()
        db.session.rollback()
    assert [s.choice_id for s in steps_of(app, attempt_id(url))] == ["interpreter"]
