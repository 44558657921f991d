"""The printable record of an assessment attempt in Chromium: axe, and what prints."""

from datetime import timedelta
from pathlib import Path

from journeys import PASSWORD, heading, sign_in
from playwright.sync_api import expect
from test_browser_accessibility import AxeAudit
from test_browser_trainer import in_app

from simulator import assessments, attempts, cohorts, library
from simulator.accounts import create_user
from simulator.models import utcnow

PATH = ["speak-alone", "continue", "reassure"]


def finished_sitting(live_app):
    """Make a trainer, a candidate in their CPD cohort and an assessment, and finish an
    attempt at it by the safe path; return the attempt's id."""

    def make():
        library.load_folder(Path(live_app.config["SCENARIOS_DIR"]))
        trainer = create_user("record-trainer", PASSWORD, "trainer")
        cohort = cohorts.create_cohort(trainer, "Record sitting", "", "cpd")
        candidate = create_user("record-candidate", PASSWORD, "trainee")
        cohorts.add_member(trainer, cohort, candidate)
        settings = {
            "closes_at": utcnow() + timedelta(hours=3),
            "time_limit_s": 30 * 60,
            "overdue": "close",
            "grace_s": 0,
            "attempts_allowed": 1,
            "grade_method": "highest",
            "access_code": None,
            "review": assessments.DEFAULT_REVIEW,
        }
        version = library.offered_version("browser-doorstep")
        found_assignment = assessments.create(trainer, cohort, version, True, None, settings)
        found = assessments.settings_of(found_assignment)
        terms = assessments.terms_for(found_assignment, found, candidate.id)
        attempt = assessments.start(candidate, version, 1, found_assignment, found, terms)
        for choice_id in PATH:
            progress = attempts.progress_of(attempt)
            choice = {c.id: c for c in progress.offered()}[choice_id]
            attempts.record_step(
                progress, choice, attempts.clean_rationale(progress.node, "Safety")
            )
        return attempt.id

    return in_app(live_app, make)


def test_the_record_passes_axe_and_prints_without_the_header(page, live_app):
    """The record page has no WCAG 2.2 AA violations; printed, only the record shows."""
    attempt_id = finished_sitting(live_app)
    sign_in(page, "record-trainer")
    page.goto(f"/train/attempts/{attempt_id}/record")
    record = heading(page, "Record of")
    expect(page.get_by_text("Verified: the chain and seal match.")).to_be_visible()
    expect(page.get_by_role("button", name="Print this record")).to_be_visible()
    audit = AxeAudit(page)
    audit.check("attempt record")
    assert not audit.reports, audit.summary()
    page.emulate_media(media="print")
    expect(page.locator(".govuk-template__header")).to_be_hidden()
    expect(page.locator(".govuk-footer")).to_be_hidden()
    expect(page.get_by_role("button", name="Print this record")).to_be_hidden()
    expect(record).to_be_visible()
