"""A trainee plays a scenario to its end in a real browser, with and without JavaScript."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from journeys import (
    ENDING,
    FIRST_CHOICE,
    FIRST_OPTIONS,
    PASSWORD,
    PICTURE,
    REASON,
    SCENARIO,
    SECOND_CHOICE,
    SECOND_OPTIONS,
    carry_on,
    choose,
    continue_step,
    finish,
    heading,
    open_briefing,
    play_to_the_end,
    sign_in,
    start,
)
from playwright.sync_api import expect
from test_browser_accessibility import AxeAudit


def test_play_to_the_debrief_with_javascript(page, trainee):
    """A trainee signs in, reads the briefing and plays to the debrief with htmx on."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    picture = page.get_by_role("img", name=PICTURE)
    assert picture.evaluate("image => image.complete && image.naturalWidth > 0")
    finish(page)
    expect(page.get_by_text("Passed").first).to_be_visible()
    expect(page.get_by_text(REASON)).to_be_hidden()  # good decisions are folded away
    page.get_by_text(f"A good choice: {FIRST_CHOICE}").click()
    expect(page.get_by_text(REASON)).to_be_visible()


def test_play_to_the_debrief_without_javascript(page_without_js, trainee):
    """Every step works as plain forms and links when JavaScript is off."""
    page = page_without_js
    sign_in(page, trainee)
    open_briefing(page)
    play_to_the_end(page)
    page.get_by_text(f"A good choice: {FIRST_CHOICE}").click()  # <details> needs no script
    expect(page.get_by_text(REASON)).to_be_visible()


def test_htmx_swaps_only_the_play_region_and_focuses_its_heading(page, trainee):
    """With JavaScript, a choice replaces the play region in place, updates the URL and
    moves focus to the new heading. The choice's post alone brings its feedback: one
    request, no redirect to follow."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    page.evaluate("window.notReloaded = true")
    sent = []
    page.on("request", lambda request: sent.append((request.method, request.url)))
    choose(page, FIRST_CHOICE)
    expect(page).to_have_url(re.compile(r"/attempts/\d+/feedback/1$"))
    assert [method for method, url in sent if "/attempts/" in url] == ["POST"]
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page).to_have_title(f"Feedback on decision 1: {SCENARIO} – Safe to Report")
    assert page.evaluate("window.notReloaded") is True
    carry_on(page)
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Step 2")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert page.evaluate("window.notReloaded") is True


def attempt_requests(sent):
    """Return the methods and paths of the requests that start, play or end an attempt."""
    return [(method, url.split("/", 3)[-1]) for method, url in sent if "attempts" in url]


def test_start_and_the_debrief_come_with_no_second_request(page, trainee):
    """With JavaScript, Start shows the first step in place of the briefing: one request
    (its POST), the attempt's address and title, focus on its heading. The last
    feedback brings the debrief: See your debrief shows it with no request, and its Try
    again starts the next attempt in place the same way."""
    sign_in(page, trainee)
    open_briefing(page)
    page.evaluate("window.notReloaded = true")
    sent = []
    page.on("request", lambda request: sent.append((request.method, request.url)))
    start(page)
    assert [(method, path.split("/")[-1]) for method, path in attempt_requests(sent)] == [
        ("POST", "attempts")
    ]
    expect(page).to_have_title(f"Step 1: {SCENARIO} – Safe to Report")
    expect(heading(page, "Step 1")).to_be_focused()
    expect(page.get_by_role("link", name="All scenarios")).to_have_count(0)
    first = page.url
    choose(page, FIRST_CHOICE, REASON)
    carry_on(page)
    continue_step(page)
    choose(page, SECOND_CHOICE)
    sent.clear()
    carry_on(page, "See your debrief")
    expect(heading(page, ENDING)).to_be_focused()
    expect(page).to_have_url(re.compile(r"/attempts/\d+/debrief$"))
    expect(page).to_have_title(re.compile(rf"^Debrief: {re.escape(SCENARIO)}"))
    assert attempt_requests(sent) == []
    page.get_by_role("button", name="Try again").click()
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    expect(heading(page, "Step 1")).to_be_focused()
    assert page.url != first
    assert [method for method, _path in attempt_requests(sent)] == ["POST"]
    assert page.evaluate("window.notReloaded") is True
    page.go_back()
    expect(page).to_have_url(re.compile(r"/attempts/\d+/debrief$"))
    heading(page, ENDING)


def steps_of(live_app, username):
    """Return the steps of the person's latest attempt, in order (read in a thread of its
    own: see the `trainee` fixture)."""
    from sqlmodel import select

    from simulator.db import db
    from simulator.models import Attempt, AttemptStep, User

    def read():
        with live_app.app_context():
            attempt = db.session.exec(
                select(Attempt)
                .join(User, User.id == Attempt.user_id)
                .where(User.username == username)
                .order_by(Attempt.id.desc())
            ).first()
            statement = select(AttemptStep).where(AttemptStep.attempt_id == attempt.id)
            return db.session.exec(statement.order_by(AttemptStep.step_number)).all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def test_continue_after_feedback_shows_the_next_step_with_no_request(page, trainee, live_app):
    """In practice the next step comes with its feedback: Continue shows it at once (its
    title, address, focus and working form), and the time to decide counts from then,
    not from the feedback."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    choose(page, FIRST_CHOICE)
    page.evaluate("window.notReloaded = true")
    sent = []
    page.on("request", lambda request: sent.append((request.method, request.url)))
    page.wait_for_timeout(1500)  # reading the feedback
    carry_on(page)
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    expect(page).to_have_title(re.compile(rf"^Step 2: {re.escape(SCENARIO)} – Safe to Report$"))
    expect(heading(page, "Step 2")).to_be_focused()
    assert [url for _method, url in sent if "/attempts/" in url] == []
    continue_step(page)
    heading(page, "Step 3")
    assert [method for method, url in sent if "/attempts/" in url] == ["POST"]
    assert page.evaluate("window.notReloaded") is True
    first, second = steps_of(live_app, trainee)
    waited = (second.recorded_at - first.recorded_at).total_seconds() * 1000
    assert waited >= 1500 and second.elapsed_ms < waited - 1000


