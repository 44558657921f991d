"""CPD assessments: settings, the server's clock, attempts allowed, review options, previews.

Time is controlled, never slept through: the store takes `now`, and over HTTP an attempt's
deadline is moved into the past, as if its time had run out.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from helpers import (
    BEST_PATH,
    SHARING_PATH,
    client_of,
    gen_assessment,
    gen_cpd_cohort,
    gen_user,
    offered,
    play_through,
    post,
    take,
    text_of,
)
from sqlmodel import select

from simulator import accounts, analytics, assessments, attempts, cohorts, results
from simulator.db import db
from simulator.models import (
    AssessmentSettings,
    Assignment,
    Attempt,
    AuditEntry,
    Cohort,
    User,
    utcnow,
)
from simulator.rendering import LONDON


@pytest.fixture
def cohort(app):
    """Make a trainer, two candidates and a CPD cohort of both, owned by the trainer."""
    return gen_cpd_cohort(app, ["trainee", "second"])


@pytest.fixture
def trainer(app, cohort):
    """Return a client signed in as the cohort's trainer."""
    return client_of(app, "trainer")


@pytest.fixture
def candidate(app, cohort):
    """Return a client signed in as a candidate in the cohort."""
    return client_of(app, "trainee")


def begin(client, assignment_id, number=1, **fields):
    """Press Start on an assessment's briefing; return the response."""
    url = f"/assignments/{assignment_id}"
    data = {"number": str(number), **fields}
    return post(client, f"{url}/attempts", data, token_from=url)


def begun(client, assignment_id, **fields):
    """Start an assessment attempt and return its address."""
    response = begin(client, assignment_id, **fields)
    assert response.status_code == 303, text_of(response)
    assert response.headers["Location"].startswith("/attempts/")
    return response.headers["Location"]


def the_attempt(app, attempt_url):
    """Return the stored attempt at an address."""
    with app.app_context():
        attempt = db.session.get(Attempt, int(attempt_url.split("/")[-1]))
        db.session.expunge(attempt)
        return attempt


def run_out(app, attempt_url, by=timedelta(minutes=1), grace=None):
    """Move an attempt's start and deadline back, as if its time ran out `by` ago (and its
    grace period ends `grace` from now)."""
    with app.app_context():
        attempt = db.session.get(Attempt, int(attempt_url.split("/")[-1]))
        shift = attempt.deadline_at - utcnow() + by
        attempt.started_at -= shift
        attempt.deadline_at -= shift
        attempt.grace_until = None if grace is None else utcnow() + grace
        db.session.commit()


def states(app, attempt_url):
    """Return the states an attempt went through, in order, with their reasons."""
    with app.app_context():
        attempt_id = int(attempt_url.split("/")[-1])
        return [(e.state, e.reason) for e in assessments.events_of(attempt_id)]


# --------------------------------------------------------------------------- setting one


def settings_form(version_id, **fields):
    """Return a complete, valid form for a new assessment closing tomorrow."""
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    return {
        "version_id": str(version_id),
        "pin": "fixed",
        "closes-day": str(tomorrow.day),
        "closes-month": str(tomorrow.month),
        "closes-year": str(tomorrow.year),
        "closes-time": "17:00",
        "time_limit": "45",
        "overdue": "grace",
        "grace": "5",
        "attempts": "2",
        "grade_method": "last",
        "access_code": "BLUE-7",
        "review-immediately-outcome": "on",
        "review-closed-outcome": "on",
        "review-closed-scores": "on",
        **fields,
    }


