"""The admin's account pages: finding, creating, importing, resetting, roles, disabling."""

import pytest
from helpers import (
    PASSWORD,
    client_of,
    csrf_token,
    gen_cohort,
    gen_user,
    post,
    sign_in,
    text_of,
)
from sqlmodel import select

from simulator import accounts
from simulator.db import db
from simulator.models import AuditEntry, User, WebSession


def user(app, username):
    """Return a fresh copy of an account."""
    with app.app_context():
        found = accounts.find_user(username)
        db.session.expunge(found)
        return found


def actions(app):
    """Return the audit log's actions, oldest first."""
    with app.app_context():
        return db.session.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()


def sessions_of(app, user_id):
    """Return how many sessions a person has."""
    with app.app_context():
        return len(db.session.exec(select(WebSession).where(WebSession.user_id == user_id)).all())


def admin_client(app):
    """Return a client signed in as a new admin called 'admin'."""
    gen_user(app, "admin", "admin")
    return client_of(app, "admin")


def test_accounts_are_searched_by_name_and_filtered_by_role(app, database_url):
    """The list finds accounts by part of a username or name, and by role."""
    admin = admin_client(app)
    gen_user(app, "jsmith", "trainee")
    gen_user(app, "akhan", "trainer")
    with app.app_context():
        accounts.find_user("akhan").display_name = "Aisha Khan"
        db.session.commit()
    found = text_of(admin.get("/admin/?q=KHAN"))
    assert "Aisha Khan" in found and "jsmith" not in found
    found = text_of(admin.get("/admin/?role=trainee"))
    assert "jsmith" in found and "akhan" not in found


def test_accounts_are_listed_fifty_a_page(app, database_url):
    """A second page holds the accounts past the fiftieth."""
    admin = admin_client(app)
    with app.app_context():
        for n in range(55):
            db.session.add(User(username=f"p{n:02}", password_hash="x", role="trainee"))
        db.session.commit()
    first, second = text_of(admin.get("/admin/")), text_of(admin.get("/admin/?page=2"))
    assert "56 accounts" in first and first.count("/admin/accounts/") >= 50
    assert "p54" in second and "p00" not in second


def test_a_page_past_the_last_says_so(app, database_url):
    """?page=999 says there is no such page and links to the first, not "No account matches"."""
    admin = admin_client(app)
    gen_user(app, "jsmith", "trainee")
    page = text_of(admin.get("/admin/?page=999&role=trainee"))
    assert "There is no page 999: 1 account matches." in page
    assert 'href="/admin/?role=trainee">Go to the first page' in page
    assert "No account matches" not in page
    assert "No account matches" in text_of(admin.get("/admin/?q=nobody-like-this"))


def test_creating_an_account_shows_a_one_time_password_once(app, database_url):
    """A new account gets a one-time password, shown on a page no cache keeps."""
    admin = admin_client(app)
    form = {"username": "newbie", "display_name": "New Person", "role": "trainer"}
    response = post(admin, "/admin/accounts/new", form)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    made = user(app, "newbie")
    assert made.role == "trainer" and made.must_change_password
    assert "account.create" in actions(app)


@pytest.mark.parametrize(
    ("resetter", "url", "words", "link"),
    [
        ("admin", "/admin/accounts/{id}/password", "One-time password for", "account"),
        ("trainer", "/train/people/{id}/password", "New one-time password for", "page"),
    ],
)
def test_each_one_time_password_page_keeps_its_own_words(
    app, database_url, resetter, url, words, link
):
    """The admin's and the trainer's pages share one layout but keep their heading and link."""
    gen_user(app, "admin", "admin")
    trainer_id = gen_user(app, "trainer", "trainer")
    person_id = gen_user(app, "jo")
    with app.app_context():
        person = accounts.find_user("jo")
        person.display_name, person.created_by_id = "Jo O'Neill", trainer_id
        db.session.commit()
    gen_cohort(app, "trainer", "Intake", ["jo"])
    page = text_of(post(client_of(app, resetter), url.format(id=person_id)))
    heading = f"{words} Jo O&#39;Neill"  # the name escaped once, in the title and the heading
    assert f'<h1 class="govuk-heading-l">{heading}</h1>' in page
    assert f"<title>{heading} – Safe to Report</title>" in page
    assert "shown only this once" in page and "<code>jo</code>" in page
    assert f"Go to Jo O&#39;Neill’s {link}</a>" in page


def test_a_bad_new_account_is_refused_with_errors(app, database_url):
    """An empty form is refused with a message for each field."""
    response = post(admin_client(app), "/admin/accounts/new", {})
    assert response.status_code == 422
    assert "Enter a username" in text_of(response) and "Choose a role" in text_of(response)


