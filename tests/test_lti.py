"""LTI 1.3 launches end to end, from a real platform (lti1p3platform) on loopback.

The test client is the browser: it starts the login at the tool, follows the redirect to
the platform's auth endpoint (a real HTTP request to the loopback server), and posts the
platform's id_token form to the tool's launch URL; the tool fetches the platform's key set
over loopback too.
"""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from helpers import gen_assignment, gen_cohort, gen_user, post
from lti_platform import (
    ADMINISTRATOR,
    CLIENT_ID,
    DEPLOYMENT_ID,
    INSTRUCTOR,
    ISSUER,
    LEARNER,
    form_of,
    private_key_pem,
)
from sqlmodel import select

from simulator import lti, sessions
from simulator.db import db
from simulator.models import (
    Cohort,
    CohortMember,
    CohortShare,
    LtiIdentity,
    LtiLaunchState,
    User,
    WebSession,
)


def authorise(client, platform, subject="learner-1", **launch):
    """Start a login at the tool and return the platform's launch form (action, fields)."""
    platform.next_launch = {"context": ("course-1", "Domestic abuse 101"), **launch}
    login = {
        "iss": ISSUER,
        "login_hint": subject,
        "target_link_uri": "http://localhost/lti/launch",
        "lti_message_hint": "link-1",
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT_ID,
    }
    response = client.post("/lti/login", data=login)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(f"{platform.url}/auth?")
    answer = requests.get(response.headers["Location"], timeout=10)
    assert answer.status_code == 200, answer.text
    return form_of(answer.text)


def launch(client, platform, subject="learner-1", **wanted):
    """Do a whole launch and return the tool's answer to the id_token post."""
    action, fields = authorise(client, platform, subject, **wanted)
    assert action == "http://localhost/lti/launch"
    return client.post("/lti/launch", data=fields)


def signed_in_user(app, client):
    """Return the (username, role) the client's session is signed in as, or None."""
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    if cookie is None:
        return None
    with app.app_context():
        row = db.session.get(WebSession, sessions.digest(cookie.value))
        user = db.session.get(User, row.user_id) if row and row.user_id else None
        return (user.username, user.role) if user else None


def course_cohort(app):
    """Return the cohort made for the test's course, and its members' usernames."""
    with app.app_context():
        cohort = db.session.exec(select(Cohort)).one()
        members = db.session.exec(
            select(User.username).join(CohortMember, CohortMember.user_id == User.id)
        ).all()
        return cohort, set(members)


def test_a_learner_lands_signed_in_on_the_scenario_in_the_course_cohort(app, client, registered):
    """A learner's launch makes a trainee, puts them in the course's cohort, opens the link."""
    response = launch(client, registered, custom={"scenario": "doorstep"})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/scenarios/doorstep"
    assert client.get("/scenarios/doorstep").status_code == 200
    username, role = signed_in_user(app, client)
    assert role == "trainee" and username.startswith("lti-")
    cohort, members = course_cohort(app)
    assert cohort.name == "Domestic abuse 101" and members == {username}


def test_the_target_link_uri_may_name_the_scenario(client, registered):
    """A link whose target URI names a scenario opens its briefing."""
    target = "http://localhost/lti/launch?scenario=doorstep"
    response = launch(client, registered, target=target)
    assert response.headers["Location"] == "/scenarios/doorstep"


def test_a_link_opens_what_it_opened_before(client, registered):
    """A later launch of the same resource link, naming nothing, opens the same scenario."""
    launch(client, registered, custom={"scenario": "doorstep"})
    response = launch(client, registered)
    assert response.headers["Location"] == "/scenarios/doorstep"


def test_an_instructor_becomes_a_trainer_who_owns_the_course_cohort(app, client, registered):
    """An instructor's first launch makes a trainer and the course's cohort, theirs."""
    response = launch(client, registered, "teacher-1", roles=[INSTRUCTOR])
    assert response.status_code == 303
    username, role = signed_in_user(app, client)
    assert role == "trainer"
    cohort, members = course_cohort(app)
    with app.app_context():
        assert db.session.get(User, cohort.owner_id).username == username
    assert members == set()


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([LEARNER], "trainee"),
        ([INSTRUCTOR], "trainer"),
        ([ADMINISTRATOR], "trainer"),
        (["Instructor"], "trainer"),
        ([], "trainee"),
        ([LEARNER, INSTRUCTOR], "trainer"),
    ],
)
def test_roles_claim_gives_the_local_role(roles, expected):
    """Teaching roles (Instructor, Administrator) make trainers; anything else, trainees."""
    assert lti.role_of(roles) == expected


