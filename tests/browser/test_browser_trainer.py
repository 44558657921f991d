"""A trainer's pages in Chromium: a course set up by hand, then read; axe and the HTML checker."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from journeys import PASSWORD, finish, heading, sign_in, start
from nu_checker import check_html
from playwright.sync_api import expect
from test_browser_accessibility import AxeAudit

from simulator.accounts import create_user


def in_app(live_app, work):
    """Run `work` in an app context off Playwright's thread (see conftest's `trainee`)."""

    def run():
        with live_app.app_context():
            return work()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture(scope="module")
def trainer(live_app):
    """Create a trainer account and return its username."""
    in_app(live_app, lambda: create_user("course-trainer", PASSWORD, "trainer"))
    return "course-trainer"


def test_a_trainer_sets_up_a_course_and_reads_its_results(page, trainer, html_pages):
    """Create a cohort, import trainees, assign the scenario, follow a trainee's attempt."""
    audit = AxeAudit(page)
    sign_in(page, trainer)
    page.get_by_role("link", name="Cohorts").click()
    heading(page, "Cohorts")
    audit.check("cohorts")
    page.get_by_role("button", name="Create a cohort").click()
    page.get_by_role("button", name="Create the cohort").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    audit.check("new cohort with errors")
    page.get_by_label("Name", exact=True).fill("Spring intake")
    page.get_by_label("Recruits").check()
    page.get_by_role("button", name="Create the cohort").click()
    heading(page, "Spring intake")
    page.get_by_role("button", name="Add trainees from a list").click()
    page.get_by_label("Paste the list").fill("recruit-a,Ann Archer\nrecruit b,Bad Line\n")
    page.get_by_role("button", name="Add these trainees").click()
    expect(page.get_by_text("The list was not used: no one was added")).to_be_visible()
    expect(page.get_by_text("A username has no spaces or commas.").first).to_be_visible()
    audit.check("import refused")
    page.get_by_label("Paste the list").fill("recruit-a,Ann Archer,Kent Police,KP101\n")
    page.get_by_role("button", name="Add these trainees").click()
    password = page.locator("td code.govuk-\\!-font-weight-bold").first.inner_text().strip()
    assert len(password) == 19
    audit.check("one-time passwords")
    page.goto("/train/")
    page.get_by_role("link", name="Spring intake").click()
    page.get_by_role("button", name="Set a scenario").click()
    page.get_by_label("Scenario").select_option(
        label=page.get_by_label("Scenario").locator("option").nth(1).inner_text()
    )
    page.get_by_label("Always the current version").check()
    page.get_by_role("button", name="Set the scenario").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    audit.check("assignment without attempts")
    assignment_url = page.url
    play_as_new_trainee(page.context.browser, page, password)
    page.goto(assignment_url)
    expect(page.get_by_role("link", name="Ann Archer", exact=True)).to_be_visible()
    audit.check("assignment results")
    page.get_by_role("link", name="Ann Archer", exact=True).click()
    heading(page, "Ann Archer")
    audit.check("person")
    page.get_by_role("link", name=re.compile("^Debrief of attempt 1")).first.click()
    expect(page.get_by_text("read-only", exact=False).first).to_be_visible()
    audit.check("read-only debrief")
    page.goto(assignment_url + "/analytics")
    audit.check("assignment analytics")
    page.goto("/train/audit")
    expect(page.get_by_text("Spring intake", exact=False).first).to_be_visible()
    audit.check("audit log")
    assert not audit.reports, audit.summary()
    trainer_pages = {k: v for k, v in html_pages.pages.items() if "/train" in k}
    assert len(trainer_pages) >= 8, sorted(trainer_pages)
    problems = check_html(trainer_pages)
    assert not problems, "\n".join(problems)


def play_as_new_trainee(browser, trainer_page, password):
    """Sign in as the imported trainee, change the one-time password, play the assignment."""
    context = browser.new_context(base_url=trainer_page.url.split("/train")[0])
    page = context.new_page()
    page.goto("/sign-in")
    page.get_by_label("Username").fill("recruit-a")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    heading(page, "password")
    page.get_by_label("Your one-time password").fill(password)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Type the new password again").fill(PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    heading(page, "Scenarios")
    expect(page.get_by_role("heading", name="Assigned to you")).to_be_visible()
    page.get_by_role("link", name="A call to a flat").first.click()
    start(page)
    finish(page)
    context.close()