def test_a_trainer_sets_an_assessment_and_it_is_audited(app, trainer, cohort):
    """The form stores every setting, closing at 17:00 London time, and the audit log says so."""
    with app.app_context():
        version = offered(app, "doorstep")
    url = f"/train/cohorts/{cohort}/assessments/new"
    response = post(trainer, url, settings_form(version.id), token_from=url)
    assert response.status_code == 303, text_of(response)
    with app.app_context():
        found = db.session.exec(select(AssessmentSettings)).one()
        assert (found.time_limit_s, found.overdue, found.grace_s) == (45 * 60, "grace", 300)
        assert (found.attempts_allowed, found.grade_method, found.access_code) == (
            2,
            "last",
            "BLUE-7",
        )
        assert found.review["immediately"] == ["outcome"]
        assert found.review["closed"] == ["outcome", "scores"]
        assert found.closes_at.astimezone(LONDON).strftime("%H:%M") == "17:00"
        entry = db.session.exec(
            select(AuditEntry).where(AuditEntry.action == "assessment.create")
        ).one()
        assert entry.details["access_code"] == "set"  # never the code itself
    page = text_of(trainer.get(response.headers["Location"]))
    assert "CPD assessment" in page and "BLUE-7" in page and "Preview the assessment" in page


@pytest.mark.parametrize(
    "fields, field, message",
    [
        (
            {"closes-day": "", "closes-month": "", "closes-year": ""},
            "closes-day",
            "Enter the closing date",
        ),
        ({"closes-time": "25:00"}, "closes-time", "24-hour time"),
        ({"time_limit": "0"}, "time_limit", "time limit as a whole number of minutes from 1"),
        ({"overdue": "sometimes"}, "overdue", "Select what happens"),
        ({"grace": ""}, "grace", "how many minutes the grace period"),
        ({"attempts": "11"}, "attempts", "number of attempts allowed as a whole number from 1"),
        ({"access_code": "with space"}, "access_code", "no spaces"),
        ({"grade_method": ""}, "grade_method", "Select which attempt counts"),
    ],
)
def test_a_bad_setting_is_named_and_nothing_is_stored(
    app, trainer, cohort, fields, field, message
):
    """Each bad field gets an error linked from the summary, with 422; nothing is kept."""
    with app.app_context():
        version = offered(app, "doorstep")
    url = f"/train/cohorts/{cohort}/assessments/new"
    response = post(trainer, url, settings_form(version.id, **fields), token_from=url)
    assert response.status_code == 422
    page = text_of(response)
    assert f'href="#{field}"' in page and message in page
    with app.app_context():
        assert db.session.exec(select(AssessmentSettings)).all() == []


@pytest.mark.parametrize("page", ["new", "settings"])
def test_each_number_error_names_its_field(app, trainer, cohort, page):
    """The time limit, grace period and attempts errors each say which field they are about,
    so the error summary can be read on its own."""
    with app.app_context():
        version = offered(app, "doorstep")
    url = f"/train/cohorts/{cohort}/assessments/new"
    form = settings_form(version.id, time_limit="0", overdue="grace", grace="61", attempts="11")
    if page == "settings":
        url = f"/train/assignments/{gen_assessment(app, cohort)}/settings"
        form.pop("version_id"), form.pop("pin")
    response = post(trainer, url, form, token_from=url)
    text = text_of(response)
    assert response.status_code == 422
    for message in (
        "Enter the time limit as a whole number of minutes from 1 to 1,440",
        "Enter the grace period as a whole number of minutes from 1 to 60",
        "Enter the number of attempts allowed as a whole number from 1 to 10",
    ):
        assert text.count(message) == 2  # in the summary and by its field


def test_a_trainer_changes_the_settings(app, trainer, cohort):
    """The settings form shows what is stored, and saving it keeps the change and audits it."""
    assignment_id = gen_assessment(app, cohort)
    url = f"/train/assignments/{assignment_id}/settings"
    page = text_of(trainer.get(url))
    assert 'value="30"' in page  # the time limit, in minutes
    form = settings_form(0, time_limit="20", overdue="close")
    form.pop("version_id"), form.pop("pin")
    response = post(trainer, url, form, token_from=url)
    assert response.status_code == 303, text_of(response)
    with app.app_context():
        found = db.session.exec(select(AssessmentSettings)).one()
        assert found.time_limit_s == 20 * 60 and found.overdue == "close"
        actions = db.session.exec(select(AuditEntry.action)).all()
        assert "assessment.update" in actions


