"""Records that cannot be altered unnoticed: triggers, the logged way past, chains and seals."""

import click
import pytest
from helpers import (
    BEST_PATH,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_user,
    offered,
    people_audit,
)
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from simulator import attempts, audit, create_app, records, triggers
from simulator.db import alembic, db
from simulator.models import (
    AssessmentOverride,
    Attempt,
    AttemptEvent,
    AttemptStep,
    AuditEntry,
    RationaleMark,
    RecordUnlock,
    User,
    utcnow,
)

OLD_KEY = f"old:{'o' * 32}"
NEW_KEY = f"new:{'n' * 32}"
# The column each guarded table's test changes, and the attempts' own.
CHANGED_COLUMN = {
    "attempt_steps": "choice_id",
    "attempt_events": "reason",
    "assessment_overrides": "reason",
    "rationale_marks": "comment",
    "audit_log": "summary",
    "attempts": "closed_reason",
}


def execute(app, statement, **params):
    """Run one SQL statement and commit, as someone with the database's password could."""
    with app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()


def behind_the_app(app, statement, **params):
    """Run one SQL statement through the logged way past the triggers."""
    with app.app_context(), records.unlocked("tests: change a record"):
        db.session.execute(text(statement), params)


def with_triggers_dropped(app, statement, **params):
    """Run one SQL statement with the triggers dropped, as a database owner could."""
    with app.app_context(), db.engine.begin() as connection:
        triggers.drop(connection)
        connection.execute(text(statement), params)
        triggers.install(connection)


def verify(app, *args):
    """Run `flask records verify` and return its result."""
    return app.test_cli_runner().invoke(args=["records", "verify", *args])


def steps_of(app, attempt_id):
    """Return an attempt's steps in order, detached."""
    with app.app_context():
        statement = select(AttemptStep).where(AttemptStep.attempt_id == attempt_id)
        found = db.session.exec(statement.order_by(AttemptStep.step_number)).all()
        db.session.expunge_all()
        return found


def attempt_row(app, attempt_id):
    """Return an attempt, detached."""
    with app.app_context():
        found = db.session.get(Attempt, attempt_id)
        db.session.expunge_all()
        return found


def go_on(app, attempt_id, choices):
    """Record more choices on an attempt in progress."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        for choice_id in choices:
            progress = attempts.progress_of(attempt)
            choice = {c.id: c for c in progress.offered()}[choice_id]
            attempts.record_step(progress, choice, attempts.clean_rationale(progress.node, "why"))


@pytest.fixture
def finished(app, trainee):
    """Return the id of the trainee's finished attempt."""
    return gen_attempt(app, "trainee", BEST_PATH)


