"""The trainer's cohort pages: create, add and import trainees, share, archive, reset, audit."""

import io
import re

import pytest
from helpers import PASSWORD, gen_cohort, gen_user, people_audit, post, sign_in, text_of
from sqlalchemy import func
from sqlmodel import select

from simulator import accounts, cohorts, roster
from simulator.db import db
from simulator.models import AuditEntry, Cohort, User
from simulator.web.train import cohort_views

ONE_TIME = re.compile(r'<code class="govuk-!-font-weight-bold[^"]*">([a-z2-9-]{19})</code>')


def signed_in(app, username="trainer", role="trainer"):
    """Return a new client signed in as a new account with this role."""
    gen_user(app, username, role)
    client = app.test_client()
    assert sign_in(client, username).status_code == 303
    return client


@pytest.fixture
def trainer(app):
    """Return a client signed in as a trainer called 'trainer'."""
    return signed_in(app)


def count(app, model):
    """Return how many rows a table holds."""
    with app.app_context():
        return db.session.exec(select(func.count()).select_from(model)).one()


def find(app, username):
    """Return a detached copy of an account's fields, or None."""
    with app.app_context():
        user = accounts.find_user(username)
        return None if user is None else user.model_dump()


def audit_actions(app):
    """Return the actions recorded in the audit log, oldest first."""
    with app.app_context():
        return list(
            db.session.exec(people_audit(select(AuditEntry.action)).order_by(AuditEntry.id)).all()
        )


def import_csv(client, cohort_id, text=None, data=None, filename="list.csv"):
    """Send a list to a cohort's import form, pasted (text) or as a file (data)."""
    form = {"roster": text or ""}
    if data is not None:
        form["roster_file"] = (io.BytesIO(data), filename)
    return post(
        client,
        f"/train/cohorts/{cohort_id}/import",
        form,
        content_type="multipart/form-data",
    )


def test_landing_lists_own_and_shared_cohorts(app, trainer):
    """The landing page lists the trainer's cohorts and those shared with them, with counts."""
    gen_user(app, "other", "trainer")
    gen_user(app, "amina")
    gen_cohort(app, "trainer", "Mine", members=["amina"])
    shared = gen_cohort(app, "other", "Theirs")
    gen_cohort(app, "other", "Private to other")
    with app.app_context():
        cohorts.share(
            accounts.find_user("other"),
            db.session.get(Cohort, shared),
            accounts.find_user("trainer"),
        )
    page = text_of(trainer.get("/train/"))
    assert "Mine" in page and "Theirs" in page and "Private to other" not in page
    assert re.search(r"Mine</a>.*?numeric\">1<", page, re.S)


def test_admin_sees_every_cohort(app):
    """An admin's landing page lists every cohort."""
    gen_user(app, "trainer", "trainer")
    gen_cohort(app, "trainer", "Somebody else's")
    admin = signed_in(app, "admin", "admin")
    assert "Somebody else&#39;s" in text_of(admin.get("/train/"))


def test_trainee_cannot_open_trainer_pages(app):
    """A trainee gets 403 on the trainer's pages and sees no Cohorts link."""
    trainee = signed_in(app, "amina", "trainee")
    assert trainee.get("/train/").status_code == 403
    assert "Cohorts</a>" not in text_of(trainee.get("/"))


def test_navigation_marks_the_section(trainer):
    """The navigation marks the section the page is in, and the very page as the current one."""
    page = text_of(trainer.get("/train/"))
    assert re.search(r'href="/train/"\s+aria-current="page"', page)
    page = text_of(trainer.get("/train/cohorts/new"))
    assert re.search(r'href="/train/"\s+aria-current="true"', page)
    assert re.search(r'href="/"\s*>', page)