# --------------------------------------------------------------------------- the attempt


def test_the_briefing_states_the_rules_and_asks_for_the_code(app, candidate, cohort):
    """Without the code nothing starts (422, named); with it the attempt starts."""
    assignment_id = gen_assessment(app, cohort, access_code="Blue-7")
    page = text_of(candidate.get(f"/assignments/{assignment_id}"))
    assert "The rules of this assessment" in page and "30 minutes, from when you start" in page
    assert "0 of 1 used" in page and 'name="code"' in page
    wrong = begin(candidate, assignment_id, code="red")
    assert wrong.status_code == 422 and "The access code is not right" in text_of(wrong)
    assert begin(candidate, assignment_id).status_code == 422
    with app.app_context():
        assert db.session.exec(select(Attempt)).all() == []
    assert begun(candidate, assignment_id, code=" blue-7 ")  # case and spaces do not matter


def test_every_page_says_the_deadline_and_no_feedback_is_shown(app, candidate, cohort):
    """The node page prints 'You have until HH:MM'; a choice goes straight on, no feedback."""
    assignment_id = gen_assessment(app, cohort)
    url = begun(candidate, assignment_id)
    attempt = the_attempt(app, url)
    until = attempt.deadline_at.astimezone(LONDON).strftime("%H:%M")
    assert f"You have until {until}." in text_of(candidate.get(url))
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=30)
    response = take(candidate, url, 0, "check-status")
    assert response.headers["Location"] == url  # no feedback page in between
    assert candidate.get(f"{url}/feedback/1").status_code == 404


def test_feedback_during_the_attempt_where_the_review_options_show_it(app, candidate, cohort):
    """With feedback ticked for "during the attempt", each decision is followed by it."""
    review = assessments.DEFAULT_REVIEW | {"during": ["feedback"]}
    assignment_id = gen_assessment(app, cohort, review=review)
    url = begun(candidate, assignment_id)
    response = take(candidate, url, 0, "check-status")
    assert response.headers["Location"] == f"{url}/feedback/1"
    assert candidate.get(f"{url}/feedback/1").status_code == 200


def test_an_assessment_sends_no_node_ahead_of_continue(app, candidate, cohort):
    """In an assessment the server alone keeps the times: its feedback's Continue asks the
    server for the next node, which is not sent ahead as it is in practice."""
    review = assessments.DEFAULT_REVIEW | {"during": ["feedback"]}
    url = begun(candidate, gen_assessment(app, cohort, review=review))
    htmx = {"HX-Request": "true"}
    page = take(candidate, url, 0, "check-status", headers=htmx).get_data(as_text=True)
    assert "Feedback on your decision" in page and f'data-hx-get="{url}"' in page
    assert "data-app-next" not in page and "data-app-reveal" not in page


def test_the_deadline_is_the_close_when_that_comes_first(app, cohort):
    """An attempt started ten minutes before the close has ten minutes, not its time limit."""
    with app.app_context():
        found = AssessmentSettings(
            assignment_id=0,
            closes_at=utcnow() + timedelta(minutes=10),
            time_limit_s=3600,
            review={},
        )
        terms = assessments.Terms(None, found.closes_at, 3600, 1)
        deadline, grace = assessments.deadlines(terms, found, utcnow())
        assert deadline == found.closes_at and grace is None


def test_a_step_after_the_deadline_is_refused_and_closes_the_attempt(app, candidate, cohort):
    """Under "close": nothing recorded, not passed, grade 0, and the record says why."""
    assignment_id = gen_assessment(app, cohort)
    url = begun(candidate, assignment_id)
    assert take(candidate, url, 0, "interpreter").status_code == 303
    run_out(app, url)
    response = take(candidate, url, 1, "continue")
    assert response.status_code == 303 and response.headers["Location"].endswith("/debrief")
    closed = the_attempt(app, url)
    assert closed.state == "finished" and closed.passed is False and closed.result["grade"] == 0
    assert closed.closed_reason == assessments.TIME_RAN_OUT and closed.ending is None
    assert closed.finished_at == closed.deadline_at  # closed when time ran out
    with app.app_context():
        assert len(attempts.progress_of(db.session.get(Attempt, closed.id)).steps) == 1
    page = text_of(candidate.get(response.headers["Location"]))
    assert "Time ran out at" in page and "Your attempt was closed" in page
    assert [s for s, _ in states(app, url)] == ["in_progress", "finished"]


