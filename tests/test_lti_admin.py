"""The admin's LTI pages: the registered platforms, the tool's addresses, registering one and
changing it, each recorded in the audit log."""

import pytest
from helpers import client_of, gen_user, post, text_of
from sqlmodel import select

from simulator import accounts, lti
from simulator.db import db
from simulator.models import AuditEntry, LtiPlatform

ISSUER = "https://learn.example.police.uk"
GOOD = {
    "issuer": ISSUER,
    "client_id": "client-1",
    "deployment_ids": "1\n2",
    "login_url": f"{ISSUER}/mod/lti/auth.php",
    "token_url": f"{ISSUER}/mod/lti/token.php",
    "key_set_url": f"{ISSUER}/mod/lti/certs.php",
}


@pytest.fixture
def admin(app):
    """Return a client signed in as an admin called 'admin'."""
    gen_user(app, "admin", "admin")
    return client_of(app, "admin")


def register(app, issuer=ISSUER, client_id="client-1"):
    """Register a platform as the admin, through the store, and return its id."""
    with app.app_context():
        owner = accounts.find_user("admin")
        urls = (f"{issuer}/auth", f"{issuer}/token", f"{issuer}/jwks")
        return lti.add_platform(owner, issuer, client_id, ["deployment-1"], *urls).id


def stored(app):
    """Return the registered platforms' details, oldest first."""
    with app.app_context():
        return [lti.platform_details(p) for p in lti.platforms()]


def audited(app):
    """Return the audit log's LTI entries (action, target id, details), oldest first."""
    with app.app_context():
        statement = select(AuditEntry).where(AuditEntry.action.startswith("lti."))
        rows = db.session.exec(statement.order_by(AuditEntry.id)).all()
        return [(row.action, row.target_id, row.details) for row in rows]


def test_the_admin_home_page_links_to_the_lti_platforms(admin, database_url):
    """The accounts page, the admin's home, links to the LTI platforms."""
    assert 'href="/admin/lti"' in admin.get("/admin/").get_data(as_text=True)


def test_the_list_shows_each_platform_and_the_tools_absolute_addresses(app, admin, database_url):
    """The list shows each registration, its owner, and the URLs to give a platform."""
    register(app)
    with app.app_context():
        accounts.find_user("admin").display_name = "Ada Lovelace"
        db.session.commit()
    page = text_of(admin.get("/admin/lti"))
    for shown in (ISSUER, "client-1", "deployment-1", f"{ISSUER}/token", "Ada Lovelace"):
        assert shown in page
    for address in ("/lti/login", "/lti/launch", "/lti/jwks"):
        assert f"http://localhost{address}" in page
    assert "new window" in page