def test_back_after_continue_reloads_the_feedback_and_forward_the_step(page, trainee):
    """The step Continue showed has its own place in the history: Back reloads the
    feedback whole from the server, and Forward the step."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    choose(page, FIRST_CHOICE)
    carry_on(page)
    heading(page, "Step 2")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/attempts/\d+/feedback/1$"))
    heading(page, "Feedback on your decision")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.go_forward()
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    heading(page, "Step 2")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_back_after_a_swap_reloads_the_whole_page(page, trainee):
    """Back after an htmx step reloads the page from the server: whole, and up to date."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    choose(page, FIRST_CHOICE)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    expect(page.get_by_role("banner")).to_contain_text("Safe to Report")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    heading(page, "Step 2")
    expect(page.get_by_text("You go inside.")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None


def test_signed_out_mid_scenario_lands_on_the_whole_sign_in_page(page, trainee):
    """If the session ends mid-scenario, following a link shows the whole sign-in page,
    not one nested inside the play region."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    choose(page, FIRST_CHOICE, REASON)
    carry_on(page)
    continue_step(page)
    choose(page, SECOND_CHOICE)
    # Loaded whole, the feedback has not brought the debrief: htmx asks the server for it.
    page.reload()
    heading(page, "Feedback on your decision")
    page.context.clear_cookies()
    carry_on(page, "See your debrief")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    heading(page, "Sign in")
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_an_expired_form_shows_the_error_page_in_place_of_the_content(page, trainee):
    """A step posted after the session ended shows the plain-words error page once."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    page.context.clear_cookies()
    page.get_by_label(FIRST_CHOICE).check()
    page.get_by_role("button", name="Continue", exact=True).click()
    heading(page, "This page had expired")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)


def test_missing_choice_shows_an_error_summary_with_javascript(page, trainee):
    """Pressing Continue without a choice shows the error summary, focused, in place."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    page.get_by_role("button", name="Continue", exact=True).click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_visible()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    summary.get_by_role("link", name="Select what you would do").click()
    expect(page.locator("#choice")).to_be_focused()  # the first option this attempt shows


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_keyboard_alone_plays_a_whole_scenario(open_page, trainee, javascript):
    """Tab, Space and Enter get a trainee from sign-in to the debrief without a mouse."""
    page = open_page(java_script_enabled=javascript)
    keys = Keyboard(page, javascript)
    page.goto("/sign-in")
    keys.tab_to("Username").type(trainee)
    keys.tab_to("Password").type(PASSWORD)
    keys.press("Enter")
    heading(page, "Scenarios")
    keys.tab_to(SCENARIO).press("Enter")
    heading(page, SCENARIO)
    keys.tab_to("Start").press("Enter")
    expect(page.get_by_text("What do you do?")).to_be_visible()
    keys.select(FIRST_CHOICE, FIRST_OPTIONS)
    keys.tab_to("Why did you choose this?").type(REASON)
    keys.tab_to("Continue").press("Enter")
    keys.arrive_at("Feedback on your decision")
    # A link that looks like a button answers Space, as a button does (GOV.UK's script);
    # without JavaScript it is a plain link, which Enter follows.
    keys.tab_to("Continue").press("Space" if javascript else "Enter")
    keys.arrive_at("Step 2")
    expect(page.get_by_text("What do you do?")).to_have_count(0)
    keys.tab_to("Continue").press("Enter")
    keys.arrive_at("Step 3")
    keys.select(SECOND_CHOICE, SECOND_OPTIONS)
    keys.tab_to("Continue").press("Enter")
    keys.arrive_at("Feedback on your decision")
    keys.tab_to("See your debrief").press("Space" if javascript else "Enter")
    keys.arrive_at(ENDING)


# The accessible name of the focused element, near enough for finding controls.
FOCUSED_NAME = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
  return (label || el.getAttribute("aria-label") || el.innerText || el.value || "").trim();
}"""