def test_in_the_grace_period_the_candidate_reaches_an_ending_late(app, candidate, cohort):
    """Under "grace": the step is taken, the attempt goes overdue, then finishes marked late."""
    assignment_id = gen_assessment(app, cohort, overdue="grace", grace_s=300)
    url = begun(candidate, assignment_id)
    run_out(app, url, grace=timedelta(minutes=4))
    page = text_of(candidate.get(url))
    assert "Your time limit has passed" in page
    play_through(candidate, url, BEST_PATH)
    done = the_attempt(app, url)
    assert done.state == "finished" and done.late and done.passed
    assert [s for s, _ in states(app, url)] == ["in_progress", "overdue", "finished"]
    assert "in the grace period" in states(app, url)[-1][1]


def test_past_the_grace_period_the_attempt_is_closed(app, candidate, cohort):
    """A step after the grace period is refused, and the attempt closes late and not passed."""
    assignment_id = gen_assessment(app, cohort, overdue="grace", grace_s=300)
    url = begun(candidate, assignment_id)
    run_out(app, url, by=timedelta(minutes=10), grace=timedelta(minutes=-5))
    take(candidate, url, 0, "interpreter")
    closed = the_attempt(app, url)
    assert closed.state == "finished" and closed.late and not closed.passed
    assert closed.closed_reason == assessments.GRACE_RAN_OUT
    assert [s for s, _ in states(app, url)] == ["in_progress", "overdue", "finished"]


def test_under_discard_the_attempt_is_abandoned_uncounted_but_used(app, candidate, cohort):
    """Under "discard" the attempt has no grade, and it still uses the one attempt allowed."""
    assignment_id = gen_assessment(app, cohort, overdue="discard")
    url = begun(candidate, assignment_id)
    run_out(app, url)
    response = candidate.get(url)  # opening it closes it, too
    assert response.status_code == 303
    gone = the_attempt(app, url)
    assert gone.state == "abandoned" and gone.counted is False and gone.finished_at is None
    assert assessments.grade_of(gone) is None
    again = begin(candidate, assignment_id, number=2)
    assert (
        again.status_code == 303 and again.headers["Location"] == f"/assignments/{assignment_id}"
    )
    assert "You have used the 1 attempt allowed" in text_of(
        candidate.get(again.headers["Location"])
    )


def test_no_attempt_beyond_those_allowed_and_none_after_the_close(app, candidate, cohort):
    """One finished attempt uses the only one; after the close nothing starts at all."""
    assignment_id = gen_assessment(app, cohort)
    play_through(candidate, begun(candidate, assignment_id), BEST_PATH)
    refused = begin(candidate, assignment_id, number=2)
    assert refused.headers["Location"] == f"/assignments/{assignment_id}"
    closed_id = gen_assessment(app, cohort, closes_at=utcnow() + timedelta(seconds=1))
    with app.app_context():
        found = db.session.exec(
            select(AssessmentSettings).where(AssessmentSettings.assignment_id == closed_id)
        ).one()
        found.closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert "This assessment has closed." in text_of(candidate.get(f"/assignments/{closed_id}"))
    assert begin(candidate, closed_id).headers["Location"] == f"/assignments/{closed_id}"


