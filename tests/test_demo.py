"""`flask users demo`: a demo cohort of recruits with attempts along different paths, once."""

from datetime import timedelta

import pytest
from helpers import sign_in
from sqlalchemy import func
from sqlmodel import select

from simulator import PROJECT_ROOT, accounts, assessments, attempts, cohorts, demo, engine
from simulator.db import db
from simulator.models import Assignment, Attempt, AttemptStep, AuditEntry, Cohort, User, utcnow


@pytest.fixture
def library_app(make_app):
    """Return an app over the bundled library, loaded as `make run` loads it."""
    app = make_app(SCENARIOS_DIR=str(PROJECT_ROOT / "scenarios"))
    result = app.test_cli_runner().invoke(args=["scenarios", "load"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def built(library_app):
    """Run `flask users demo` once and return the app and what it printed."""
    result = library_app.test_cli_runner().invoke(args=["users", "demo"])
    assert result.exit_code == 0, result.output
    return library_app, result.output


def demo_cohort():
    """Return the demo cohort."""
    return db.session.exec(select(Cohort).where(Cohort.name == demo.COHORT_NAME)).one()


def demo_attempts(mode="practice"):
    """Return every attempt at the demo cohort's assignments in a mode, with its person."""
    statement = (
        select(Attempt, User)
        .join(User, User.id == Attempt.user_id)
        .join(Assignment, Assignment.id == Attempt.assignment_id)
        .where(Assignment.cohort_id == demo_cohort().id, Assignment.mode == mode)
    )
    return db.session.exec(statement).all()


def counts():
    """Return how many rows each table that the demo writes holds."""
    tables = (User, Cohort, Assignment, Attempt, AttemptStep, AuditEntry)
    return {t.__name__: db.session.exec(select(func.count()).select_from(t)).one() for t in tables}


def test_cohort_of_recruits_owned_by_the_demo_trainer(built):
    """A recruit cohort owned by demo-trainer holds at least 6 recruits and demo-trainee."""
    app, output = built
    with app.app_context():
        cohort = demo_cohort()
        assert cohort.audience == "recruit"
        assert cohort.owner_id == accounts.find_user("demo-trainer").id
        members = {person.username for person in cohorts.members(cohort.id)}
        recruits = {name for name in members if name.startswith("demo-recruit-")}
        assert len(recruits) >= 6 and "demo-trainee" in members
        person = accounts.find_user("demo-recruit-1")
        assert person.display_name and person.force and person.collar_number
    assert "Created cohort 'Demo intake'" in output
    assert "demo-recruit-1 / demo-recruit-1-password" in output


def test_two_or_three_bundled_scenarios_assigned(built):
    """The cohort has 2 or 3 assignments of recruit scenarios from the library."""
    app, output = built
    with app.app_context():
        assigned = assignments_of(demo_cohort())
        assert 2 <= len(assigned) <= 3
        assert len({a.scenario_key for a in assigned}) == len(assigned)
        for assignment in assigned:
            assert f"({assignment.scenario_key})" in output


def assignments_of(cohort, mode="practice"):
    """Return a cohort's assignments in a mode."""
    statement = select(Assignment).where(
        Assignment.cohort_id == cohort.id, Assignment.mode == mode
    )
    return db.session.exec(statement).all()


def test_a_demo_assessment_the_recruits_have_taken(built):
    """One assessment with an access code, open for a week more; the recruits have each
    taken their one attempt (one ran out of time half way); the demo trainee has not."""
    app, output = built
    with app.app_context():
        (assessment,) = assignments_of(demo_cohort(), "assessment")
        found = assessments.settings_of(assessment)
        assert found.access_code == demo.ASSESSMENT_CODE and found.closes_at > utcnow()
        rows = demo_attempts("assessment")
        by_person = {person.username: attempt for attempt, person in rows}
        assert len(rows) == len(demo.RECRUITS) and "demo-trainee" not in by_person
        assert all(a.state == "finished" for a in by_person.values())
        ran_out = by_person["demo-recruit-8"]
        assert ran_out.closed_reason and not ran_out.passed and ran_out.ending is None
        assert any(a.passed for a in by_person.values())
        in_grace = by_person["demo-recruit-3"]
        assert in_grace.late and in_grace.ending is not None and in_grace.closed_reason is None
        events = assessments.events_of(ran_out.id)
        assert [e.state for e in events][0] == "in_progress" and events[-1].state == "finished"
    assert f"access code {demo.ASSESSMENT_CODE}" in output


def test_attempts_along_different_paths_and_outcomes(built):
    """Finished attempts take at least 3 paths: passing, failing on sharing, critical errors."""
    app, output = built
    with app.app_context():
        rows = demo_attempts()
        finished = [a for a, _person in rows if a.finished_at is not None]
        assert len({(a.scenario_key, a.path) for a in finished}) >= 3
        assert any(a.passed for a in finished)
        assert any(not a.sharing_passed for a in finished)
        assert any(a.sharing_passed and a.critical_count for a in finished)
        assert sum(a.finished_at is None for a, _person in rows) == 1
        assert any(a.number == 2 for a in finished)
        with_finished = {person.username for a, person in rows if a.finished_at is not None}
        assert len(with_finished) >= 6 and "demo-trainee" not in with_finished
    assert "Recorded " in output and "passed" in output and "failed on sharing" in output


def test_results_are_those_the_engine_computes(built):
    """Each stored result, path and critical count is what the engine makes of the steps."""
    app, _output = built
    with app.app_context():
        for attempt, _person in demo_attempts():
            progress = attempts.progress_of(attempt)
            if attempt.finished_at is None:
                continue
            result = engine.result(progress.scenario, progress.choice_ids)
            assert attempt.result == attempts.result_record(result)
            assert attempt.path == attempts.path_of(progress.steps)
            assert attempt.critical_count == len(result.critical_errors)


def test_times_look_real(built):
    """Attempts fall in the last two weeks, after opening, with varied times to decide."""
    app, _output = built
    with app.app_context():
        now = utcnow()
        opens = {a.id: a.opens_at for a in assignments_of(demo_cohort())}
        decided = []
        for attempt, _person in demo_attempts():
            assert now - timedelta(days=15) < attempt.started_at < now
            assert attempt.started_at >= opens[attempt.assignment_id]
            steps = attempts.progress_of(attempt).steps
            assert all(s.recorded_at < now for s in steps)
            decided += [s.elapsed_ms for s in steps if s.is_decision]
        assert len(set(decided)) > len(decided) * 0.9
        assert 5_000 < sorted(decided)[len(decided) // 2] < 120_000


def test_demo_recruits_sign_in_without_changing_password(built):
    """A demo recruit signs in with the printed password and goes straight to the catalogue."""
    app, _output = built
    client = app.test_client()
    assert sign_in(client, "demo-recruit-3", "demo-recruit-3-password").status_code == 303
    assert client.get("/").status_code == 200


def test_second_run_creates_nothing(built):
    """Running the command again changes nothing and says so."""
    app, _output = built
    with app.app_context():
        before = counts()
    again = app.test_cli_runner().invoke(args=["users", "demo"])
    assert again.exit_code == 0, again.output
    assert "nothing was created" in again.output and "Created" not in again.output
    with app.app_context():
        assert counts() == before


def test_without_scenarios_then_with(make_app, scenarios_dir):
    """With no scenario offered it says so; once one is loaded a new run assigns it."""
    (scenarios_dir / "doorstep.yaml").unlink()
    app = make_app(LOAD_LIBRARY_ON_START=False)
    first = app.test_cli_runner().invoke(args=["users", "demo"])
    assert "No recruit scenario is offered" in first.output
    with app.app_context():
        assert assignments_of(demo_cohort()) == []
    from helpers import write_scenario

    write_scenario(scenarios_dir)
    runner = app.test_cli_runner()
    runner.invoke(args=["scenarios", "load"])
    second = runner.invoke(args=["users", "demo"])
    assert "Assigned 'A call to a flat' (doorstep)" in second.output
    with app.app_context():
        assert [a.scenario_key for a in assignments_of(demo_cohort())] == ["doorstep"]
        assert len(demo_attempts()) >= 6
