"""The admin's pages and the public pages in Chromium: axe on each, then the HTML checker."""

import re

import pytest
from journeys import PASSWORD, heading, sign_in
from nu_checker import check_html
from playwright.sync_api import expect
from test_browser_accessibility import OVERFLOW, AxeAudit
from test_browser_trainer import in_app

from simulator import accounts
from simulator.db import db

ADMIN = "site-admin"
PERSON = "pat-officer"
PERSON_NAME = "Pat Officer"
THROTTLED = "locked-out"


def make_account(username, role, display_name=""):
    """Create an account with a name (run it through `in_app`)."""
    person = accounts.create_user(username, PASSWORD, role)
    person.display_name = display_name
    db.session.commit()


@pytest.fixture(scope="module")
def admin(live_app):
    """Create an admin and a trainee for it to look after; return the admin's username."""
    in_app(live_app, lambda: make_account(ADMIN, "admin", "Sam Admin"))
    in_app(live_app, lambda: make_account(PERSON, "trainee", PERSON_NAME))
    in_app(live_app, lambda: make_account(THROTTLED, "trainee"))
    return ADMIN


def sent_since(html_pages, start):
    """Return every page sent since the `start`th, redirects left out, each by its own name."""
    return {
        f"{number:03} {key}": html
        for number, (key, html) in enumerate(html_pages.sent[start:], start=1)
        if not re.search(r"-> 30\d$", key)
    }


def kinds_of(pages):
    """Return each page's 'METHOD /path -> status', ids as N and without the query."""
    return {re.sub(r"/\d+", "/N", re.sub(r"\?\S*", "", name.split(" ", 1)[1])) for name in pages}


def fail_to_sign_in_until_throttled(page, username):
    """Type a wrong password until the sign-in asks to wait (after five failures)."""
    for _ in range(12):
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("not the password")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_load_state()
        if answer.value.status == 429:
            expect(page.get_by_text("Too many failed sign-ins").first).to_be_visible()
            return
    raise AssertionError("twelve wrong passwords and the sign-in never asked to wait")


def test_the_public_pages_pass_axe_and_the_html_checker(page, admin, html_pages):
    """Sign-in (with errors, throttled), privacy, accessibility and a 404, signed out."""
    audit, start = AxeAudit(page), len(html_pages.sent)
    page.goto("/sign-in")
    audit.check("sign-in")
    page.get_by_label("Username").fill(admin)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Enter a correct username and password").first).to_be_visible()
    audit.check("sign-in refused")
    fail_to_sign_in_until_throttled(page, THROTTLED)
    audit.check("sign-in throttled")
    page.get_by_role("link", name="Privacy").click()
    heading(page, "Privacy notice")
    audit.check("privacy notice")
    page.get_by_role("link", name="Accessibility").click()
    heading(page, "Accessibility statement")
    audit.check("accessibility statement")
    page.goto("/nothing-here")
    heading(page, "Page not found")
    audit.check("page not found, signed out")
    assert not audit.reports, audit.summary()
    seen = sent_since(html_pages, start)
    expected = {
        "GET /sign-in -> 200",
        "POST /sign-in -> 422",
        "POST /sign-in -> 429",
        "GET /privacy -> 200",
        "GET /accessibility -> 200",
        "GET /nothing-here -> 404",
    }
    assert kinds_of(seen) == expected, sorted(seen)
    problems = check_html(seen)
    assert not problems, "\n".join(problems)


def to_accounts(page):
    """Follow the menu's Accounts link to the account list."""
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Accounts").click()
    heading(page, "Accounts")


def open_account(page, name):
    """Search the account list for a person and open their page."""
    to_accounts(page)
    page.get_by_label("Username or name").fill(name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=name, exact=True).click()
    heading(page, name)