def test_signed_out_the_candidate_signs_in_again_and_carries_on(app, candidate, cohort):
    """Signing out does not stop the clock or lose the attempt: the deadline is unchanged."""
    assignment_id = gen_assessment(app, cohort)
    url = begun(candidate, assignment_id)
    take(candidate, url, 0, "interpreter")
    before = the_attempt(app, url).deadline_at
    post(candidate, "/sign-out")
    again = client_of(app, "trainee")
    assert "Carry on" in text_of(again.get(f"/assignments/{assignment_id}"))
    assert take(again, url, 1, "continue").status_code == 303
    assert the_attempt(app, url).deadline_at == before


# --------------------------------------------------------------------------- closing overdue


def test_close_overdue_closes_each_and_one_failure_stops_none(app, cohort, monkeypatch):
    """Every attempt whose time is over is closed; a failing one is reported, the rest go on."""
    assignment_id = gen_assessment(app, cohort)
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        found = assessments.settings_of(assignment)
        version = offered(app, "doorstep")
        made = []
        for username in ("trainee", "second"):
            person = accounts.find_user(username)
            terms = assessments.terms_for(assignment, found, person.id)
            made.append(assessments.start(person, version, 1, assignment, found, terms).id)
        later = utcnow() + timedelta(hours=1)
        real_close = assessments.close

        def failing(attempt, rule, now, actor_id=None):
            if attempt.id == made[0]:
                raise RuntimeError("disk full")
            return real_close(attempt, rule, now, actor_id)

        monkeypatch.setattr(assessments, "close", failing)
        lines = []
        assert assessments.close_overdue(later, log=lines.append) == (1, 0, 1)
        assert "disk full" in lines[0]
        monkeypatch.setattr(assessments, "close", real_close)
        assert assessments.close_overdue(later) == (1, 0, 0)
        assert assessments.close_overdue(later) == (0, 0, 0)  # nothing twice
        closed = [db.session.get(Attempt, attempt_id) for attempt_id in made]
        assert all(a.state == "finished" and a.passed is False for a in closed)


def test_the_close_overdue_command(app, runner, candidate, cohort):
    """`flask assessments close-overdue` says what it did and exits 0."""
    assignment_id = gen_assessment(app, cohort)
    url = begun(candidate, assignment_id)
    run_out(app, url)
    result = runner.invoke(args=["assessments", "close-overdue"])
    assert result.exit_code == 0, result.output
    assert "Closed 1; 0 entered their grace period; 0 failed." in result.output
    assert the_attempt(app, url).state == "finished"


# --------------------------------------------------------------------------- review and grades


def test_the_review_follows_the_matrix(app, candidate, cohort):
    """Immediately after: the outcome only; after the close: scores and feedback too."""
    review = {"immediately": ["outcome"], "open": [], "closed": ["outcome", "scores", "feedback"]}
    assignment_id = gen_assessment(app, cohort, review=review)
    url = begun(candidate, assignment_id)
    play_through(candidate, url, SHARING_PATH)
    page = text_of(candidate.get(f"{url}/debrief"))
    assert "Not passed" in page and "Scores" not in page and "Your decisions" not in page
    assert "More of your review may open after the assessment closes" in page
    with app.app_context():
        found = db.session.exec(select(AssessmentSettings)).one()
        found.closes_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = text_of(candidate.get(f"{url}/debrief"))
    assert "Scores" in page and "Grade: 0%" in page and "Your decisions" in page
    assert "Sharing of immigration information" not in page  # not chosen for any time


def test_review_when(app):
    """During, within two minutes of the end, later while open, and after the close."""
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    done = Attempt(finished_at=start + timedelta(minutes=20))
    live = Attempt()
    terms = assessments.Terms(None, start + timedelta(hours=2), None, 1)
    assert assessments.review_when(live, terms, start) == "during"
    assert assessments.review_when(done, terms, start + timedelta(minutes=21)) == "immediately"
    assert assessments.review_when(done, terms, start + timedelta(minutes=30)) == "open"
    assert assessments.review_when(done, terms, start + timedelta(hours=2)) == "closed"


