"""What a trainee does in the browser, step by step, by visible labels and names."""

import re

from playwright.sync_api import expect

PASSWORD = "correct horse battery"
SCENARIO = "A call to a flat"
FIRST_CHOICE = "Speak to her alone, away from her husband."
SECOND_CHOICE = "Tell her your priority is her safety and explain the support available."
FIRST_OPTIONS = (FIRST_CHOICE, "Run her name through immigration systems first.")
SECOND_OPTIONS = (SECOND_CHOICE, "Tell her you will have to pass her details to the Home Office.")
REASON = "She may not speak freely in front of him."
ENDING = "Victim safeguarded"
PICTURE = "The open front door of a ground-floor flat."


def heading(page, name):
    """Return the page's main heading, checking it contains `name`."""
    h1 = page.get_by_role("heading", level=1)
    expect(h1).to_contain_text(name)
    return h1


def sign_in(page, username, password=PASSWORD):
    """Sign in from the sign-in page and land on the catalogue."""
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    heading(page, "Scenarios")


def open_briefing(page):
    """Follow the scenario's title from the catalogue to its briefing."""
    page.get_by_role("link", name=SCENARIO, exact=True).click()
    heading(page, SCENARIO)
    expect(page.get_by_text("Briefing", exact=True)).to_be_visible()


def start(page):
    """Press Start on the briefing and land on the first decision."""
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    expect(page.get_by_text("What do you do?")).to_be_visible()
    expect(page.get_by_role("img", name=PICTURE)).to_be_visible()


def choose(page, label, reason=None):
    """Pick a choice by its label, optionally give a reason, and press Continue."""
    page.get_by_label(label).check()
    if reason is not None:
        page.get_by_label("Why did you choose this?").fill(reason)
    page.get_by_role("button", name="Continue", exact=True).click()
    heading(page, "Feedback on your decision")
    expect(page.get_by_text(f"You chose: {label}")).to_be_visible()


def carry_on(page, name="Continue"):
    """Press the feedback page's Continue (or See your debrief): a link that is a button.

    Wait until the feedback has gone, so that a later "Continue" button is never this one
    again while htmx is still swapping the next page in.
    """
    page.get_by_role("button", name=name, exact=True).click()
    expect(page.get_by_role("heading", name="Feedback on your decision")).to_have_count(0)


def continue_step(page):
    """Press Continue on a step that offers no choice."""
    expect(page.get_by_text("What do you do?")).to_have_count(0)
    page.get_by_role("button", name="Continue", exact=True).click()


def play_to_the_end(page):
    """Play the test scenario from the briefing to its debrief by the safe path."""
    start(page)
    finish(page)


def finish(page):
    """Play from the first decision to the debrief by the safe path."""
    choose(page, FIRST_CHOICE, REASON)
    carry_on(page)
    continue_step(page)
    choose(page, SECOND_CHOICE)
    carry_on(page, "See your debrief")
    heading(page, ENDING)
    expect(page).to_have_url(re.compile(r"/attempts/\d+/debrief$"))