def test_bulk_creation_from_a_list_makes_trainee_accounts(app, database_url):
    """The roster importer, without a cohort, makes an account for each line."""
    admin = admin_client(app)
    roster = "username,name\njsmith,Jane Smith\naokafor,Ade Okafor\n"
    response = post(admin, "/admin/accounts/import", {"roster": roster})
    assert response.status_code == 200, text_of(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert user(app, "jsmith").display_name == "Jane Smith"
    assert user(app, "aokafor").must_change_password


def test_a_bad_list_creates_no_one(app, database_url):
    """One bad line refuses the whole list."""
    admin = admin_client(app)
    response = post(admin, "/admin/accounts/import", {"roster": "jsmith,Jane\nbad name,X\n"})
    assert response.status_code == 422
    with app.app_context():
        assert accounts.find_user("jsmith") is None


def test_resetting_a_password_ends_the_persons_sessions(app, database_url):
    """A reset gives a one-time password and signs the person out everywhere."""
    admin = admin_client(app)
    person_id = gen_user(app, "trainee")
    trainee = client_of(app, "trainee")
    response = post(admin, f"/admin/accounts/{person_id}/password")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert sessions_of(app, person_id) == 0
    assert trainee.get("/").status_code == 302
    assert user(app, "trainee").must_change_password


def test_changing_a_role_ends_the_persons_sessions(app, database_url):
    """A role change takes effect at once: the person must sign in again."""
    admin = admin_client(app)
    person_id = gen_user(app, "trainee")
    trainee = client_of(app, "trainee")
    response = post(admin, f"/admin/accounts/{person_id}/role", {"role": "trainer"})
    assert response.status_code == 303
    assert user(app, "trainee").role == "trainer"
    assert trainee.get("/").status_code == 302
    assert "account.change_role" in actions(app)


def test_the_last_admin_cannot_demote_themselves(app, database_url):
    """The only admin is refused a change of their own role."""
    admin = admin_client(app)
    admin_id = user(app, "admin").id
    response = post(admin, f"/admin/accounts/{admin_id}/role", {"role": "trainee"})
    assert response.status_code == 422
    assert "only admin" in text_of(response)
    assert user(app, "admin").role == "admin"


def test_an_admin_can_demote_themselves_when_another_admin_remains(app, database_url):
    """With a second admin, an admin may step down."""
    admin = admin_client(app)
    gen_user(app, "second", "admin")
    admin_id = user(app, "admin").id
    response = post(admin, f"/admin/accounts/{admin_id}/role", {"role": "trainer"})
    assert response.status_code == 303
    assert user(app, "admin").role == "trainer"


def test_a_disabled_person_cannot_sign_in_and_their_session_ends(app, database_url):
    """Disabling ends the open session; signing in gets the wrong-password message."""
    admin = admin_client(app)
    person_id = gen_user(app, "trainee")
    trainee = client_of(app, "trainee")
    response = post(admin, f"/admin/accounts/{person_id}/disable")
    assert response.status_code == 303
    assert trainee.get("/").status_code == 302
    refused = sign_in(app.test_client(), "trainee", PASSWORD)
    assert refused.status_code == 422
    assert "Enter a correct username and password" in text_of(refused)
    assert "account.disable" in actions(app)


def test_an_enabled_account_can_sign_in_again(app, database_url):
    """Enabling a disabled account lets it sign in."""
    admin = admin_client(app)
    person_id = gen_user(app, "trainee")
    post(admin, f"/admin/accounts/{person_id}/disable")
    assert post(admin, f"/admin/accounts/{person_id}/enable").status_code == 303
    assert sign_in(app.test_client(), "trainee").status_code == 303
    assert "account.enable" in actions(app)


def test_an_admin_cannot_disable_themselves(app, database_url):
    """An admin's own account is not disabled."""
    admin = admin_client(app)
    admin_id = user(app, "admin").id
    assert post(admin, f"/admin/accounts/{admin_id}/disable").status_code == 422
    assert user(app, "admin").disabled_at is None


def test_unlocking_clears_failed_sign_ins(app, database_url):
    """Unlock clears the throttle, recorded in the audit log."""
    admin = admin_client(app)
    person_id = gen_user(app, "trainee")
    for _ in range(6):
        sign_in(app.test_client(), "trainee", "wrong password")
    assert sign_in(app.test_client(), "trainee").status_code == 429
    response = admin.post(
        f"/admin/accounts/{person_id}/unlock",
        data={"csrf_token": csrf_token(admin, f"/admin/accounts/{person_id}")},
        follow_redirects=True,
    )
    assert "failed sign-ins are cleared: they can sign in now" in text_of(response)
    assert sign_in(app.test_client(), "trainee").status_code == 303
    assert "sign_in.unlock" in actions(app)


def test_unlocking_says_when_there_was_nothing_to_clear(app, database_url):
    """No failed sign-ins: the admin is told so, not that 0 waits were cleared."""
    admin = admin_client(app)
    person_id = gen_user(app, "trainee")
    response = admin.post(
        f"/admin/accounts/{person_id}/unlock",
        data={"csrf_token": csrf_token(admin, f"/admin/accounts/{person_id}")},
        follow_redirects=True,
    )
    assert "had no failed sign-ins to clear" in text_of(response)
    assert "Cleared 0" not in text_of(response)


@pytest.mark.parametrize(
    ("role", "said"), [("admin", "is now an admin"), ("trainer", "is now a trainer")]
)
def test_a_role_change_is_announced_in_plain_english(app, database_url, role, said):
    admin = admin_client(app)
    person_id = gen_user(app, "trainee")
    response = admin.post(
        f"/admin/accounts/{person_id}/role",
        data={"role": role, "csrf_token": csrf_token(admin, f"/admin/accounts/{person_id}")},
        follow_redirects=True,
    )
    assert said in text_of(response)


def test_admins_see_the_accounts_link_and_others_do_not(app, database_url):
    """The header offers Accounts to admins only."""
    admin = admin_client(app)
    gen_user(app, "trainer", "trainer")
    assert 'href="/admin/"' in text_of(admin.get("/account"))
    assert 'href="/admin/"' not in text_of(client_of(app, "trainer").get("/account"))


def test_the_footer_links_the_privacy_and_accessibility_pages(client, database_url):
    """Both pages are public and linked from every page's footer."""
    page = text_of(client.get("/sign-in"))
    assert 'href="/privacy"' in page and 'href="/accessibility"' in page
    assert "Who can see it" in text_of(client.get("/privacy"))
    assert "WCAG" in text_of(client.get("/accessibility"))