@pytest.mark.parametrize("method, expected", [("highest", 2), ("first", 1), ("last", 3)])
def test_which_attempt_counts(method, expected):
    """Highest grade (the earliest of equals), first or last of the graded attempts."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    made = [
        Attempt(number=1, finished_at=now, result={"grade": 40}),
        Attempt(number=2, finished_at=now, result={"grade": 80}),
        Attempt(number=3, finished_at=now, result={"grade": 80}),
        Attempt(number=4, finished_at=None),  # still in progress
        Attempt(number=5, abandoned_at=now, counted=False),
    ]
    assert assessments.counting_attempt(made, method).number == expected


def test_an_override_gives_one_candidate_more_time_and_attempts(app, cohort):
    """The newest override applies to its candidate only; the history is kept."""
    assignment_id = gen_assessment(app, cohort)
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        found = assessments.settings_of(assignment)
        trainer_user = db.session.exec(select(User).where(User.username == "trainer")).one()
        person = db.session.exec(select(User).where(User.username == "trainee")).one()
        other = db.session.exec(select(User).where(User.username == "second")).one()
        assessments.set_override(
            trainer_user, assignment, person, {"time_limit_s": 2400}, "Extra time: dyslexia"
        )
        assessments.set_override(
            trainer_user,
            assignment,
            person,
            {"time_limit_s": 2700, "attempts_allowed": 2},
            "Fire alarm during the first sitting",
        )
        terms = assessments.terms_for(assignment, found, person.id)
        assert (terms.time_limit_s, terms.attempts_allowed, terms.overridden) == (2700, 2, True)
        assert assessments.terms_for(assignment, found, other.id).time_limit_s == 1800
        assert len(assessments.overrides_of(assignment_id, person.id)) == 2


# --------------------------------------------------------------------------- previews


def test_a_preview_never_counts_or_shows_in_results(app, trainer, cohort):
    """A trainer previews with the same clock and no feedback; results and analytics skip it."""
    assignment_id = gen_assessment(app, cohort)
    url = f"/train/assignments/{assignment_id}"
    response = post(trainer, f"{url}/preview", token_from=url)
    attempt_url = response.headers["Location"]
    assert "This is a preview" in text_of(trainer.get(attempt_url))
    play_through(trainer, attempt_url, BEST_PATH)
    preview = the_attempt(app, attempt_url)
    assert preview.preview and preview.state == "finished"
    with app.app_context():
        assert (
            analytics.assignment_analytics(
                db.session.get(Assignment, assignment_id)
            ).headline.attempts
            == 0
        )
        rows = results.assignment_attempts([assignment_id], [preview.user_id])
        assert rows == {}


@pytest.mark.skipif(
    os.environ.get("SIMULATOR_TEST_DATABASE") != "postgresql",
    reason="several machines share PostgreSQL; SQLite is one machine's database",
)
def test_close_overdue_on_several_machines_at_once_closes_each_once(app, cohort):
    """Four runs at the same moment close a dozen overdue attempts exactly once between them."""
    assignment_id = gen_assessment(app, cohort)
    usernames = [f"candidate-{n}" for n in range(12)]
    for username in usernames:
        gen_user(app, username)
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        found = assessments.settings_of(assignment)
        version = offered(app, "doorstep")
        trainer_user = accounts.find_user("trainer")
        group = db.session.get(Cohort, cohort)
        made = []
        for username in usernames:
            person = accounts.find_user(username)
            cohorts.add_member(trainer_user, group, person)
            terms = assessments.terms_for(assignment, found, person.id)
            made.append(assessments.start(person, version, 1, assignment, found, terms).id)
    later = utcnow() + timedelta(hours=1)
    barrier = threading.Barrier(4)

    def run(_):
        with app.app_context():
            barrier.wait()
            return assessments.close_overdue(later)

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(run, range(4)))
    assert sum(closed for closed, _, _ in counts) == len(made)
    assert all(failed == 0 for _, _, failed in counts)
    with app.app_context():
        for attempt_id in made:
            states = [e.state for e in assessments.events_of(attempt_id)]
            assert states == ["in_progress", "finished"]