def test_create_cohort(app, trainer):
    """Creating a cohort saves it, owned by the trainer, audits it and shows its page."""
    data = {"name": "Intake 7", "description": "Autumn", "audience": "recruit"}
    response = post(trainer, "/train/cohorts/new", data)
    assert response.status_code == 303
    page = text_of(trainer.get(response.headers["Location"]))
    assert "Intake 7" in page and "Recruits" in page and "Created cohort" in page
    assert audit_actions(app) == ["cohort.create"]


def test_create_cohort_validation(app, trainer):
    """A cohort with no name and no audience is refused with each field named."""
    response = post(trainer, "/train/cohorts/new", {"name": " ", "description": ""})
    page = text_of(response)
    assert response.status_code == 422
    assert 'href="#name"' in page and 'href="#audience"' in page and 'id="audience"' in page
    assert count(app, Cohort) == 0


@pytest.mark.parametrize("name", ["Demo intake", "  demo   INTAKE "])
def test_create_cohort_refuses_a_name_in_use(app, trainer, name):
    """A second live cohort of the trainer's with the same name, in any case or spacing, is
    refused by the name field, and nothing is created."""
    gen_cohort(app, "trainer", "Demo intake")
    data = {"name": name, "description": "", "audience": "recruit"}
    response = post(trainer, "/train/cohorts/new", data)
    page = text_of(response)
    assert response.status_code == 422 and 'href="#name"' in page
    assert "There is already a cohort called" in page and 'id="name-error"' in page
    assert count(app, Cohort) == 1


def test_same_name_is_free_once_archived_or_for_another_trainer(app, trainer):
    """An archived cohort's name, or another trainer's cohort's, may be used again."""
    gen_user(app, "other", "trainer")
    gen_cohort(app, "other", "Spring intake")
    old = gen_cohort(app, "trainer", "Demo intake")
    with app.app_context():
        cohorts.set_archived(accounts.find_user("trainer"), db.session.get(Cohort, old), True)
    for name in ("Demo intake", "Spring intake"):
        data = {"name": name, "description": "", "audience": "recruit"}
        assert post(trainer, "/train/cohorts/new", data).status_code == 303


def test_rename_refuses_a_name_in_use_but_keeps_its_own(app, trainer):
    """Renaming a cohort to another live cohort's name is refused; saving it under its own
    name (recased) is fine."""
    gen_cohort(app, "trainer", "Demo intake")
    cohort_id = gen_cohort(app, "trainer", "Autumn intake")
    url = f"/train/cohorts/{cohort_id}/edit"
    data = {"name": "demo intake", "description": "", "audience": "recruit"}
    response = post(trainer, url, data)
    assert response.status_code == 422 and "There is already a cohort called" in text_of(response)
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).name == "Autumn intake"
    data["name"] = "AUTUMN intake"
    assert post(trainer, url, data).status_code == 303


def test_edit_cohort(app, trainer):
    """A cohort's details can be changed, and the change is in its history."""
    cohort_id = gen_cohort(app, "trainer", "Old name")
    data = {"name": "New name", "description": "", "audience": "cpd"}
    assert post(trainer, f"/train/cohorts/{cohort_id}/edit", data).status_code == 303
    page = text_of(trainer.get(f"/train/cohorts/{cohort_id}"))
    assert "New name" in page and "Continuing professional development" in page
    assert "Changed cohort" in page


def test_other_trainers_cohort_is_not_found(app, trainer):
    """Trainer A cannot see, change or add to trainer B's cohort: it is a 404."""
    gen_user(app, "other", "trainer")
    cohort_id = gen_cohort(app, "other", "Theirs")
    for path in ("", "/edit", "/import", "/people/new", "/archive", "/sharing"):
        assert trainer.get(f"/train/cohorts/{cohort_id}{path}").status_code == 404, path
    assert import_csv(trainer, cohort_id, "x,X").status_code == 404
    assert count(app, User) == 2


