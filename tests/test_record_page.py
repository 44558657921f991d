"""The printable record of an attempt: every item a reviewer needs, and the check made live."""

import re
from datetime import UTC, timedelta
from html import unescape

import pytest
from helpers import (
    BEST_PATH,
    gen_assessment,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_sitting,
    gen_user,
    sign_in,
    text_of,
)
from sqlalchemy import text
from sqlmodel import select

from simulator import assessments, records
from simulator.db import db
from simulator.models import Attempt, AttemptStep, ScenarioVersion, User, utcnow

VERIFIED = "Verified: the chain and seal match."


@pytest.fixture
def trainer(app):
    """Create the trainer who owns the cohort."""
    return gen_user(app, "trainer", "trainer")


@pytest.fixture
def cohort(app, trainer, trainee):
    """Return a CPD cohort holding the trainee, whose record details are filled in."""
    with app.app_context():
        person = db.session.get(User, trainee)
        person.display_name, person.force, person.collar_number = "Ann Archer", "Kent", "KP101"
        db.session.commit()
    return gen_cohort(app, "trainer", "CPD spring", ["trainee"], audience="cpd")


@pytest.fixture
def finished(app, cohort):
    """Return the id of the trainee's assessment attempt, finished by the best path."""
    return gen_sitting(app, "trainee", gen_assessment(app, cohort), BEST_PATH)


def record_of(app, attempt_id, username="trainer"):
    """Sign in and fetch an attempt's record."""
    client = app.test_client()
    sign_in(client, username)
    return client.get(f"/train/attempts/{attempt_id}/record")


def page_text(response):
    """Return a page's text with its tags taken out and its spaces run together."""
    assert response.status_code == 200, response.status_code
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text_of(response))).split())


def behind_the_app(app, statement, **params):
    """Run one SQL statement through the logged way past the triggers."""
    with app.app_context(), records.unlocked("tests: change a record"):
        db.session.execute(text(statement), params)


def stored(app, attempt_id):
    """Return an attempt, its steps and its version's digest, detached."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        statement = select(AttemptStep).where(AttemptStep.attempt_id == attempt_id)
        steps = db.session.exec(statement.order_by(AttemptStep.step_number)).all()
        digest = db.session.get(ScenarioVersion, attempt.scenario_version_id).digest
        db.session.expunge_all()
        return attempt, steps, digest


def test_the_record_shows_who_what_and_which_version(app, finished):
    """Candidate, assignment and scenario version, its digest included."""
    page = page_text(record_of(app, finished))
    _, _, digest = stored(app, finished)
    for item in ("Ann Archer", "trainee", "Kent", "KP101", "CPD spring", "A call to a flat"):
        assert item in page
    assert "Mode Assessment" in page
    assert "Scenario id doorstep" in page and "Version number 1" in page
    assert f"Version digest (SHA-256 of the file) {digest}" in page


def test_the_record_gives_times_in_london_and_utc(app, finished):
    """Started, deadline, grace and finished, with London's zone named, and in UTC."""
    page = page_text(record_of(app, finished))
    attempt, _, _ = stored(app, finished)
    started = attempt.started_at.replace(tzinfo=attempt.started_at.tzinfo or UTC).astimezone(UTC)
    assert re.search(r"Started \d{1,2} \w+ \d{4}, \d\d:\d\d:\d\d (GMT|BST)", page)
    assert f"{started:%Y-%m-%d %H:%M:%S} UTC" in page
    assert re.search(r"Deadline \d{1,2} \w+ \d{4}, \d\d:\d\d:\d\d (GMT|BST) \d{4}-", page)
    assert "Grace period ends No grace period" in page
    assert re.search(r"Finished \d{1,2} \w+ \d{4}, \d\d:\d\d:\d\d (GMT|BST)", page)


def test_the_record_shows_the_state_history(app, finished):
    """Each state change, with its reason and who made it."""
    page = page_text(record_of(app, finished))
    assert "In progress The candidate began the attempt. The candidate" in page
    assert "Finished The candidate reached an ending. The candidate" in page


def test_the_record_shows_each_step_with_its_link(app, finished):
    """Each decision's question, choice, verdict, time, reason and hash; each step's link."""
    page = page_text(record_of(app, finished))
    _, steps, _ = stored(app, finished)
    assert "Question Amina opens the door." in page
    assert "Choice taken Arrange a professional Somali interpreter" in page
    assert "Verdict A good choice" in page
    assert "Time to decide 1 second (1000 ms)" in page
    assert "Written reason why" in page
    for step in steps:
        assert f"Link {step.link} Link key {step.link_key}" in page
        if step.rationale_hash:
            assert f"SHA-256 of the reason {step.rationale_hash}" in page
    assert "Step 1: went on" in page


def test_the_record_shows_the_result_seal_and_how_to_verify(app, finished):
    """Pass, sharing, critical errors, grade, percents, flags, the seal and the command."""
    page = page_text(record_of(app, finished))
    attempt, _, _ = stored(app, finished)
    assert "Ending Victim safeguarded Passed Yes" in page
    assert "Sharing of immigration information Passed Critical errors 0" in page
    assert f"Grade {attempt.result['grade']}%" in page
    assert "Victim safety 100% (pass mark 50%)" in page
    assert "Late No Counted as an attempt Yes" in page
    assert f"Seal {attempt.seal} Seal key {attempt.seal_key}" in page
    assert f"flask records verify --attempt {finished}" in page
    assert "names anything that does not match" in page