def test_the_list_says_when_no_platform_is_registered(admin, database_url):
    """With no platform, the list says so and offers to register one."""
    page = admin.get("/admin/lti").get_data(as_text=True)
    assert "No platform is registered yet." in page and 'href="/admin/lti/new"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("issuer", "", "Enter the issuer"),
        ("issuer", "http://learn.example.police.uk", "The issuer must start https://"),
        ("client_id", "  ", "Enter the client ID the platform gave this tool"),
        ("client_id", "x" * 256, "The client ID must be 255 characters or fewer"),
        ("deployment_ids", " \n , ", "Enter at least one deployment ID"),
        ("login_url", "ftp://learn.example.police.uk/auth", "The login URL must start https://"),
        ("token_url", "https://", "The token URL must start https://"),
        ("key_set_url", "https://lms.example/certs .php", "The key set URL must be one address"),
        ("key_set_url", "https://[lms.example/certs", "The key set URL must start https://"),
    ],
)
def test_a_registration_with_a_bad_field_is_refused(
    app, admin, database_url, field, value, message
):
    """A bad field is refused with a message linked from the error summary; nothing is kept."""
    response = post(admin, "/admin/lti/new", {**GOOD, field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<a href="#{field}">{message}' in page and f'id="{field}-error"' in page
    assert stored(app) == [] and audited(app) == []


def test_an_empty_registration_names_every_missing_field(admin, database_url):
    """An empty form is refused with one message for each required field, in page order."""
    page = post(admin, "/admin/lti/new", {}).get_data(as_text=True)
    found = [field for field in GOOD if f'<a href="#{field}">' in page]
    assert found == list(GOOD)


def test_an_issuer_and_client_id_cannot_be_registered_twice(app, admin, database_url):
    """A second registration of one issuer and client id is refused."""
    register(app)
    response = post(admin, "/admin/lti/new", GOOD)
    assert response.status_code == 422
    assert "is already registered" in text_of(response) and len(stored(app)) == 1


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost"])
def test_plain_http_is_allowed_on_this_machine_for_testing(app, admin, database_url, host):
    """A platform on 127.0.0.1 or localhost may use http://."""
    urls = {field: f"http://{host}/{field}" for field in ("login_url", "token_url", "key_set_url")}
    response = post(admin, "/admin/lti/new", {**GOOD, "issuer": f"http://{host}", **urls})
    assert response.status_code == 303, text_of(response)


def test_an_admin_registers_a_platform_owned_by_them_and_audited(app, admin, database_url):
    """A good registration is kept, owned by the admin, recorded, and shown on the list."""
    response = post(admin, "/admin/lti/new", {**GOOD, "deployment_ids": " 1\n2, 1\n"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/lti"
    assert stored(app) == [{**GOOD, "deployment_ids": ["1", "2"]}]
    with app.app_context():
        platform = db.session.exec(select(LtiPlatform)).one()
        assert platform.created_by_id == accounts.find_user("admin").id
    assert audited(app) == [("lti.add_platform", platform.id, None)]
    assert f"Registered {ISSUER}." in text_of(admin.get("/admin/lti"))


def test_the_edit_form_shows_the_registration(app, admin, database_url):
    """The edit form holds the platform's details, its deployment ids one a line."""
    platform_id = register(app)
    page = admin.get(f"/admin/lti/{platform_id}/edit").get_data(as_text=True)
    assert f'value="{ISSUER}/token"' in page and ">deployment-1</textarea>" in page


def test_an_admin_changes_a_registration_recorded_with_what_it_was(app, admin, database_url):
    """A change is kept and audited with the registration as it was before."""
    platform_id = register(app)
    before = stored(app)[0]
    response = post(admin, f"/admin/lti/{platform_id}/edit", GOOD)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/lti"
    assert stored(app) == [{**GOOD, "deployment_ids": ["1", "2"]}]
    entries = audited(app)
    assert entries[-1] == ("lti.update_platform", platform_id, {"before": before})


def test_a_change_is_refused_with_messages_and_keeps_the_registration(app, admin, database_url):
    """A bad change is refused with its messages; the registration stays as it was."""
    platform_id = register(app)
    before = stored(app)
    response = post(admin, f"/admin/lti/{platform_id}/edit", {**GOOD, "token_url": "x"})
    assert response.status_code == 422 and '<a href="#token_url">' in response.get_data(
        as_text=True
    )
    assert stored(app) == before and [a for a, *_ in audited(app)] == ["lti.add_platform"]


def test_a_change_may_keep_its_own_client_id_but_not_take_anothers(app, admin, database_url):
    """Saving a platform unchanged is allowed; taking another's issuer and client id is not."""
    first, second = register(app), register(app, client_id="client-2")
    unchanged = {**GOOD, "client_id": "client-1", "deployment_ids": "deployment-1"}
    assert post(admin, f"/admin/lti/{first}/edit", unchanged).status_code == 303
    response = post(admin, f"/admin/lti/{second}/edit", unchanged)
    assert response.status_code == 422 and "is already registered" in text_of(response)


def test_changing_a_platform_that_is_not_registered_is_not_found(admin, database_url):
    """The edit form of an unknown platform is a 404."""
    assert admin.get("/admin/lti/999/edit").status_code == 404
