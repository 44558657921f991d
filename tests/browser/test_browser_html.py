"""Every HTML page the server sends is valid HTML, by the Nu HTML Checker."""

from journeys import finish, heading, open_briefing, sign_in, start
from nu_checker import check_html
from playwright.sync_api import expect


def visit_every_kind_of_page(page, username):
    """Walk through each page, error states included, without JavaScript."""
    page.goto("/sign-in")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    sign_in(page, username)
    open_briefing(page)
    start(page)
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    page.goto("/")
    expect(page.get_by_text("In progress")).to_be_visible()
    open_briefing(page)
    page.get_by_role("button", name="Resume").click()
    finish(page)
    page.goto("/")
    expect(page.get_by_text("Best result")).to_be_visible()
    page.goto("/no-such-page")
    heading(page, "Page not found")
    page.get_by_role("button", name="Sign out").click()
    heading(page, "Sign in")


def test_every_page_sent_is_valid_html(page_without_js, trainee, html_pages):
    """The Nu HTML Checker finds no error in any full page sent during the session."""
    visit_every_kind_of_page(page_without_js, trainee)
    assert len(html_pages.pages) >= 8, sorted(html_pages.pages)
    problems = check_html(html_pages.pages)
    assert not problems, "\n".join(problems)
