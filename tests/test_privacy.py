"""Data protection: everything held about a person, erasure, and removing old practice."""

import json
from datetime import timedelta

from helpers import (
    BEST_PATH,
    client_of,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_user,
    play_through,
    post,
    sign_in,
    start,
    text_of,
)
from sqlmodel import select

from simulator import accounts, chain, privacy, records
from simulator.db import db
from simulator.models import Attempt, AttemptStep, AuditEntry, User

RATIONALE = "Because Amina Begum is frightened of her husband."


def world(app):
    """Make an admin, a trainer's cohort with an assignment, and a trainee who played it
    and practised freely with a rationale; return (admin client, trainee id)."""
    gen_user(app, "admin", "admin")
    gen_user(app, "trainer", "trainer")
    trainee_id = gen_user(app, "trainee")
    with app.app_context():
        person = accounts.find_user("trainee")
        person.display_name, person.force, person.collar_number = "Jo Bloggs", "Kent", "KP99"
        db.session.commit()
    cohort_id = gen_cohort(app, "trainer", "Intake", ["trainee"])
    gen_attempt(app, "trainee", BEST_PATH, assignment_id=gen_assignment(app, cohort_id))
    trainee = client_of(app, "trainee")
    play_through(trainee, start(trainee), BEST_PATH, rationale=RATIONALE)
    return client_of(app, "admin"), trainee_id


def verdicts(app):
    """Return the status of every attempt's check."""
    with app.app_context():
        return [checked.verdict.status for checked in records.verify()]


def test_the_subject_access_file_holds_the_rationales(app, database_url):
    """The download is a no-store JSON attachment with the account, cohorts and rationales."""
    admin, trainee_id = world(app)
    response = admin.get(f"/admin/accounts/{trainee_id}/data.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    held = json.loads(response.get_data(as_text=True))
    assert held["account"]["display_name"] == "Jo Bloggs"
    assert [c["name"] for c in held["cohorts"]] == ["Intake"]
    assert len(held["attempts"]) == 2
    written = [s["rationale"] for a in held["attempts"] for s in a["steps"]]
    assert RATIONALE in written
    assert any(entry["action"] == "cohort.add_member" for entry in held["audit_entries"])


def test_erasure_removes_the_name_and_text_and_keeps_records_verifiable(app, database_url):
    """After erasure no name or rationale is left, and every chain and seal still checks."""
    admin, trainee_id = world(app)
    assert verdicts(app) == [chain.VERIFIED, chain.VERIFIED]
    response = post(admin, f"/admin/accounts/{trainee_id}/erase", {"reason": "Request 42"})
    assert response.status_code == 303
    with app.app_context():
        person = db.session.get(User, trainee_id)
        assert person.username == f"erased-{trainee_id}"
        assert (person.display_name, person.force, person.collar_number) == ("", "", "")
        assert person.disabled_at is not None
        steps = db.session.exec(
            select(AttemptStep).join(Attempt).where(Attempt.user_id == trainee_id)
        ).all()
        assert steps and all(step.rationale is None for step in steps)
        assert any(step.rationale_hash for step in steps)
        summaries = db.session.exec(select(AuditEntry.summary)).all()
        assert any("Request 42" in summary for summary in summaries)
        assert not any("'trainee'" in summary for summary in summaries)
    assert verdicts(app) == [chain.VERIFIED, chain.VERIFIED]
    assert app.test_cli_runner().invoke(args=["records", "verify"]).exit_code == 0


def test_an_erased_person_cannot_sign_in_and_their_session_ends(app, database_url):
    """Erasure signs the person out, and neither old nor new username signs in."""
    admin, trainee_id = world(app)
    trainee = client_of(app, "trainee")
    post(admin, f"/admin/accounts/{trainee_id}/erase", {"reason": "Request 42"})
    assert trainee.get("/").status_code == 302
    assert sign_in(app.test_client(), "trainee").status_code == 422
    assert sign_in(app.test_client(), f"erased-{trainee_id}").status_code == 422


def test_erasure_needs_a_reason(app, database_url):
    """Without a reason nothing is erased."""
    admin, trainee_id = world(app)
    response = post(admin, f"/admin/accounts/{trainee_id}/erase", {"reason": " "})
    assert response.status_code == 422
    assert "Say why" in text_of(response)
    with app.app_context():
        assert db.session.get(User, trainee_id).username == "trainee"


def test_the_erase_command_pseudonymises_a_person(app, database_url):
    """`flask users erase` does what the page does."""
    _admin, trainee_id = world(app)
    result = app.test_cli_runner().invoke(
        args=["users", "erase", "trainee", "--reason", "Request 7"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(User, trainee_id).username == f"erased-{trainee_id}"
    assert verdicts(app) == [chain.VERIFIED, chain.VERIFIED]


def test_retention_deletes_only_old_free_practice(app, database_url):
    """Old free practice goes with its steps; recent practice and assigned attempts stay."""
    gen_user(app, "trainer", "trainer")
    gen_user(app, "trainee")
    cohort_id = gen_cohort(app, "trainer", "Intake", ["trainee"])
    long_ago = timedelta(days=40)
    old = gen_attempt(app, "trainee", BEST_PATH, taking=long_ago)
    recent = gen_attempt(app, "trainee", BEST_PATH)
    assigned = gen_attempt(
        app, "trainee", BEST_PATH, assignment_id=gen_assignment(app, cohort_id), taking=long_ago
    )
    result = app.test_cli_runner().invoke(args=["records", "purge-practice", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 " in result.output
    with app.app_context():
        kept = set(db.session.exec(select(Attempt.id)).all())
        left = db.session.exec(select(AttemptStep).where(AttemptStep.attempt_id == old)).all()
        assert records.open_unlocks() == 0
    assert kept == {recent, assigned} and left == []
    assert verdicts(app) == [chain.VERIFIED, chain.VERIFIED]


def test_retention_refuses_fewer_than_thirty_days(app, database_url):
    """A period under 30 days is refused and nothing is deleted."""
    gen_user(app, "trainee")
    gen_attempt(app, "trainee", BEST_PATH, taking=timedelta(days=40))
    result = app.test_cli_runner().invoke(args=["records", "purge-practice", "--older-than", "29"])
    assert result.exit_code != 0
    with app.app_context():
        assert len(db.session.exec(select(Attempt)).all()) == 1


def test_subject_access_takes_a_bounded_number_of_queries(app, database_url):
    """The file is built in the same number of queries however many attempts there are."""
    from sqlalchemy import event

    _admin, trainee_id = world(app)
    for _ in range(3):
        gen_attempt(app, "trainee", BEST_PATH)
    with app.app_context():
        person = db.session.get(User, trainee_id)
        counted = []
        listener = lambda *args: counted.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            privacy.subject_access(person)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert len(counted) <= 8