def test_sharing_gives_access(app, trainer):
    """A cohort shared with a trainer is theirs to run, but not to share or archive."""
    owner = signed_in(app, "owner", "trainer")
    cohort_id = gen_cohort(app, "owner", "Shared one")
    assert trainer.get(f"/train/cohorts/{cohort_id}").status_code == 404
    response = post(owner, f"/train/cohorts/{cohort_id}/sharing", {"username": "TRAINER"})
    assert response.status_code == 303
    assert trainer.get(f"/train/cohorts/{cohort_id}").status_code == 200
    assert trainer.get(f"/train/cohorts/{cohort_id}/sharing").status_code == 403
    assert trainer.get(f"/train/cohorts/{cohort_id}/archive").status_code == 403
    assert audit_actions(app)[-1] == "cohort.share"


def test_stop_sharing(app, trainer):
    """Stopping sharing takes the cohort away from that trainer again."""
    owner = signed_in(app, "owner", "trainer")
    cohort_id = gen_cohort(app, "owner", "Shared one")
    post(owner, f"/train/cohorts/{cohort_id}/sharing", {"username": "trainer"})
    trainer_id = find(app, "trainer")["id"]
    path = f"/train/cohorts/{cohort_id}/sharing/{trainer_id}/stop"
    assert post(owner, path).status_code == 303
    assert trainer.get(f"/train/cohorts/{cohort_id}").status_code == 404
    assert audit_actions(app)[-1] == "cohort.unshare"


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Enter the username"),
        ("amina", "is not a trainer&#39;s account"),
        ("nobody", "is not a trainer&#39;s account"),
        ("trainer", "owns this cohort"),
    ],
)
def test_share_needs_another_trainer(app, trainer, username, message):
    """Sharing needs the username of another trainer's account, else a field error."""
    gen_user(app, "amina")
    cohort_id = gen_cohort(app, "trainer", "Mine")
    response = post(trainer, f"/train/cohorts/{cohort_id}/sharing", {"username": username})
    assert response.status_code == 422
    assert message in text_of(response) and 'href="#username"' in text_of(response)


def test_archive_and_bring_back(app, trainer):
    """Archiving asks first, moves the cohort to the archived list, and can be undone."""
    cohort_id = gen_cohort(app, "trainer", "Old intake")
    assert "Archive “Old intake”?" in text_of(trainer.get(f"/train/cohorts/{cohort_id}/archive"))
    assert post(trainer, f"/train/cohorts/{cohort_id}/archive").status_code == 303
    assert ">Old intake</a>" not in text_of(trainer.get("/train/"))
    assert ">Old intake</a>" in text_of(trainer.get("/train/?archived=1"))
    assert trainer.get(f"/train/cohorts/{cohort_id}/people/new").status_code == 409
    assert post(trainer, f"/train/cohorts/{cohort_id}/unarchive").status_code == 303
    assert ">Old intake</a>" in text_of(trainer.get("/train/"))
    assert audit_actions(app)[-2:] == ["cohort.archive", "cohort.unarchive"]


def test_remove_member(app, trainer):
    """Removing a member asks first, then takes them out of the cohort and records it."""
    gen_user(app, "amina")
    cohort_id = gen_cohort(app, "trainer", "Intake", members=["amina"])
    user_id = find(app, "amina")["id"]
    path = f"/train/cohorts/{cohort_id}/members/{user_id}/remove"
    assert "Remove amina" in text_of(trainer.get(path))
    assert post(trainer, path).status_code == 303
    with app.app_context():
        assert cohorts.members(cohort_id) == []
    assert trainer.get(path).status_code == 404
    assert audit_actions(app)[-1] == "cohort.remove_member"