def test_a_learner_first_leaves_the_cohort_to_the_platforms_owner(app, client, registered):
    """A course first opened by a learner is owned by the admin who registered the platform;
    an instructor who comes later has it shared with them."""
    launch(client, registered)
    teacher = app.test_client()
    launch(teacher, registered, "teacher-1", roles=[INSTRUCTOR])
    cohort, _ = course_cohort(app)
    with app.app_context():
        assert db.session.get(User, cohort.owner_id).username == "admin"
        assert db.session.exec(select(CohortShare)).one().cohort_id == cohort.id


def test_the_same_person_comes_back_to_the_same_account(app, client, registered):
    """A second launch for one subject signs in the same account, not a new one."""
    launch(client, registered)
    first = signed_in_user(app, client)
    other = app.test_client()
    launch(other, registered)
    assert signed_in_user(app, other) == first
    with app.app_context():
        assert len(db.session.exec(select(User)).all()) == 2  # admin and the learner


def test_a_replayed_launch_is_refused(app, client, registered):
    """Posting the same id_token and state again is refused: the login was used."""
    _, fields = authorise(client, registered)
    assert client.post("/lti/launch", data=fields).status_code == 303
    thief = app.test_client()
    response = thief.post("/lti/launch", data=fields)
    assert response.status_code == 400
    assert "used or too old" in response.get_data(as_text=True)
    assert signed_in_user(app, thief) is None


def test_a_token_with_another_logins_nonce_is_refused(app, client, registered):
    """An id_token posted with the state of a different login is refused."""
    _, first = authorise(client, registered)
    _, second = authorise(client, registered)
    response = client.post("/lti/launch", data={**first, "state": second["state"]})
    assert response.status_code == 400
    assert signed_in_user(app, client) is None


def test_a_forged_token_is_refused(app, client, registered):
    """A token signed with another key, under the platform's key id, is refused."""
    _, fields = authorise(client, registered)
    header = jwt.get_unverified_header(fields["id_token"])
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = [INSTRUCTOR]
    forged = jwt.encode(claims, private_key_pem(), "RS256", headers={"kid": header["kid"]})
    response = client.post("/lti/launch", data={**fields, "id_token": forged})
    assert response.status_code == 400
    assert "Signature verification failed" in response.get_data(as_text=True)
    assert signed_in_user(app, client) is None


def test_an_expired_token_is_refused(app, client, registered):
    """A token past its expiry time is refused."""
    response = launch(client, registered, expires_in=-60)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert signed_in_user(app, client) is None


def test_an_old_login_is_refused(app, client, registered):
    """A launch for a login made longer ago than the launch window is refused."""
    _, fields = authorise(client, registered)
    with app.app_context():
        row = db.session.exec(select(LtiLaunchState)).one()
        row.created_at = row.created_at - lti.LAUNCH_WINDOW
        db.session.commit()
    assert client.post("/lti/launch", data=fields).status_code == 400


def test_a_login_from_an_unknown_platform_is_refused(client, registered):
    """A login naming an issuer nobody registered is refused with a plain page."""
    data = {"iss": "https://other.example.test", "login_hint": "x", "client_id": "y"}
    response = client.post("/lti/login", data=data)
    assert response.status_code == 400
    assert "new window" in response.get_data(as_text=True)


def test_a_launch_without_a_login_is_refused(client, registered):
    """A post to the launch URL with no state is refused, never a server error."""
    assert client.post("/lti/launch", data={"id_token": "a.b.c"}).status_code == 400


def test_the_key_set_serves_only_public_keys(client, registered):
    """GET /lti/jwks lists the tool's active public key, with no private parts."""
    keys = client.get("/lti/jwks").get_json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert not {"d", "p", "q"} & set(keys[0])


def test_the_commands_register_a_platform_and_make_a_key(app, runner):
    """`flask lti add-platform`, `generate-key` and `list` register, make and show."""
    gen_user(app, "admin", "admin")
    kid = runner.invoke(args=["lti", "generate-key"]).output.strip()
    options = ["--issuer", ISSUER, "--client-id", CLIENT_ID, "--deployment-id", "d1"]
    options += ["--login-url", "https://lms/auth", "--token-url", "https://lms/token"]
    options += ["--key-set-url", "https://lms/jwks", "--owner", "admin"]
    added = runner.invoke(args=["lti", "add-platform", *options])
    assert added.exit_code == 0, added.output
    assert "new window" in added.output
    listed = runner.invoke(args=["lti", "list"]).output
    assert ISSUER in listed and f"key {kid}" in listed
    again = runner.invoke(args=["lti", "add-platform", *options])
    assert again.exit_code != 0 and "already registered" in again.output


