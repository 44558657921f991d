"""A CPD assessment in Chromium: with JavaScript and without, to its end; the deadline met;
the review opening when the assessment closes; the countdown's announcements; axe."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from journeys import FIRST_CHOICE, PASSWORD, REASON, SECOND_CHOICE, heading, sign_in
from playwright.sync_api import expect
from test_browser_accessibility import AxeAudit
from test_browser_trainer import in_app

from simulator import assessments, cohorts, library
from simulator.accounts import create_user
from simulator.db import db
from simulator.models import Assignment, Attempt, utcnow

CODE = "ROOM-12"


@pytest.fixture(scope="module")
def sitting(live_app):
    """Make a trainer, three candidates in a CPD cohort, and an assessment of the test
    scenario: 30 minutes, closed when time runs out, the default review, an access code."""

    def make():
        library.load_folder(Path(live_app.config["SCENARIOS_DIR"]))
        trainer = create_user("assessor", PASSWORD, "trainer")
        cohort = cohorts.create_cohort(trainer, "CPD sitting", "", "cpd")
        for name in ("candidate-js", "candidate-plain", "candidate-clock"):
            cohorts.add_member(trainer, cohort, create_user(name, PASSWORD, "trainee"))
        version = library.offered_versions()[0]
        settings = {
            "closes_at": utcnow() + timedelta(hours=3),
            "time_limit_s": 30 * 60,
            "overdue": "close",
            "grace_s": 0,
            "attempts_allowed": 1,
            "grade_method": "highest",
            "access_code": CODE,
            "review": assessments.DEFAULT_REVIEW,
        }
        return assessments.create(trainer, cohort, version, True, None, settings).id

    return in_app(live_app, make)


def open_assessment(page, assignment_id):
    """Go to the assessment's briefing and check it states the rules."""
    page.goto(f"/assignments/{assignment_id}")
    heading(page, "A call to a flat")
    expect(page.get_by_text("The rules of this assessment")).to_be_visible()


def start_with_code(page, code=CODE, started=True):
    """Enter the access code and start the assessment (unless the code is to be refused):
    the first step shows, at the attempt's address (in place, with JavaScript)."""
    page.get_by_label("Access code").fill(code)
    page.get_by_role("button", name="Start the assessment").click()
    if started:
        expect(page).to_have_url(re.compile(r"/attempts/\d+$"))


def decide(page, label, reason=None):
    """Pick a choice and press Continue: an assessment goes straight on, with no feedback."""
    page.get_by_label(label).check()
    if reason is not None:
        page.get_by_label("Why did you choose this?").fill(reason)
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(page.get_by_role("heading", name="Feedback on your decision")).to_have_count(0)


def take_to_the_end(page):
    """Take the test scenario to its ending by the safe path."""
    expect(page.get_by_text(re.compile(r"You have until \d\d:\d\d\."))).to_be_visible()
    decide(page, FIRST_CHOICE, REASON)
    expect(page.get_by_text("What do you do?")).to_have_count(0)
    page.get_by_role("button", name="Continue", exact=True).click()
    decide(page, SECOND_CHOICE)
    heading(page, "Your attempt is recorded")


def close_the_assessment(live_app, assignment_id):
    """Move the assessment's close into the past, as if it had closed."""

    def close():
        found = db.session.get(Assignment, assignment_id)
        settings = assessments.settings_of(found)
        settings.closes_at = utcnow() - timedelta(seconds=1)
        db.session.add(settings)
        db.session.commit()

    in_app(live_app, close)


def test_with_javascript_to_the_end_and_the_review_opens_at_the_close(page, live_app, sitting):
    """Code refused then accepted, no feedback on the way, the outcome at once, the scores
    only once the assessment has closed; every page passes axe."""
    audit = AxeAudit(page)
    sign_in(page, "candidate-js")
    open_assessment(page, sitting)
    audit.check("assessment briefing")
    start_with_code(page, "wrong", started=False)
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page.get_by_text("The access code is not right").first).to_be_visible()
    audit.check("assessment briefing with errors")
    start_with_code(page)
    expect(page.locator(".app-clock__left")).to_have_text(re.compile(r"About \d+ minutes left"))
    audit.check("assessment step")
    take_to_the_end(page)
    expect(page.get_by_role("heading", name="Outcome")).to_be_visible()
    expect(page.get_by_role("heading", name="Scores")).to_have_count(0)
    audit.check("assessment review, immediately after")
    close_the_assessment(live_app, sitting)
    page.reload()
    expect(page.get_by_role("heading", name="Scores")).to_be_visible()
    expect(page.get_by_role("heading", name="Your decisions")).to_be_visible()
    audit.check("assessment review, after the close")
    assert not audit.reports, audit.summary()