@pytest.fixture
def every_record(app, finished):
    """Return the id of one row of each guarded table (attempts: a finished attempt)."""
    trainer = gen_user(app, "trainer", "trainer")
    assignment_id = gen_assignment(app, gen_cohort(app, members=["trainee"]))
    with app.app_context():
        step = db.session.exec(select(AttemptStep).where(AttemptStep.attempt_id == finished))
        step_id = step.first().id
        rows = {
            "attempt_events": AttemptEvent(attempt_id=finished, state="finished", reason="x"),
            "assessment_overrides": AssessmentOverride(
                assignment_id=assignment_id, user_id=trainer, reason="x", set_by_id=trainer
            ),
            "rationale_marks": RationaleMark(
                attempt_id=finished, step_id=step_id, marker_id=trainer, criteria={}
            ),
            "audit_log": audit.record(None, "test.record", ("users", trainer), "x"),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        return {"attempts": finished, "attempt_steps": step_id} | {
            table: row.id for table, row in rows.items()
        }


def installed_triggers(connection):
    """Return the (table, trigger) pairs the database holds."""
    if connection.dialect.name == "postgresql":
        query = "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal"
    else:
        query = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
    return set(connection.execute(text(query)).all())


def test_every_trigger_exists_after_the_latest_migration(app):
    """At head, each guarded table has its triggers (a batch rebuild would have lost them)."""
    with app.app_context(), db.engine.connect() as connection:
        assert not alembic.needs_upgrade()
        expected = triggers.triggers_of(connection.dialect.name)
        assert set(expected) <= installed_triggers(connection)
        assert {table for table, _ in expected} == {*triggers.APPEND_ONLY, "attempts"}


def test_downgrading_drops_the_triggers_and_upgrading_restores_them(app):
    """The records migration's downgrade removes its triggers; upgrading installs them again."""
    with app.app_context():
        alembic.downgrade("1796200000")
        with db.engine.connect() as connection:
            assert not {name for _, name in installed_triggers(connection)} & {
                name for _, name in triggers.triggers_of(connection.dialect.name)
            }
        alembic.upgrade()
        with db.engine.connect() as connection:
            expected = triggers.triggers_of(connection.dialect.name)
            assert set(expected) <= installed_triggers(connection)


@pytest.mark.parametrize("table", list(CHANGED_COLUMN))
@pytest.mark.parametrize("operation", ["UPDATE", "DELETE"])
def test_the_database_refuses_to_change_a_record(app, every_record, table, operation):
    """Raw SQL cannot update or delete a step, event, override, mark, audit entry or result."""
    column = CHANGED_COLUMN[table]
    statement = {
        "UPDATE": f"UPDATE {table} SET {column} = 'changed' WHERE id = :id",
        "DELETE": f"DELETE FROM {table} WHERE id = :id",
    }[operation]
    with pytest.raises(IntegrityError, match=f"{operation} refused"):
        execute(app, statement, id=every_record[table])


@pytest.mark.parametrize("table", list(CHANGED_COLUMN))
def test_postgresql_refuses_to_truncate_a_record(app, every_record, table):
    """TRUNCATE, which no row trigger sees, is refused on PostgreSQL too."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("TRUNCATE is PostgreSQL's")
    with pytest.raises(IntegrityError, match="TRUNCATE refused"):
        execute(app, f"TRUNCATE {table} CASCADE")


def test_an_unfinished_attempt_can_still_be_updated(app, trainee):
    """Until it finishes, an attempt's progress and clock may change."""
    attempt_id = gen_attempt(app, "trainee", BEST_PATH[:1])
    execute(app, "UPDATE attempts SET at_node = 'elsewhere' WHERE id = :id", id=attempt_id)
    assert attempt_row(app, attempt_id).at_node == "elsewhere"


def test_the_error_names_the_refused_change(app, finished):
    """A refused change says what is guarded and what was refused."""
    with pytest.raises(IntegrityError, match="a finished attempt is kept as it is: UPDATE"):
        execute(app, "UPDATE attempts SET passed = NOT passed WHERE id = :id", id=finished)


def test_unlocked_lets_one_logged_change_past(app, finished):
    """The one way past the triggers records who did it and why, and leaves no unlock."""
    trainer_id = gen_user(app, "trainer", "trainer")
    with app.app_context():
        actor = db.session.get(User, trainer_id)
        with records.unlocked("erase a rationale on request", actor):
            db.session.execute(
                text("UPDATE attempt_steps SET rationale = NULL WHERE attempt_id = :id"),
                {"id": finished},
            )
        entry = db.session.exec(people_audit(select(AuditEntry))).one()
        assert (entry.action, entry.actor_id) == ("records.unlock", trainer_id)
        assert "erase a rationale on request" in entry.summary
        assert records.open_unlocks() == 0
    assert all(step.rationale is None for step in steps_of(app, finished))
    assert verify(app).exit_code == 0


def test_an_error_inside_unlocked_rolls_everything_back(app, finished):
    """A failed unlocked change leaves the record, the audit log and the unlocks as they were."""
    with app.app_context():
        with pytest.raises(RuntimeError), records.unlocked("a change that fails"):
            db.session.execute(
                text("DELETE FROM attempt_steps WHERE attempt_id = :id"), {"id": finished}
            )
            raise RuntimeError("stop")
        assert db.session.exec(people_audit(select(AuditEntry))).all() == []
        assert records.open_unlocks() == 0
    assert len(steps_of(app, finished)) == len(BEST_PATH)


def test_an_unlock_lets_only_its_own_transaction_past(app, finished):
    """Another connection is still refused while one transaction is unlocked (PostgreSQL)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time")
        with records.unlocked("one change"), db.engine.connect() as other:
            with pytest.raises(IntegrityError, match="DELETE refused"):
                other.execute(
                    text("DELETE FROM attempt_steps WHERE attempt_id = :id"), {"id": finished}
                )


def test_steps_are_chained_and_the_result_sealed(app, finished):
    """Each step is linked with the current key and its rationale hashed; finishing seals."""
    steps = steps_of(app, finished)
    assert [step.link_key for step in steps] == ["test"] * len(BEST_PATH)
    assert all(len(step.link) == 64 for step in steps)
    assert [step.rationale_hash is not None for step in steps] == [
        step.rationale is not None for step in steps
    ]
    attempt = attempt_row(app, finished)
    assert attempt.seal_key == "test" and len(attempt.seal) == 64


def test_verify_passes_untouched_records(app, finished, trainee):
    """Records as the app made them verify, and the command says how many it checked."""
    gen_attempt(app, "trainee", BEST_PATH[:1])
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "2 attempt(s) checked: 2 verified, 0 not chained, 0 failed." in result.output


CHANGES = {
    "a step's choice": "UPDATE attempt_steps SET choice_id = 'reassure' "
    "WHERE attempt_id = :id AND step_number = 0",
    "a step's time": "UPDATE attempt_steps SET elapsed_ms = elapsed_ms + 1 WHERE attempt_id = :id",
    "a rationale": "UPDATE attempt_steps SET rationale = 'edited' "
    "WHERE attempt_id = :id AND rationale IS NOT NULL",
    "the last step": "DELETE FROM attempt_steps WHERE attempt_id = :id AND step_number = 2",
    "the result": "UPDATE attempts SET passed = NOT passed WHERE id = :id",
    "the finish": "UPDATE attempts SET finished_at = NULL, state = 'in_progress' WHERE id = :id",
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_verify_names_an_attempt_changed_behind_the_app(app, finished, trainee, change):
    """A changed record fails verification, naming the attempt and only that one."""
    untouched = gen_attempt(app, "trainee", BEST_PATH)
    behind_the_app(app, CHANGES[change], id=finished)
    result = verify(app)
    assert result.exit_code == 1
    assert f"Attempt {finished} failed: " in result.output
    assert f"Attempt {untouched} " not in result.output
    assert "2 attempt(s) checked: 1 verified, 0 not chained, 1 failed." in result.output


def test_verify_finds_a_change_made_with_the_triggers_dropped(app, finished):
    """Someone who drops the triggers can edit a step, but not unnoticed."""
    with_triggers_dropped(
        app,
        "UPDATE attempt_steps SET choice_id = 'check-status' WHERE attempt_id = :id",
        id=finished,
    )
    result = verify(app)
    assert result.exit_code == 1
    assert f"Attempt {finished} failed: step 0: its link does not match" in result.output


def test_a_seal_under_an_unknown_key_fails_clearly(app, finished):
    """A seal naming a key that is not configured fails, naming the key."""
    behind_the_app(app, "UPDATE attempts SET seal_key = 'retired' WHERE id = :id", id=finished)
    result = verify(app)
    assert result.exit_code == 1
    assert (
        f"Attempt {finished} failed: its seal: it names key 'retired', "
        "which is not in SIMULATOR_RECORDS_KEY." in result.output
    )


def test_after_rotating_the_key_old_records_still_verify(make_app):
    """New links use the new key; links made with the old one verify while it is listed."""
    before = make_app(RECORDS_KEY=OLD_KEY)
    gen_user(before, "trainee")
    done = gen_attempt(before, "trainee", BEST_PATH)
    going = gen_attempt(before, "trainee", BEST_PATH[:1])
    after = make_app(RECORDS_KEY=f"{NEW_KEY},{OLD_KEY}")
    go_on(after, going, BEST_PATH[1:])
    begun_after = gen_attempt(after, "trainee", BEST_PATH)
    assert [step.link_key for step in steps_of(after, going)] == ["old", "new", "new"]
    assert attempt_row(after, going).seal_key == "new"
    assert {step.link_key for step in steps_of(after, begun_after)} == {"new"}
    result = verify(after)
    assert result.exit_code == 0, result.output
    assert "3 attempt(s) checked: 3 verified" in result.output
    dropped = verify(make_app(RECORDS_KEY=NEW_KEY))
    assert dropped.exit_code == 1
    assert f"Attempt {done} failed: step 0: it names key 'old'" in dropped.output


def test_attempts_recorded_before_the_chain_are_reported_not_failed(app, finished):
    """An attempt with no links or seal is named as not chained, and verification passes."""
    behind_the_app(app, "UPDATE attempt_steps SET link = NULL, link_key = NULL")
    behind_the_app(app, "UPDATE attempts SET seal = NULL, seal_key = NULL")
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"Attempt {finished} is not chained" in result.output
    assert "1 attempt(s) checked: 0 verified, 1 not chained, 0 failed." in result.output


def test_an_attempt_begun_before_the_chain_stays_unchained(app, trainee):
    """Steps added to an unchained attempt are not linked, but their rationales are hashed."""
    going = gen_attempt(app, "trainee", BEST_PATH[:1])
    behind_the_app(app, "UPDATE attempt_steps SET link = NULL, link_key = NULL")
    go_on(app, going, BEST_PATH[1:])
    assert [step.link for step in steps_of(app, going)] == [None] * len(BEST_PATH)
    assert attempt_row(app, going).seal is None
    assert "1 not chained, 0 failed" in verify(app).output


def test_an_attempt_closed_before_any_step_is_sealed(app, trainee):
    """An attempt closed with no steps (its time ran out) is sealed over its start."""
    with app.app_context():
        person = db.session.get(User, trainee)
        attempt = attempts.start_attempt(person, offered(app, "doorstep"), 1)
        attempt.finished_at, attempt.state = utcnow(), "finished"
        attempt.passed, attempt.closed_reason = False, "The time ran out."
        records.seal(attempt, [])
        db.session.commit()
    result = verify(app)
    assert result.exit_code == 0 and "1 verified" in result.output


def test_only_a_finished_attempt_is_sealed(app, trainee):
    """Sealing an attempt in progress is a mistake, refused."""
    attempt_id = gen_attempt(app, "trainee", BEST_PATH[:1])
    with app.app_context(), pytest.raises(ValueError, match="not finished"):
        records.seal(db.session.get(Attempt, attempt_id), [])


def test_verify_one_attempt(app, finished, trainee):
    """--attempt checks that attempt alone."""
    other = gen_attempt(app, "trainee", BEST_PATH)
    behind_the_app(app, CHANGES["the result"], id=other)
    result = verify(app, "--attempt", str(finished))
    assert result.exit_code == 0, result.output
    assert "1 attempt(s) checked: 1 verified" in result.output


def test_verify_an_attempt_that_does_not_exist(app):
    """--attempt with an unknown id says so."""
    result = verify(app, "--attempt", "999")
    assert result.exit_code == 1 and "There is no attempt 999." in result.output


def test_verify_reads_attempts_a_batch_at_a_time(app, trainee, monkeypatch):
    """Every attempt is checked however many batches it takes."""
    monkeypatch.setattr(records, "BATCH_SIZE", 2)
    for _ in range(5):
        gen_attempt(app, "trainee", BEST_PATH)
    assert "5 attempt(s) checked: 5 verified" in verify(app).output


def test_verify_without_a_key_says_what_to_set(app):
    """Without SIMULATOR_RECORDS_KEY nothing can be checked, and the command says so."""
    app.extensions.pop("records_keyring")
    result = verify(app)
    assert result.exit_code == 1 and "SIMULATOR_RECORDS_KEY is not set" in result.output


def test_an_unlock_left_behind_fails_verification(app):
    """A committed unlock row would open the triggers to everyone: verify reports it."""
    with app.app_context():
        db.session.add(RecordUnlock(reason="left behind"))
        db.session.commit()
    result = verify(app)
    assert result.exit_code == 1 and "record_unlocks holds 1 row(s)" in result.output


@pytest.fixture
def production(monkeypatch):
    """Run the factory as on a server: no development mode, no records key in the environment."""
    monkeypatch.delenv("SIMULATOR_RECORDS_KEY", raising=False)
    monkeypatch.delenv("SIMULATOR_ENV", raising=False)
    monkeypatch.setenv("SIMULATOR_SECRET_KEY", "x")


def test_the_key_comes_from_the_environment(production, monkeypatch, tmp_path):
    """SIMULATOR_RECORDS_KEY configures the keyring; its first key is the current one."""
    monkeypatch.setenv("SIMULATOR_RECORDS_KEY", f"{NEW_KEY},{OLD_KEY}")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert app.extensions["records_keyring"].current == "new"
    assert set(app.extensions["records_keyring"].secrets) == {"new", "old"}


@pytest.mark.parametrize("given", ["k1:tooshortsecret", "tooshortsecret"])
def test_a_bad_key_stops_start_up(production, tmp_path, given):
    """A short secret or a key without an id is refused at start-up, the secret unshown."""
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "RECORDS_KEY": given}
    with pytest.raises(RuntimeError, match="SIMULATOR_RECORDS_KEY cannot be used") as raised:
        create_app(config)
    assert "tooshortsecret" not in str(raised.value)


def test_a_server_without_a_records_key_refuses_to_start(production, tmp_path):
    """Outside development, `flask run` and a WSGI server need SIMULATOR_RECORDS_KEY."""
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    with pytest.raises(RuntimeError, match="SIMULATOR_RECORDS_KEY is not set"):
        create_app(config)
    run = click.Context(click.Command("run"), info_name="run")
    with run, pytest.raises(click.ClickException, match="SIMULATOR_RECORDS_KEY is not set"):
        create_app(config)


def test_a_command_line_tool_runs_without_a_records_key(production, tmp_path):
    """`flask db upgrade` and the like need no key; the commands that do say so."""
    with click.Context(click.Command("flask"), info_name="flask"):
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert "records_keyring" not in app.extensions


def test_development_keeps_a_records_key_in_the_instance_folder(monkeypatch, tmp_path):
    """In development a random key, with id "dev", is created once and reused."""
    monkeypatch.delenv("SIMULATOR_RECORDS_KEY", raising=False)
    monkeypatch.setenv("SIMULATOR_ENV", "development")
    config = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}",
        "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "RECORDS_KEY_FILE": str(tmp_path / "records_key"),
    }
    first, second = create_app(config), create_app(config)
    keyring = first.extensions["records_keyring"]
    assert keyring == second.extensions["records_keyring"]
    assert keyring.current == "dev" and len(keyring.secret("dev")) == 64
    assert (tmp_path / "records_key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "records_key").read_text() != (tmp_path / "secret_key").read_text()
