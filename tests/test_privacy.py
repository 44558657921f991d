"""Data protection: everything held about a person, erasure, and removing old practice."""

import json
from datetime import timedelta

import pytest
from helpers import (
    BEST_PATH,
    client_of,
    gen_assessment,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_sitting,
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
from simulator.models import (
    AssessmentOverride,
    Attempt,
    AttemptStep,
    AuditEntry,
    Cohort,
    RationaleMark,
    User,
)

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
    with app.app_context():
        entry = db.session.exec(
            select(AuditEntry).where(AuditEntry.action == "practice.purge")
        ).one()
    assert entry.summary.startswith("Deleted 1 free-practice attempt begun before ")


def test_erasure_has_an_entry_of_its_own_against_the_account(app, database_url):
    """The account's audit history says it was erased, under its pseudonym alone."""
    admin, trainee_id = world(app)
    post(admin, f"/admin/accounts/{trainee_id}/erase", {"reason": "Request 42 from trainee"})
    with app.app_context():
        entry = db.session.exec(
            select(AuditEntry).where(AuditEntry.action == "account.erase")
        ).one()
        admin_id = accounts.find_user("admin").id
    assert (entry.target_type, entry.target_id, entry.actor_id) == ("users", trainee_id, admin_id)
    assert f"'erased-{trainee_id}'" in entry.summary
    assert "Request 42" in entry.summary
    assert "trainee" not in entry.summary.replace(f"erased-{trainee_id}", "")
    assert f"Erased account {trainee_id}, now" in text_of(admin.get("/train/audit"))


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


# --------------------------------------------------------------------------- trainers' text

TERMS = "Dyslexia: Jo Bloggs has extra time, agreed with Sam Tutor"
COMMENT = "Jo Bloggs states the risk. Sam Tutor, T123"
COHORT = "Sam Tutor's CPD"
DESCRIPTION = "Run by trainer (T123), with Jo Bloggs as mentor"


def assessed(app):
    """Make an admin, who adds trainer Sam Tutor; Sam's CPD cohort holds trainee Jo Bloggs,
    whose finished assessment attempt Sam gave terms and marked; return the ids."""
    from simulator import administration, assessments, cohorts, marking
    from simulator.models import Assignment

    gen_user(app, "admin", "admin")
    trainee_id = gen_user(app, "trainee")
    with app.app_context():
        admin, jo = accounts.find_user("admin"), accounts.find_user("trainee")
        sam, _password = administration.create_account(admin, "trainer", "Sam Tutor", "trainer")
        sam.collar_number, jo.display_name = "T123", "Jo Bloggs"
        cohort = cohorts.create_cohort(sam, "Sam's group", "", "cpd")
        cohorts.update_cohort(sam, cohort, COHORT, DESCRIPTION, "cpd")
        cohorts.add_member(sam, cohort, jo, commit=True)
        ids = {"trainer": sam.id, "trainee": trainee_id, "cohort": cohort.id}
    ids["assignment"] = gen_assessment(app, ids["cohort"])
    with app.app_context():
        sam, jo = db.session.get(User, ids["trainer"]), db.session.get(User, trainee_id)
        assignment = db.session.get(Assignment, ids["assignment"])
        assessments.set_override(sam, assignment, jo, {"time_limit_s": 3600}, TERMS)
    ids["attempt"] = gen_sitting(app, "trainee", ids["assignment"], BEST_PATH, rationale=RATIONALE)
    with app.app_context():
        sam, jo = db.session.get(User, ids["trainer"]), db.session.get(User, trainee_id)
        attempt = db.session.get(Attempt, ids["attempt"])
        step = marking.rationale_steps(attempt.id)[0]
        marking.add_mark(sam, attempt, jo, step, {"risk"}, COMMENT)
    return ids


def erase(app, user_id, reason="Request 9"):
    """Erase an account as the command line does."""
    with app.app_context():
        privacy.erase(None, db.session.get(User, user_id), reason)


def mark_comment(app, _ids):
    """Return the comment of the only mark."""
    with app.app_context():
        return db.session.exec(select(RationaleMark.comment)).one()


def terms_reason(app, _ids):
    """Return the reason of the only override."""
    with app.app_context():
        return db.session.exec(select(AssessmentOverride.reason)).one()


def cohort_field(field):
    """Return a reader of one field of the cohort."""

    def read(app, ids):
        with app.app_context():
            return getattr(db.session.get(Cohort, ids["cohort"]), field)

    return read


def audit_of(action, part="summary"):
    """Return a reader of the summary (or details) of the first audit entry of an action."""

    def read(app, _ids):
        with app.app_context():
            statement = select(AuditEntry).where(AuditEntry.action == action)
            return getattr(db.session.exec(statement.order_by(AuditEntry.id)).first(), part)

    return read


def test_the_subject_access_file_holds_what_trainers_wrote_about_the_person(app, database_url):
    """A candidate's file holds the comments on their reasons and the reasons for their terms."""
    ids = assessed(app)
    with app.app_context():
        held = privacy.subject_access(db.session.get(User, ids["trainee"]))
    assert [m["comment"] for a in held["attempts"] for m in a["marks"]] == [COMMENT]
    assert [o["reason"] for o in held["assessment_overrides"]] == [TERMS]
    about = {entry["action"] for entry in held["audit_entries"]}
    assert {"rationale.mark", "assessment.override", "cohort.add_member"} <= about


def test_the_subject_access_file_holds_what_a_trainer_wrote(app, database_url):
    """A trainer's file holds the cohorts they own, the marks they gave, the terms they set."""
    ids = assessed(app)
    with app.app_context():
        held = privacy.subject_access(db.session.get(User, ids["trainer"]))
    written = held["written_by_them"]
    assert [(c["name"], c["description"]) for c in written["cohorts_owned"]] == [
        (COHORT, DESCRIPTION)
    ]
    assert [m["comment"] for m in written["rationale_marks"]] == [COMMENT]
    assert [o["reason"] for o in written["assessment_overrides"]] == [TERMS]
    assert held["attempts"] == [] and held["assessment_overrides"] == []
    assert "cohort.update" in {entry["action"] for entry in held["audit_entries"]}


ERASING_THE_CANDIDATE = {
    # Text about the candidate goes.
    "rationale_marks.comment": (mark_comment, lambda ids: privacy.ERASED_TEXT),
    "assessment_overrides.reason": (terms_reason, lambda ids: privacy.ERASED_TEXT),
    "audit_log.summary of their terms": (
        audit_of("assessment.override"),
        lambda ids: f"Set terms for 'erased-{ids['trainee']}': {privacy.ERASED_TEXT}",
    ),
    "audit_log.summary of a mark": (
        audit_of("rationale.mark"),
        lambda ids: f"Marked 'erased-{ids['trainee']}''s reason at decision 1 of attempt 1",
    ),
    # Others' text keeps its words, less the candidate's name.
    "cohorts.description": (
        cohort_field("description"),
        lambda ids: f"Run by trainer (T123), with erased-{ids['trainee']} as mentor",
    ),
    "cohorts.name": (cohort_field("name"), lambda ids: COHORT),
}


@pytest.mark.parametrize("column", ERASING_THE_CANDIDATE, ids=ERASING_THE_CANDIDATE)
def test_erasing_a_candidate_removes_the_text_about_them(app, database_url, column):
    """Free text about an erased candidate goes, and their records still verify."""
    ids = assessed(app)
    read, expected = ERASING_THE_CANDIDATE[column]
    erase(app, ids["trainee"])
    assert read(app, ids) == expected(ids)
    assert verdicts(app) == [chain.VERIFIED]
    assert app.test_cli_runner().invoke(args=["records", "verify"]).exit_code == 0


def test_erasing_a_candidate_keeps_the_marks_and_terms_themselves(app, database_url):
    """The criteria met, the extra time and who gave them stay: the record is complete."""
    ids = assessed(app)
    erase(app, ids["trainee"])
    with app.app_context():
        mark = db.session.exec(select(RationaleMark)).one()
        terms = db.session.exec(select(AssessmentOverride)).one()
        assert mark.criteria["risk"] and mark.marker_id == ids["trainer"]
        assert terms.time_limit_s == 3600 and terms.set_by_id == ids["trainer"]
        summaries = " ".join(db.session.exec(select(AuditEntry.summary)).all())
    assert "Dyslexia" not in summaries and "Jo Bloggs" not in summaries


ERASING_THE_TRAINER = {
    # Their text about candidates stays, less their names.
    "rationale_marks.comment": (
        mark_comment,
        lambda t: f"Jo Bloggs states the risk. {t}, {t}",
    ),
    "assessment_overrides.reason": (
        terms_reason,
        lambda t: f"Dyslexia: Jo Bloggs has extra time, agreed with {t}",
    ),
    "cohorts.name": (cohort_field("name"), lambda t: f"{t}'s CPD"),
    # Their username too, in what they typed.
    "cohorts.description": (
        cohort_field("description"),
        lambda t: f"Run by {t} ({t}), with Jo Bloggs as mentor",
    ),
    "audit_log.summary by them": (
        audit_of("cohort.update"),
        lambda t: f'Changed cohort "{t}\'s CPD"',
    ),
    "audit_log.details by them": (
        audit_of("cohort.update", "details"),
        lambda t: {"before": {"name": "Sam's group", "description": "", "audience": "cpd"}},
    ),
    # The app's own words stay, though the username is one of them.
    "audit_log.summary about them": (
        audit_of("account.create"),
        lambda t: f"Created trainer account '{t}'",
    ),
}


@pytest.mark.parametrize("column", ERASING_THE_TRAINER, ids=ERASING_THE_TRAINER)
def test_erasing_a_trainer_replaces_their_names_in_what_they_wrote(app, database_url, column):
    """A trainer's text stays as part of others' records, with their names pseudonymised."""
    ids = assessed(app)
    read, expected = ERASING_THE_TRAINER[column]
    erase(app, ids["trainer"])
    assert read(app, ids) == expected(f"erased-{ids['trainer']}")
    assert verdicts(app) == [chain.VERIFIED]
    assert app.test_cli_runner().invoke(args=["records", "verify"]).exit_code == 0


def test_the_erasure_reason_loses_the_persons_names(app, database_url):
    """A reason that names the person is kept in the audit log with the pseudonym instead."""
    ids = assessed(app)
    erase(app, ids["trainee"], "Request from JO BLOGGS, username trainee")
    with app.app_context():
        unlock = db.session.exec(
            select(AuditEntry.summary).where(AuditEntry.action == "records.unlock")
        ).one()
    pseudonym = f"erased-{ids['trainee']}"
    assert unlock.endswith(f"Request from {pseudonym}, username {pseudonym}")


def test_a_name_replaced_in_a_cohort_name_still_fits(app, database_url):
    """A pseudonym longer than the name it replaces is cut to the column's length."""
    from simulator import cohorts

    gen_user(app, "al", "trainer")
    with app.app_context():
        al = accounts.find_user("al")
        al.display_name = "Al"
        cohort_id = cohorts.create_cohort(al, " ".join(["Al"] * 33), "", "recruit").id
        al_id = al.id
    erase(app, al_id)
    with app.app_context():
        name = db.session.get(Cohort, cohort_id).name
    assert len(name) == 100 and name.startswith(f"erased-{al_id} erased-{al_id} ")