def test_the_record_is_checked_live(app, finished):
    """An untouched record says it verified, and when it was checked."""
    page = page_text(record_of(app, finished))
    assert VERIFIED in page
    assert "Use your browser’s Print command" in page


def test_a_step_changed_behind_the_app_fails_the_check(app, finished):
    """A step's time altered past the triggers: the page says the check failed, and where."""
    behind_the_app(
        app,
        "UPDATE attempt_steps SET elapsed_ms = elapsed_ms + 1 WHERE attempt_id = :id",
        id=finished,
    )
    page = page_text(record_of(app, finished))
    assert VERIFIED not in page
    assert "The check failed: this record was changed after it was made." in page
    assert "Step 0: its link does not match" in page


def test_a_choice_that_no_longer_replays_still_shows_the_record(app, finished):
    """A step changed to a choice the scenario never offered: the record shows the ids."""
    behind_the_app(
        app,
        "UPDATE attempt_steps SET choice_id = 'nonsense' WHERE attempt_id = :id "
        "AND step_number = 0",
        id=finished,
    )
    page = page_text(record_of(app, finished))
    assert "The check failed" in page
    assert "no longer replay through this scenario version" in page
    assert "node arrival, choice nonsense" in page


def test_an_erased_reason_shows_removed_and_still_verifies(app, finished):
    """A rationale removed through the logged way past keeps its hash, and the chain checks."""
    behind_the_app(
        app, "UPDATE attempt_steps SET rationale = NULL WHERE attempt_id = :id", id=finished
    )
    page = page_text(record_of(app, finished))
    assert "Written reason Removed SHA-256 of the reason" in page
    assert VERIFIED in page


@pytest.mark.parametrize(
    ("rule", "reason", "shown"),
    [
        ("close", assessments.TIME_RAN_OUT, "Grade 0% Late No Counted as an attempt Yes"),
        ("discard", assessments.NOT_SUBMITTED, "Passed No Late No Counted as an attempt No"),
    ],
)
def test_an_attempt_closed_before_an_ending_says_why(app, cohort, rule, reason, shown):
    """Time ran out: the record gives the closed reason and the flags, and it verifies."""
    assessment = gen_assessment(app, cohort, overdue=rule)
    began = utcnow() - timedelta(hours=1)
    attempt_id = gen_sitting(app, "trainee", assessment, BEST_PATH[:1], started_at=began)
    with app.app_context():
        assessments.close_if_due(db.session.get(Attempt, attempt_id))
    page = page_text(record_of(app, attempt_id))
    assert f"Closed before an ending {reason} Passed No" in page
    assert shown in page
    assert "Verified: the chain" in page


def test_an_admin_sees_the_record_of_free_practice(app, trainee):
    """Free practice has a record too, for an admin, who may see every attempt."""
    gen_user(app, "admin", "admin")
    attempt_id = gen_attempt(app, "trainee", BEST_PATH)
    page = page_text(record_of(app, attempt_id, "admin"))
    assert "Cohort None: free practice, not for an assignment" in page
    assert "Mode Practice" in page and VERIFIED in page


def test_without_a_records_key_the_page_says_it_could_not_check(app, finished):
    """No key configured: the record is shown, saying it was not checked and why."""
    app.extensions.pop("records_keyring")
    page = page_text(record_of(app, finished))
    assert "Not checked: SIMULATOR_RECORDS_KEY is not set" in page


def test_a_trainer_who_cannot_see_the_attempt_gets_404(app, finished):
    """Another trainer's candidate's record is not found."""
    gen_user(app, "other", "trainer")
    assert record_of(app, finished, "other").status_code == 404


def test_a_trainee_gets_403(app, finished):
    """Not even the candidate may open the trainer's record page."""
    assert record_of(app, finished, "trainee").status_code == 403


def test_the_person_page_links_the_record_of_assessment_attempts_only(app, finished, cohort):
    """An assessment attempt has a record link on the person page; a practice one has not."""
    practice = gen_attempt(app, "trainee", BEST_PATH, assignment_id=gen_assignment(app, cohort))
    client = app.test_client()
    sign_in(client, "trainer")
    with app.app_context():
        trainee_id = db.session.get(Attempt, finished).user_id
    page = text_of(client.get(f"/train/people/{trainee_id}"))
    assert f'href="/train/attempts/{finished}/record"' in page
    assert f'href="/train/attempts/{practice}/record"' not in page


def test_the_read_only_debrief_links_the_record(app, finished, cohort):
    """The trainer's read-only debrief of an assessment attempt links its record."""
    practice = gen_attempt(app, "trainee", BEST_PATH, assignment_id=gen_assignment(app, cohort))
    client = app.test_client()
    sign_in(client, "trainer")
    page = text_of(client.get(f"/train/attempts/{finished}"))
    assert f'href="/train/attempts/{finished}/record"' in page
    assert "/record" not in text_of(client.get(f"/train/attempts/{practice}"))