def test_without_javascript_the_deadline_is_met(open_page, live_app, sitting):
    """A choice posted after the deadline is refused with a plain message; the attempt is
    closed, not passed, and the review says why."""
    page = open_page(java_script_enabled=False)
    sign_in(page, "candidate-plain")
    reopen(live_app, sitting)
    open_assessment(page, sitting)
    start_with_code(page)
    expect(page.get_by_text(re.compile(r"You have until \d\d:\d\d\."))).to_be_visible()
    decide(page, FIRST_CHOICE, REASON)
    attempt_id = int(page.url.rstrip("/").split("/")[-1])
    run_out(live_app, attempt_id)
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(page.get_by_text(re.compile(r"Time ran out at \d\d:\d\d"))).to_be_visible()
    heading(page, "Your attempt was closed")
    expect(page.get_by_text(assessments.TIME_RAN_OUT).first).to_be_visible()
    expect(page.get_by_text("Not passed")).to_be_visible()


def test_the_countdown_announces_ten_minutes_left_politely(page, live_app, sitting):
    """With ten minutes and two seconds left, the polite live region says "10 minutes left."
    once, and nothing before."""
    sign_in(page, "candidate-clock")
    reopen(live_app, sitting)
    open_assessment(page, sitting)
    start_with_code(page)
    attempt_id = int(page.url.rstrip("/").split("/")[-1])
    set_left(live_app, attempt_id, timedelta(minutes=10, seconds=2))
    page.reload()
    announce = page.locator("[data-app-clock-announce]")
    expect(announce).to_have_attribute("aria-live", "polite")
    expect(announce).to_have_text("")
    expect(announce).to_have_text("10 minutes left.", timeout=8_000)


def test_the_invigilators_list_says_when_it_could_not_refresh(
    open_page, live_app, sitting, monkeypatch
):
    """The invigilator's list refreshes itself. While the connection is down it says so,
    quietly (a status message, with the time it could not), and the message goes as soon
    as a refresh gets through again."""
    from simulator.web.train import invigilation_views

    monkeypatch.setattr(invigilation_views, "REFRESH_SECONDS", 1)
    page = open_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    sign_in(page, "assessor")
    page.goto(f"/train/assignments/{sitting}/invigilate")
    expect(page.get_by_role("heading", name="Candidates")).to_be_visible()
    status = page.get_by_role("status").filter(has_text="could not be refreshed")
    expect(status).to_have_count(0)
    page.context.set_offline(True)
    expect(status).to_have_text(
        re.compile(r"The list could not be refreshed at \d\d:\d\d:\d\d: the connection was lost")
    )
    page.context.set_offline(False)
    expect(status).to_have_count(0)
    expect(page.get_by_role("heading", name="Candidates")).to_be_visible()
    assert not problems, problems


def reopen(live_app, assignment_id):
    """Make sure the assessment is open (an earlier test may have closed it)."""

    def reopen_():
        found = db.session.get(Assignment, assignment_id)
        settings = assessments.settings_of(found)
        if settings.closes_at < utcnow() + timedelta(hours=1):
            settings.closes_at = utcnow() + timedelta(hours=3)
            db.session.add(settings)
            db.session.commit()

    in_app(live_app, reopen_)


def run_out(live_app, attempt_id):
    """Move an attempt's start and deadline back, as if its time had run out."""
    set_left(live_app, attempt_id, timedelta(minutes=-1))


def set_left(live_app, attempt_id, left):
    """Set an attempt's deadline `left` from now, moving its start with it."""

    def move():
        attempt = db.session.get(Attempt, attempt_id)
        shift = attempt.deadline_at - (utcnow() + left)
        attempt.started_at -= shift
        attempt.deadline_at -= shift
        db.session.commit()

    in_app(live_app, move)