def test_add_one_new_trainee(app, trainer):
    """Adding a trainee who has no account creates one and shows its password once, unstored."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    data = {"username": "JSmith", "display_name": "Jane Smith", "force": "TVP"}
    response = post(trainer, f"/train/cohorts/{cohort_id}/people/new", data)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    [password] = ONE_TIME.findall(text_of(response))
    person = find(app, "jsmith")
    assert person["must_change_password"] and person["display_name"] == "Jane Smith"
    assert sign_in(app.test_client(), "jsmith", password).status_code == 303


def test_add_one_existing_trainee(app, trainer):
    """Adding an existing trainee puts them in the cohort as they are, with no new password."""
    gen_user(app, "amina")
    cohort_id = gen_cohort(app, "trainer", "Intake")
    data = {"username": "amina", "display_name": "Not used"}
    response = post(trainer, f"/train/cohorts/{cohort_id}/people/new", data)
    assert response.status_code == 303
    assert find(app, "amina")["display_name"] == ""
    assert "amina" in text_of(trainer.get(response.headers["Location"]))


def test_add_existing_username_with_another_name_says_so(app, trainer):
    """An existing username typed with a different name is put in the cohort as it is, and
    the trainer is told plainly that the account exists and its name was not changed."""
    with app.app_context():
        accounts.create_user("demo-recruit-1", PASSWORD, "trainee", display_name="Ada Recruit")
    cohort_id = gen_cohort(app, "trainer", "Demo intake")
    data = {"username": "demo-recruit-1", "display_name": "Someone Else"}
    response = post(trainer, f"/train/cohorts/{cohort_id}/people/new", data)
    page = text_of(trainer.get(response.headers["Location"]))
    assert "demo-recruit-1 already has an account, as Ada Recruit, and is now in" in page
    assert "The name you typed (“Someone Else”) was not used" in page and "Success" not in page
    assert find(app, "demo-recruit-1")["display_name"] == "Ada Recruit"


def test_add_someone_already_in_the_cohort_is_not_a_success(app, trainer):
    """Adding a person who is in the cohort already says so in a plain notice, not a success."""
    with app.app_context():
        accounts.create_user("amina", PASSWORD, "trainee", display_name="Amina Khan")
    cohort_id = gen_cohort(app, "trainer", "Intake", ["amina"])
    data = {"username": "amina", "display_name": "Amina Khan"}
    response = post(trainer, f"/train/cohorts/{cohort_id}/people/new", data)
    page = text_of(trainer.get(response.headers["Location"]))
    assert "amina already has an account, as Amina Khan, and was already in “Intake”." in page
    assert "Success" not in page and "was not used" not in page


def test_add_one_trainee_validation(app, trainer):
    """A trainer's username or a missing name is refused field by field."""
    gen_user(app, "boss", "trainer")
    cohort_id = gen_cohort(app, "trainer", "Intake")
    data = {"username": "boss", "display_name": "", "force": "f" * 101}
    response = post(trainer, f"/train/cohorts/{cohort_id}/people/new", data)
    page = text_of(response)
    assert response.status_code == 422
    for field in ("username", "display_name", "force"):
        assert f'href="#{field}"' in page