def test_an_admin_walks_every_admin_page(page, admin, html_pages):
    """List, search, create, import, an account, reset, role, disable, unlock and erase."""
    audit, start = AxeAudit(page), len(html_pages.sent)
    sign_in(page, admin)
    to_accounts(page)
    audit.check("accounts")
    page.get_by_label("Username or name").fill("pat")
    page.get_by_label("Role").select_option("trainee")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=PERSON_NAME)).to_be_visible()
    audit.check("accounts searched")
    page.get_by_label("Username or name").fill("no one by this name")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No account matches.")).to_be_visible()
    audit.check("accounts searched, none found")

    page.get_by_role("link", name="Add an account").click()
    heading(page, "Add an account")
    audit.check("new account")
    page.get_by_role("button", name="Add the account").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    audit.check("new account with errors")
    page.get_by_label("Username").fill("new-trainer")
    page.get_by_label("Name", exact=True).fill("Nat Trainer")
    page.get_by_label("Trainer").check()
    page.get_by_role("button", name="Add the account").click()
    heading(page, "One-time password for Nat Trainer")
    audit.check("new account's one-time password")
    page.get_by_role("link", name="Go to Nat Trainer’s account").click()
    heading(page, "Nat Trainer")

    to_accounts(page)
    page.get_by_role("link", name="Add trainee accounts from a list").click()
    heading(page, "Add trainee accounts from a list")
    audit.check("import")
    page.get_by_label("Paste the list").fill("list-one,Lee One\nbad name,Bad Line\n")
    page.get_by_role("button", name="Add these accounts").click()
    expect(page.get_by_text("The list was not used: no account was made")).to_be_visible()
    audit.check("import refused")
    page.get_by_label("Paste the list").fill("list-one,Lee One\nlist-two,Lou Two,Kent,KP2\n")
    page.get_by_role("button", name="Add these accounts").click()
    heading(page, "2 accounts added")
    audit.check("import result")
    page.get_by_role("link", name="Go to the accounts").click()

    open_account(page, PERSON_NAME)
    audit.check("account")
    page.get_by_role("link", name=re.compile("^Reset the password")).click()
    heading(page, f"Reset the password of {PERSON_NAME}?")
    audit.check("reset password")
    page.get_by_role("button", name="Reset the password").click()
    heading(page, f"One-time password for {PERSON_NAME}")
    audit.check("reset password's one-time password")
    page.get_by_role("link", name=f"Go to {PERSON_NAME}’s account").click()

    page.get_by_label("Role").select_option("trainer")
    page.get_by_role("button", name="Change the role").click()
    expect(page.get_by_text(f"{PERSON_NAME} is now a trainer")).to_be_visible()
    audit.check("role changed")
    page.get_by_role("button", name="Disable the account").click()
    expect(page.get_by_text("account is disabled")).to_be_visible()
    audit.check("account disabled")
    page.get_by_role("button", name="Enable the account").click()
    expect(page.get_by_text("can sign in again")).to_be_visible()
    audit.check("account enabled")
    page.get_by_role("button", name="Clear failed sign-ins").click()
    expect(page.get_by_text(f"{PERSON_NAME} had no failed sign-ins to clear.")).to_be_visible()
    audit.check("failed sign-ins cleared")

    page.get_by_role("link", name="Erase this person").click()
    heading(page, f"Erase {PERSON_NAME}?")
    audit.check("erase")
    page.get_by_role("button", name="Erase the account").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    audit.check("erase with errors")
    page.get_by_label("Why are you erasing this account?").fill("Request 42")
    page.get_by_role("button", name="Erase the account").click()
    expect(page.get_by_text("has been erased")).to_be_visible()
    audit.check("account erased")

    open_account(page, "Sam Admin")
    page.get_by_label("Role").select_option("trainee")
    page.get_by_role("button", name="Change the role").click()
    expect(page.get_by_text("is the only admin").first).to_be_visible()
    audit.check("own account, role change refused")
    page.goto("/admin/accounts/999999")
    heading(page, "Page not found")
    audit.check("no such account")
    assert not audit.reports, audit.summary()

    seen = sent_since(html_pages, start)
    assert kinds_of(seen) == {
        "GET /sign-in -> 200",
        "GET / -> 200",
        "GET /admin/ -> 200",
        "GET /admin/accounts/new -> 200",
        "POST /admin/accounts/new -> 422",
        "POST /admin/accounts/new -> 200",
        "GET /admin/accounts/import -> 200",
        "POST /admin/accounts/import -> 422",
        "POST /admin/accounts/import -> 200",
        "GET /admin/accounts/N -> 200",
        "GET /admin/accounts/N/password -> 200",
        "POST /admin/accounts/N/password -> 200",
        "GET /admin/accounts/N/erase -> 200",
        "POST /admin/accounts/N/erase -> 422",
        "POST /admin/accounts/N/role -> 422",
        "GET /admin/accounts/N -> 404",
    }, sorted(seen)
    problems = check_html(seen)
    assert not problems, "\n".join(problems)


def test_the_admin_and_public_pages_reflow_at_320_pixels(open_page, admin):
    """At 320 CSS pixels wide (WCAG 1.4.10) no admin or public page scrolls sideways."""
    page = open_page(viewport={"width": 320, "height": 640})
    overflows = {}

    def measure(name):
        if (extra := page.evaluate(OVERFLOW)) > 0:
            overflows[name] = extra

    for path in ("/sign-in", "/privacy", "/accessibility", "/nothing-here"):
        page.goto(path)
        measure(path)
    sign_in(page, admin)
    for path in ("/admin/", "/admin/accounts/new", "/admin/accounts/import"):
        page.goto(path)
        measure(path)
    page.goto("/admin/?q=sam")
    page.get_by_role("link", name="Sam Admin").click()
    measure("account")
    assert not overflows, f"pages wider than 320px, by this many pixels: {overflows}"
