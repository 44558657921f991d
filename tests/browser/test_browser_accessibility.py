"""Every page of a play-through passes axe-core's WCAG 2.2 AA checks."""

from axe_playwright_python.sync_playwright import Axe
from journeys import (
    ENDING,
    FIRST_CHOICE,
    SECOND_CHOICE,
    carry_on,
    choose,
    continue_step,
    heading,
    open_briefing,
    sign_in,
    start,
)
from playwright.sync_api import expect

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}


class AxeAudit:
    """Run axe on each page visited and keep the violations found, by page."""

    def __init__(self, page):
        self.page = page
        self.axe = Axe()
        self.reports = {}

    def check(self, name):
        """Audit the page as it is now."""
        results = self.axe.run(self.page, options=AXE_OPTIONS)
        if results.violations_count:
            self.reports[name] = results.generate_report()

    def summary(self):
        """Return every violation report, one page after another."""
        return "\n\n".join(f"== {name}\n{report}" for name, report in self.reports.items())


def test_every_page_of_a_play_through_passes_axe(page, trainee):
    """Sign-in, catalogue, briefing, play, feedback and debrief have no WCAG 2.2 AA violations."""
    audit = AxeAudit(page)
    page.goto("/sign-in")
    audit.check("sign-in")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    audit.check("sign-in with errors")
    sign_in(page, trainee)
    audit.check("catalogue")
    open_briefing(page)
    audit.check("briefing")
    start(page)
    audit.check("play: decision")
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    audit.check("play: decision with errors")
    choose(page, FIRST_CHOICE)
    audit.check("feedback")
    carry_on(page)
    expect(page.get_by_text("What do you do?")).to_have_count(0)
    audit.check("play: step")
    continue_step(page)
    choose(page, SECOND_CHOICE)
    carry_on(page, "See your debrief")
    heading(page, ENDING)
    audit.check("debrief")
    page.get_by_text(f"A good choice: {FIRST_CHOICE}").click()
    audit.check("debrief with a decision unfolded")
    page.get_by_role("link", name="Group them by National Decision Model stage").click()
    audit.check("debrief grouped by stage")
    page.get_by_role("link", name="Back to the list of scenarios").click()
    open_briefing(page)
    expect(page.get_by_role("heading", name="Your attempts")).to_be_visible()
    audit.check("briefing with a history of attempts")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text("What do you do?")).to_be_visible()
    page.goto("/scenarios/browser-doorstep")
    audit.check("briefing with an attempt in progress")
    page.get_by_role("button", name="Abandon it and start again later").click()
    expect(page.get_by_text("You abandoned that attempt")).to_be_visible()
    audit.check("briefing after abandoning")
    page.goto("/no-such-page")
    audit.check("page not found")
    assert not audit.reports, audit.summary()


OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_pages_reflow_at_320_pixels_without_sideways_scrolling(open_page, trainee):
    """At 320 CSS pixels wide (WCAG 1.4.10, 400% zoom) no page scrolls sideways."""
    page = open_page(viewport={"width": 320, "height": 640})
    overflows = {}

    def measure(name):
        if (extra := page.evaluate(OVERFLOW)) > 0:
            overflows[name] = extra

    page.goto("/sign-in")
    measure("sign-in")
    sign_in(page, trainee)
    measure("catalogue")
    open_briefing(page)
    measure("briefing")
    start(page)
    measure("play: decision")
    choose(page, FIRST_CHOICE)
    measure("feedback")
    carry_on(page)
    continue_step(page)
    choose(page, SECOND_CHOICE)
    carry_on(page, "See your debrief")
    heading(page, ENDING)
    measure("debrief")
    page.get_by_role("link", name="Back to the list of scenarios").click()
    open_briefing(page)
    measure("briefing with a history of attempts")
    assert not overflows, f"pages wider than 320px, by this many pixels: {overflows}"


def test_the_skip_link_comes_first_and_moves_focus_to_the_content(page):
    """The first Tab shows 'Skip to main content'; Enter moves focus to <main>."""
    page.goto("/sign-in")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