def test_import_good_file(app, trainer):
    """A good file adds everyone; new accounts get one-time passwords, shown once, unstored."""
    gen_user(app, "amina")
    cohort_id = gen_cohort(app, "trainer", "Intake")
    data = b"username,name,force\njsmith,Jane Smith,TVP\namina,Amina\nbob,Bob Jones\n"
    response = import_csv(trainer, cohort_id, data=data)
    page = text_of(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "3 people added" in page and "shown only this once" in page
    assert len(ONE_TIME.findall(page)) == 2
    with app.app_context():
        assert [p.username for p in cohorts.members(cohort_id)] == ["amina", "bob", "jsmith"]


def test_import_pasted_list(app, trainer):
    """A list pasted into the box works as a file does."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    response = import_csv(trainer, cohort_id, "jsmith,Jane Smith\n")
    assert response.status_code == 200 and len(ONE_TIME.findall(text_of(response))) == 1


def test_bad_file_is_refused_whole(app, trainer):
    """A file with bad lines creates no one, and names every bad line and its problem."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    users, entries = count(app, User), count(app, AuditEntry)
    data = b"jsmith,Jane Smith\nbad name,Someone\njsmith,Again\nok,Fine,a,b,c\nfine,Fine\n"
    response = import_csv(trainer, cohort_id, data=data)
    page = text_of(response)
    assert response.status_code == 422 and "govuk-error-summary" in page
    for line in (2, 3, 4):
        assert f'<a href="#roster_file">Line {line}: ' in page
    assert "Line 1:" not in page and "Line 5:" not in page
    assert (count(app, User), count(app, AuditEntry)) == (users, entries)


def test_import_of_garbage_under_the_header_creates_no_one(app, trainer):
    """A line that does not fit the heading line's columns is refused by line number, and no
    account is made, not even for the good lines."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    users = count(app, User)
    response = import_csv(trainer, cohort_id, "username,name\nok,Fine Person\njust,some,garbage")
    assert response.status_code == 422
    assert '<a href="#roster">Line 3: It has 3 columns, but the heading line names 2' in text_of(
        response
    )
    assert count(app, User) == users and find(app, "just") is None


def test_import_of_people_all_in_the_cohort_says_none_were_added(app, trainer):
    """Sending the same list again says no new people were added and why, not "0 people
    added"."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    import_csv(trainer, cohort_id, "jsmith,Jane Smith\naokafor,Ade Okafor\n")
    page = text_of(import_csv(trainer, cohort_id, "jsmith,Jane Smith\naokafor,Ade Okafor\n"))
    assert '<h1 class="govuk-heading-l">No new people added</h1>' in page
    assert "All 2 people on the list were in the cohort already, so nothing changed." in page
    assert "0 people added" not in page and "People added" not in page


def test_import_keeps_pasted_text_on_error(app, trainer):
    """A refused pasted list is shown again in the box, to be fixed."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    response = import_csv(trainer, cohort_id, "bad name,Someone")
    assert response.status_code == 422
    assert ">bad name,Someone</textarea>" in text_of(response)
    assert '<a href="#roster">Line 1: ' in text_of(response)


def test_import_needs_a_list(app, trainer):
    """Sending neither a list nor a file, or both, says what to do."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    assert "Paste the list" in text_of(import_csv(trainer, cohort_id, ""))
    response = import_csv(trainer, cohort_id, "a,A", data=b"b,B")
    assert response.status_code == 422 and "not both" in text_of(response)


def test_import_larger_than_app_limit(app, trainer):
    """A roster bigger than the app's 64 KiB request limit, within the roster's, is accepted."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    name, force = "Person " + "x" * 80, "Force " + "y" * 50
    lines = [f"trainee{n:03},{name},{force},{n}\n" for n in range(500)]
    data = "".join(lines).encode()
    assert app.config["MAX_CONTENT_LENGTH"] < len(data) < roster.MAX_BYTES
    response = import_csv(trainer, cohort_id, data=data)
    assert response.status_code == 200, text_of(response)[:2000]
    assert count(app, User) == 501


def test_import_too_large(app, trainer):
    """A file over the roster's limit is refused with the limit; far over it, a 413."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    response = import_csv(trainer, cohort_id, data=b"a" * (roster.MAX_BYTES + 1))
    assert response.status_code == 422 and "larger than 256 KB" in text_of(response)
    big = b"a" * (cohort_views.ROSTER_REQUEST_MAX + 1)
    assert import_csv(trainer, cohort_id, data=big).status_code == 413


def test_import_still_checks_csrf(app, trainer):
    """The import form, whose size limit is its own, still needs its CSRF token."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    response = trainer.post(f"/train/cohorts/{cohort_id}/import", data={"roster": "a,A"})
    assert response.status_code == 400 and count(app, User) == 1


def test_one_time_password_works_once_and_forces_a_change(app, trainer):
    """An imported trainee signs in with the one-time password, must change it, then it is gone."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    [password] = ONE_TIME.findall(text_of(import_csv(trainer, cohort_id, "jsmith,Jane Smith")))
    client = app.test_client()
    assert sign_in(client, "jsmith", password).status_code == 303
    assert client.get("/").headers["Location"] == "/account/password"
    data = {
        "current_password": password,
        "new_password": PASSWORD,
        "confirm_password": PASSWORD,
    }
    response = post(client, "/account/password", data, token_from="/account/password")
    assert response.status_code == 303 and client.get("/").status_code == 200
    assert sign_in(app.test_client(), "jsmith", password).status_code == 422
    assert sign_in(app.test_client(), "jsmith", PASSWORD).status_code == 303


def test_reset_password_of_an_account_they_made(app, trainer):
    """A trainer resets the password of a trainee they created: a new one, shown once."""
    cohort_id = gen_cohort(app, "trainer", "Intake")
    import_csv(trainer, cohort_id, "jsmith,Jane Smith")
    user_id = find(app, "jsmith")["id"]
    assert "Reset the password" in text_of(trainer.get(f"/train/people/{user_id}/password"))
    response = post(trainer, f"/train/people/{user_id}/password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    [password] = ONE_TIME.findall(text_of(response))
    assert sign_in(app.test_client(), "jsmith", password).status_code == 303
    assert audit_actions(app)[-1] == "account.reset_password"


def test_no_reset_for_accounts_they_did_not_make(app, trainer):
    """A trainer cannot reset an account someone else made, even in their cohort; an admin can."""
    gen_user(app, "amina")
    cohort_id = gen_cohort(app, "trainer", "Intake", members=["amina"])
    user_id = find(app, "amina")["id"]
    assert "Reset password" not in text_of(trainer.get(f"/train/cohorts/{cohort_id}"))
    assert trainer.get(f"/train/people/{user_id}/password").status_code == 403
    assert post(trainer, f"/train/people/{user_id}/password").status_code == 403
    assert sign_in(app.test_client(), "amina").status_code == 303
    admin = signed_in(app, "admin", "admin")
    assert post(admin, f"/train/people/{user_id}/password").status_code == 200


def test_no_reset_for_people_out_of_sight(app, trainer):
    """A trainer resetting the password of someone in no cohort of theirs gets a 404."""
    user_id = gen_user(app, "amina")
    assert post(trainer, f"/train/people/{user_id}/password").status_code == 404


def test_people_list(app, trainer):
    """The people list shows the trainer's trainees, with a reset link for those they made."""
    gen_user(app, "amina")
    gen_user(app, "stranger")
    cohort_id = gen_cohort(app, "trainer", "Intake", members=["amina"])
    import_csv(trainer, cohort_id, "jsmith,Jane Smith")
    page = text_of(trainer.get("/train/people"))
    assert "amina" in page and "Jane Smith" in page and "stranger" not in page
    assert page.count("Reset password<") == 1


def test_audit_log(app, trainer):
    """A trainer sees their own actions in the audit log; an admin sees everyone's."""
    other = signed_in(app, "other", "trainer")
    post(trainer, "/train/cohorts/new", {"name": "Mine", "audience": "recruit"})
    post(other, "/train/cohorts/new", {"name": "Theirs", "audience": "cpd"})
    page = text_of(trainer.get("/train/audit"))
    assert "Created cohort &#39;Mine&#39;" in page and "Theirs" not in page
    admin = signed_in(app, "admin", "admin")
    page = text_of(admin.get("/train/audit"))
    assert "Mine" in page and "Theirs" in page


def test_audit_log_pages(app):
    """The admin's audit log is paged, newest first."""
    gen_user(app, "trainer", "trainer")
    for n in range(55):
        gen_cohort(app, "trainer", f"Cohort {n:02}")
    admin = signed_in(app, "admin", "admin")
    first = text_of(admin.get("/train/audit"))
    assert "Cohort 54" in first and "Cohort 04" not in first and "?page=2" in first
    assert "Cohort 04" in text_of(admin.get("/train/audit?page=2"))