class Keyboard:
    """Move through a page with Tab only, as a keyboard user does."""

    LIMIT = 40

    def __init__(self, page, javascript=True):
        self.page = page
        self.javascript = javascript

    def tab_to(self, name):
        """Press Tab until the focused control's name starts with `name`."""
        seen = []
        for _ in range(self.LIMIT):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(FOCUSED_NAME)
            if focused.startswith(name):
                return self
            seen.append(focused)
        raise AssertionError(f"Tab never reached {name!r}; it went through {seen}")

    def select(self, name, options):
        """Tab into a group of radios, then move with the arrow keys to `name` and check it.

        Tab stops once in a group, at whichever option the attempt's shuffle shows first.
        """
        seen = []
        for _ in range(self.LIMIT):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(FOCUSED_NAME)
            if focused in options:
                break
            seen.append(focused)
        else:
            raise AssertionError(
                f"Tab never reached the options {options}; it went through {seen}"
            )
        for _ in options:
            if self.page.evaluate(FOCUSED_NAME) == name:
                self.press("Space")  # checks it, whether or not the arrows already did
                return self
            self.press("ArrowDown")
        raise AssertionError(f"the arrow keys never reached {name!r}")

    def arrive_at(self, name):
        """Wait for the heading `name`; with JavaScript, htmx swaps it in and focuses it."""
        h1 = self.page.get_by_role("heading", level=1)
        expect(h1).to_contain_text(name)
        if self.javascript:
            expect(h1).to_be_focused()
        return self

    def press(self, key):
        """Press a key on the focused control."""
        self.page.keyboard.press(key)
        return self

    def type(self, text):
        """Type into the focused control."""
        self.page.keyboard.type(text)
        return self


def test_a_stale_post_is_announced_by_its_notice(page, trainee):
    """A choice posted from an out-of-date page records nothing, and with htmx the notice
    saying so takes focus, so a screen reader reads it before the heading."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    other = page.context.new_page()
    other.goto(page.url)
    choose(other, FIRST_CHOICE)
    other.close()
    page.get_by_label("Run her name through immigration systems first.").check()
    page.get_by_role("button", name="Continue", exact=True).click()
    notice = page.locator(".govuk-notification-banner")
    expect(notice).to_contain_text("nothing changed")
    expect(notice).to_be_focused()


def attempts_of(live_app, username):
    """Return how many attempts the person has (read in a thread of its own)."""
    from sqlmodel import func, select

    from simulator.db import db
    from simulator.models import Attempt, User

    def read():
        with live_app.app_context():
            statement = select(func.count()).select_from(Attempt).join(User)
            return db.session.exec(statement.where(User.username == username)).one()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def offline_page(open_page):
    """Open a page with JavaScript that fails the test on a script error, but not on the
    console's report of a request that got no answer (which these tests mean to cause)."""
    page = open_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return page, problems


def test_a_step_sent_with_no_connection_says_so_and_goes_through_once_sent_again(
    open_page, trainee, live_app
):
    """With JavaScript, a choice sent while the connection is down is not lost in silence:
    a banner says what happened and takes focus, the form keeps the choice and the reason,
    and nothing is recorded. Sent again once back online, the step is recorded once."""
    page, problems = offline_page(open_page)
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    page.get_by_label(FIRST_CHOICE).check()
    page.get_by_label("Why did you choose this?").fill(REASON)
    page.context.set_offline(True)
    page.get_by_role("button", name="Continue", exact=True).click()
    banner = page.locator("[data-app-lost]")
    expect(banner).to_contain_text("The connection was lost before the service answered")
    expect(banner).to_contain_text("press Continue again")
    expect(page.get_by_role("region", name="Important")).to_be_focused()  # it is the banner
    expect(page.get_by_label(FIRST_CHOICE)).to_be_checked()
    expect(page.get_by_label("Why did you choose this?")).to_have_value(REASON)
    audit = AxeAudit(page)
    audit.check("a step whose post got no answer")
    assert not audit.reports, audit.summary()
    assert steps_of(live_app, trainee) == []
    page.context.set_offline(False)
    page.wait_for_timeout(1000)  # GOV.UK's button ignores a second press within a second
    page.get_by_role("button", name="Continue", exact=True).click()
    heading(page, "Feedback on your decision")
    expect(page.get_by_text(f"You chose: {FIRST_CHOICE}")).to_be_visible()
    expect(page.get_by_text("The connection was lost")).to_have_count(0)
    expect(page.get_by_text("already recorded")).to_have_count(0)
    assert len(steps_of(live_app, trainee)) == 1
    assert not problems, problems


