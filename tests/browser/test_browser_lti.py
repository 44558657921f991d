"""An LTI 1.3 launch in Chromium: from a real platform (lti1p3platform) on loopback, through
the tool's OIDC login and the platform's id_token form, to the scenario's briefing; and the
admin's LTI pages, by axe and the HTML checker."""

import re

import pytest
from journeys import PASSWORD, SCENARIO, heading, sign_in
from lti_platform import CLIENT_ID, DEPLOYMENT_ID, ISSUER, LEARNER, Platform
from nu_checker import check_html
from playwright.sync_api import expect
from test_browser_accessibility import AxeAudit
from test_browser_admin import sent_since
from test_browser_trainer import in_app

from simulator import accounts, lti

SCENARIO_KEY = "browser-doorstep"
OWNER = "lti-platform-owner"


def register(platform):
    """Register the platform with the tool, owned by a new admin, and make the tool's key."""
    owner = accounts.create_user(OWNER, PASSWORD, "admin")
    urls = (f"{platform.url}/auth", f"{platform.url}/token", f"{platform.url}/jwks")
    lti.add_platform(owner, ISSUER, CLIENT_ID, [DEPLOYMENT_ID], *urls)
    lti.generate_key()


@pytest.fixture(scope="module")
def platform(live_app, base_url):
    """Run an LMS on loopback that launches the live app, registered in its database."""
    running = Platform(tool_url=base_url).start()
    in_app(live_app, lambda: register(running))
    yield running
    running.stop()


def test_a_learner_launched_from_the_lms_lands_signed_in_on_the_briefing(page, platform):
    """Following a course's link signs the learner in on the scenario's briefing, axe-clean."""
    platform.next_launch = {
        "roles": [LEARNER],
        "name": "Robin Learner",
        "context": ("course-browser", "Safeguarding in the browser"),
        "custom": {"scenario": SCENARIO_KEY},
    }
    page.goto(f"{platform.url}/launch/browser-learner-1")
    page.get_by_role("button", name="Continue to the tool").click()
    expect(page).to_have_url(re.compile(rf"/scenarios/{SCENARIO_KEY}$"))
    heading(page, SCENARIO)
    expect(page.get_by_text("Briefing", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Start")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    audit = AxeAudit(page)
    audit.check("briefing after an LTI launch")
    assert not audit.reports, audit.summary()


def test_the_admin_lti_pages_pass_axe_and_the_html_checker(page, platform, html_pages):
    """The platform list, the registration form with its errors, and the change form."""
    audit, start = AxeAudit(page), len(html_pages.sent)
    sign_in(page, OWNER)
    page.goto("/admin/")
    page.get_by_role("link", name="LTI platforms").click()
    heading(page, "LTI platforms")
    expect(page.get_by_text(f"{platform.url}/jwks")).to_be_visible()
    audit.check("LTI platforms")
    page.get_by_role("link", name="Register a platform").click()
    page.get_by_label("Token URL").fill("http://lms.example/token")
    page.get_by_role("button", name="Register the platform").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    audit.check("register a platform, with errors")
    page.get_by_role("link", name="The token URL must start https://").click()
    expect(page.get_by_label("Token URL")).to_be_focused()
    page.get_by_role("link", name="LTI platforms").click()
    page.get_by_role("link", name=f"Change the registration of {ISSUER}").click()
    heading(page, f"Change the registration of {ISSUER}")
    expect(page.get_by_label("Deployment IDs")).to_have_value(DEPLOYMENT_ID)
    audit.check("change a registration")
    assert not audit.reports, audit.summary()
    problems = check_html(sent_since(html_pages, start))
    assert not problems, "\n".join(problems)