def test_purging_deletes_only_old_logins(app, client, runner, registered):
    """`flask lti purge-logins` deletes logins past the launch window and keeps fresh ones."""
    authorise(client, registered)
    authorise(client, registered)
    with app.app_context():
        row = db.session.exec(select(LtiLaunchState)).first()
        row.created_at = row.created_at - lti.LAUNCH_WINDOW
        db.session.commit()
    assert "Deleted 1 old LTI logins" in runner.invoke(args=["lti", "purge-logins"]).output
    with app.app_context():
        assert len(db.session.exec(select(LtiLaunchState)).all()) == 1


def test_a_token_whose_body_is_not_an_object_is_refused(client, registered):
    """A well-formed JWT carrying a list instead of claims is refused, not a server error."""
    _, fields = authorise(client, registered)
    junk = jwt.encode({"x": 1}, "k" * 32, "HS256").split(".")
    junk[1] = "WzEsMl0"  # [1,2]
    response = client.post("/lti/launch", data={**fields, "id_token": ".".join(junk)})
    assert response.status_code == 400


def test_an_instructor_deep_links_a_scenario_into_the_course(app, client, registered):
    """A deep linking launch lets an instructor pick a scenario; the platform accepts the
    signed link it gets back, which names the scenario and opens in a new window."""
    response = launch(client, registered, "teacher-1", roles=[INSTRUCTOR], deep_link=True)
    assert response.headers["Location"] == "/lti/deep-link"
    assert "A call to a flat" in client.get("/lti/deep-link").get_data(as_text=True)
    answer = post(client, "/lti/deep-link", {"scenario": "doorstep"}, token_from="/lti/deep-link")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script
    assert f"form-action 'self' {registered.url}" in answer.headers["Content-Security-Policy"]
    assert f'<form method="post" action="{registered.url}/return">' in html
    _, fields = form_of(html)
    config = registered.config()
    config.get_registration().set_tool_key_set(client.get("/lti/jwks").get_json())
    (item,) = config.validate_deeplinking_resp({"JWT": fields["JWT"]})
    assert item["custom"] == {"scenario": "doorstep"}
    assert item["url"] == "http://localhost/lti/launch"


def test_a_learner_cannot_deep_link(client, registered):
    """A deep linking launch by a learner is refused."""
    response = launch(client, registered, roles=[LEARNER], deep_link=True)
    assert response.status_code == 403


def test_an_instructor_deep_links_an_assignment_of_their_cohort(app, client, registered):
    """An instructor may add an assignment they set instead; the link names it, and another
    trainer's assignment is not offered."""
    response = launch(client, registered, "teacher-2", roles=[INSTRUCTOR], deep_link=True)
    assert response.headers["Location"] == "/lti/deep-link"
    with app.app_context():
        teacher = db.session.exec(
            select(User)
            .join(LtiIdentity, LtiIdentity.user_id == User.id)
            .where(LtiIdentity.subject == "teacher-2")
        ).one()
        teacher_name = teacher.username
    cohort_id = gen_cohort(app, teacher_name, "Evening intake")
    assignment_id = gen_assignment(app, cohort_id)
    gen_user(app, "someone-else", "trainer")
    other_assignment = gen_assignment(app, gen_cohort(app, "someone-else", "Not theirs"))
    page = client.get("/lti/deep-link").get_data(as_text=True)
    assert "Evening intake" in page and "Not theirs" not in page
    refused = post(
        client,
        "/lti/deep-link",
        {"assignment": str(other_assignment)},
        token_from="/lti/deep-link",
    )
    assert refused.status_code == 422
    answer = post(
        client, "/lti/deep-link", {"assignment": str(assignment_id)}, token_from="/lti/deep-link"
    )
    _, fields = form_of(answer.get_data(as_text=True))
    config = registered.config()
    config.get_registration().set_tool_key_set(client.get("/lti/jwks").get_json())
    (item,) = config.validate_deeplinking_resp({"JWT": fields["JWT"]})
    assert item["custom"] == {"assignment": str(assignment_id)}
    assert "Evening intake" in item["title"]


def test_two_first_launches_of_one_person_at_once_make_one_account(app, registered, database_url):
    """Two windows launching a new person at the same moment: one account, no error."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite lets one writer in at a time")
    barrier = threading.Barrier(2)

    def first_launch(_):
        with app.app_context():
            platform = lti.find_platform(ISSUER, CLIENT_ID)
            barrier.wait()
            return lti.person(platform, "same-subject", "trainee").id

    with ThreadPoolExecutor(max_workers=2) as pool:
        ids = set(pool.map(first_launch, range(2)))
    assert len(ids) == 1