def test_a_step_whose_answer_was_lost_is_recorded_once_when_sent_again(
    open_page, trainee, live_app
):
    """The step reached the service and was recorded, but its answer never came back:
    the banner says the connection was lost, and sending the step again records nothing
    more and says the answer was already recorded, with its feedback."""
    page, problems = offline_page(open_page)
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    lost = []

    def lose_the_answer(route):
        if route.request.method != "POST" or lost:
            route.continue_()
            return
        route.fetch()  # the service gets the step and records it
        lost.append(True)
        route.abort("connectionreset")

    page.route(re.compile(r"/attempts/\d+$"), lose_the_answer)
    page.get_by_label(FIRST_CHOICE).check()
    page.get_by_label("Why did you choose this?").fill(REASON)
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(page.locator("[data-app-lost]")).to_contain_text("nothing is recorded twice")
    assert len(steps_of(live_app, trainee)) == 1
    page.wait_for_timeout(1000)  # GOV.UK's button ignores a second press within a second
    page.get_by_role("button", name="Continue", exact=True).click()
    heading(page, "Feedback on your decision")
    notice = page.locator(".govuk-notification-banner")
    expect(notice).to_contain_text("That answer was already recorded")
    expect(notice).to_be_focused()
    expect(page.get_by_text("The connection was lost")).to_have_count(0)
    assert len(steps_of(live_app, trainee)) == 1
    assert not problems, problems


def test_start_sent_with_no_connection_says_so_and_starts_once_sent_again(
    open_page, trainee, live_app
):
    """Start pressed while the connection is down says so; pressed again, one attempt."""
    page, problems = offline_page(open_page)
    sign_in(page, trainee)
    open_briefing(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="Start").click()
    banner = page.locator("[data-app-lost]")
    expect(banner).to_contain_text("press Start again")
    expect(banner).to_be_focused()
    page.context.set_offline(False)
    page.wait_for_timeout(1000)  # GOV.UK's button ignores a second press within a second
    start(page)
    expect(page.get_by_text("The connection was lost")).to_have_count(0)
    assert attempts_of(live_app, trainee) == 1
    assert not problems, problems


def test_continue_with_no_connection_says_so_and_goes_on_once_back(open_page, trainee):
    """A feedback page loaded whole asks for the next step at Continue: with the connection
    down the banner says so (there was nothing sent to record), and once back, Continue
    goes on."""
    page, problems = offline_page(open_page)
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    choose(page, FIRST_CHOICE, REASON)
    page.reload()  # whole, so Continue asks the service for the next step
    heading(page, "Feedback on your decision")
    page.context.set_offline(True)
    page.get_by_role("button", name="Continue").click()
    banner = page.locator("[data-app-lost]")
    expect(banner).to_contain_text("Check your connection, then press Continue again.")
    expect(banner).not_to_contain_text("recorded")
    page.context.set_offline(False)
    page.wait_for_timeout(1000)  # GOV.UK's button ignores a second press within a second
    carry_on(page)
    heading(page, "Step 2")
    expect(banner).to_have_count(0)
    assert not problems, problems


def test_the_reason_box_counts_down_as_you_type(page, trainee):
    """With JavaScript, the reason box says how many characters remain as the trainee types."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    page.get_by_label("Why did you choose this?").press_sequentially(REASON)
    remaining = f"You have {5000 - len(REASON):,} characters remaining"
    expect(page.locator(".govuk-character-count__status")).to_have_text(remaining)


def test_a_failed_debrief_focuses_its_heading_not_the_sharing_banner(page, trainee):
    """After a sharing failure, See your debrief moves focus to the ending's heading, so a
    screen reader reads the ending and the result before the red banner below them."""
    sign_in(page, trainee)
    open_briefing(page)
    start(page)
    choose(page, "Run her name through immigration systems first.")
    carry_on(page)
    continue_step(page)
    choose(page, SECOND_CHOICE)
    carry_on(page, "See your debrief")
    expect(heading(page, ENDING)).to_be_focused()
