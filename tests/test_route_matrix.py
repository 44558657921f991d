"""Every route, for every kind of person: who may use it, and what the others get.

The people: someone not signed in; a trainee in the cohort; a trainer who owns the cohort
(and created the trainee's account); another trainer, who cannot see it; an admin. A route
missing from ROUTES fails `test_every_route_is_in_the_matrix`, so a new route cannot be
added without saying who may use it.
"""

import pytest
from helpers import (
    BEST_PATH,
    csrf_token,
    gen_assessment,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_user,
    sign_in,
)

from simulator import accounts, lti
from simulator.db import db
from simulator.models import Attempt, User

ACTORS = ("anonymous", "member", "owner", "other", "admin")
OK = "ok"  # answered, neither refused nor hidden: below 400, or a form's 422
LOGIN = "sign in"  # sent to the sign-in page
# Who is allowed, by kind of route; everyone else gets the code given.
RULES = {
    "public": {"anonymous": OK, "member": OK, "owner": OK, "other": OK, "admin": OK},
    "signed in": {"anonymous": LOGIN, "member": OK, "owner": OK, "other": OK, "admin": OK},
    # The trainee's own attempt or assignment: nobody else learns it exists.
    "member's own": {"anonymous": LOGIN, "member": OK, "owner": 404, "other": 404, "admin": 404},
    # Trainer pages that list only what the person may see.
    "trainers": {"anonymous": LOGIN, "member": 403, "owner": OK, "other": OK, "admin": OK},
    # The cohort's own pages: another trainer is told nothing.
    "cohort": {"anonymous": LOGIN, "member": 403, "owner": OK, "other": 404, "admin": OK},
    "admin": {"anonymous": LOGIN, "member": 403, "owner": 403, "other": 403, "admin": OK},
    # A picture the scenario does not have: not found, for everyone signed in.
    "no such thing": {"anonymous": LOGIN, "member": 404, "owner": 404, "other": 404, "admin": 404},
}
ROUTES = [
    ("GET", "/sign-in", "public"),
    ("POST", "/sign-in", "public"),
    ("GET", "/healthz", "public"),
    # LTI 1.3 (tests/test_lti.py): without a platform's launch, a plain refusal page.
    ("GET", "/lti/jwks", "public"),
    ("GET", "/lti/login", "public"),
    ("POST", "/lti/login", "public"),
    ("POST", "/lti/launch", "public"),
    ("GET", "/lti/deep-link", "trainers"),
    ("POST", "/lti/deep-link", "trainers"),
    ("POST", "/sign-out", "signed in"),
    ("GET", "/", "signed in"),
    ("GET", "/account", "signed in"),
    ("POST", "/account", "signed in"),
    ("GET", "/account/password", "signed in"),
    ("POST", "/account/password", "signed in"),
    ("GET", "/scenarios/doorstep", "signed in"),
    ("POST", "/scenarios/doorstep/attempts", "signed in"),
    ("GET", "/versions/{version_id}/images/door.png", "no such thing"),
    ("GET", "/assignments/{assignment_id}", "member's own"),
    ("POST", "/assignments/{assignment_id}/attempts", "member's own"),
    ("GET", "/attempts/{attempt_id}", "member's own"),
    ("POST", "/attempts/{attempt_id}", "member's own"),
    ("POST", "/attempts/{attempt_id}/abandon", "member's own"),
    ("GET", "/attempts/{attempt_id}/debrief", "member's own"),
    ("GET", "/attempts/{attempt_id}/feedback/1", "member's own"),
    ("GET", "/train/", "trainers"),
    ("GET", "/library", "trainers"),
    ("GET", "/library/upload", "trainers"),
    ("POST", "/library/upload", "trainers"),
    ("GET", "/library/starter.yaml", "trainers"),
    ("GET", "/library/scenarios/doorstep", "trainers"),
    ("GET", "/library/scenarios/doorstep/compare", "trainers"),
    ("POST", "/library/scenarios/doorstep/retire", "trainers"),
    ("POST", "/library/scenarios/doorstep/restore", "trainers"),
    ("GET", "/library/versions/{version_id}", "trainers"),
    ("GET", "/library/versions/{version_id}/source.yaml", "trainers"),
    ("POST", "/library/versions/{version_id}/publish", "trainers"),
    ("GET", "/library/versions/{version_id}/copy", "trainers"),
    ("POST", "/library/versions/{version_id}/copy", "trainers"),
    ("POST", "/library/versions/{version_id}/preview", "trainers"),
    ("GET", "/train/cohorts/new", "trainers"),
    ("POST", "/train/cohorts/new", "trainers"),
    ("GET", "/train/people", "trainers"),
    ("GET", "/train/audit", "trainers"),
    ("GET", "/train/scenarios", "trainers"),
    ("GET", "/train/scenarios/doorstep/analytics", "trainers"),
    ("GET", "/train/cohorts/{cohort_id}", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/edit", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/edit", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/archive", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/archive", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/unarchive", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/sharing", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/sharing", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/sharing/{other_id}/stop", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/people/new", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/people/new", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/import", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/import", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/lms-fill", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/members/{member_id}/remove", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/members/{member_id}/remove", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/assignments/new", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/assignments/new", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/results.csv", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/steps.csv", "cohort"),
    ("GET", "/train/assignments/{assignment_id}", "cohort"),
    ("GET", "/train/assignments/{assignment_id}/analytics", "cohort"),
    ("GET", "/train/assignments/{assignment_id}/dates", "cohort"),
    ("POST", "/train/assignments/{assignment_id}/dates", "cohort"),
    ("GET", "/train/assignments/{assignment_id}/withdraw", "cohort"),
    ("POST", "/train/assignments/{assignment_id}/withdraw", "cohort"),
    ("GET", "/train/assignments/{assignment_id}/results.csv", "cohort"),
    ("GET", "/train/assignments/{assignment_id}/steps.csv", "cohort"),
    ("GET", "/train/people/{member_id}", "cohort"),
    ("GET", "/train/people/{member_id}/password", "cohort"),
    ("POST", "/train/people/{member_id}/password", "cohort"),
    ("GET", "/train/attempts/{attempt_id}", "cohort"),
    ("GET", "/train/attempts/{attempt_id}/path", "cohort"),
    ("GET", "/train/attempts/{attempt_id}/marks", "cohort"),
    ("POST", "/train/attempts/{attempt_id}/marks", "cohort"),
    ("GET", "/train/attempts/{attempt_id}/record", "cohort"),
    ("GET", "/train/cohorts/{cohort_id}/assessments/new", "cohort"),
    ("POST", "/train/cohorts/{cohort_id}/assessments/new", "cohort"),
    ("GET", "/train/assignments/{assessment_id}/settings", "cohort"),
    ("POST", "/train/assignments/{assessment_id}/settings", "cohort"),
    ("POST", "/train/assignments/{assessment_id}/preview", "cohort"),
    ("GET", "/train/assignments/{assessment_id}/invigilate", "cohort"),
    ("GET", "/train/assignments/{assessment_id}/people/{member_id}/terms", "cohort"),
    ("POST", "/train/assignments/{assessment_id}/people/{member_id}/terms", "cohort"),
    ("GET", "/train/people/{member_id}/details", "admin"),
    ("POST", "/train/people/{member_id}/details", "admin"),
    ("GET", "/privacy", "public"),
    ("GET", "/accessibility", "public"),
    ("GET", "/guide", "public"),
    ("GET", "/admin/", "admin"),
    ("GET", "/admin/accounts/new", "admin"),
    ("POST", "/admin/accounts/new", "admin"),
    ("GET", "/admin/accounts/import", "admin"),
    ("POST", "/admin/accounts/import", "admin"),
    ("GET", "/admin/accounts/{member_id}", "admin"),
    ("GET", "/admin/accounts/{member_id}/password", "admin"),
    ("POST", "/admin/accounts/{member_id}/password", "admin"),
    ("POST", "/admin/accounts/{member_id}/role", "admin"),
    ("POST", "/admin/accounts/{member_id}/disable", "admin"),
    ("POST", "/admin/accounts/{member_id}/enable", "admin"),
    ("POST", "/admin/accounts/{member_id}/unlock", "admin"),
    ("GET", "/admin/accounts/{member_id}/data.json", "admin"),
    ("GET", "/admin/accounts/{member_id}/erase", "admin"),
    ("POST", "/admin/accounts/{member_id}/erase", "admin"),
    ("GET", "/admin/lti", "admin"),
    ("GET", "/admin/lti/new", "admin"),
    ("POST", "/admin/lti/new", "admin"),
    ("GET", "/admin/lti/{platform_id}/edit", "admin"),
    ("POST", "/admin/lti/{platform_id}/edit", "admin"),
]


@pytest.fixture
def world(app):
    """Make the five kinds of person, a cohort with an assignment and an assessment, and a
    finished attempt at the assignment, and an LTI platform."""
    owner_id = gen_user(app, "owner", "trainer")
    other_id = gen_user(app, "other", "trainer")
    gen_user(app, "admin", "admin")
    member_id = gen_user(app, "member")
    with app.app_context():
        db.session.get(User, member_id).created_by_id = owner_id
        db.session.commit()
    cohort_id = gen_cohort(app, "owner", "Intake", ["member"])
    assignment_id = gen_assignment(app, cohort_id)
    attempt_id = gen_attempt(app, "member", BEST_PATH, assignment_id=assignment_id)
    assessment_id = gen_assessment(app, cohort_id)
    with app.app_context():
        version_id = db.session.get(Attempt, attempt_id).scenario_version_id
        admin = accounts.find_user("admin")
        urls = (
            "https://lms.example/auth",
            "https://lms.example/token",
            "https://lms.example/jwks",
        )
        platform_id = lti.add_platform(admin, "https://lms.example", "c", ["1"], *urls).id
    return {
        "cohort_id": cohort_id,
        "assignment_id": assignment_id,
        "assessment_id": assessment_id,
        "attempt_id": attempt_id,
        "member_id": member_id,
        "other_id": other_id,
        "version_id": version_id,
        "platform_id": platform_id,
    }


def outcome(app, actor, method, url):
    """Return how the route answers this actor: OK, LOGIN, or the refusing status code."""
    client = app.test_client()
    if actor != "anonymous":
        assert sign_in(client, actor).status_code == 303
    if method == "GET":
        response = client.get(url)
    else:
        token = csrf_token(client, "/sign-in" if actor == "anonymous" else "/account")
        response = client.post(url, data={"csrf_token": token})
    status = response.status_code
    assert status < 500, f"{actor} {method} {url}: {status}"
    if status == 302 and response.headers["Location"].startswith("/sign-in"):
        return LOGIN
    if status in (403, 404):
        return status
    return OK


@pytest.mark.parametrize(("method", "route", "kind"), ROUTES)
def test_route_answers_each_person_as_its_rule_says(app, world, method, route, kind):
    """Each person gets the route, a sign-in page, a 403 or a 404, as the route's rule says."""
    url = route.format(**world)
    got = {actor: outcome(app, actor, method, url) for actor in ACTORS}
    assert got == RULES[kind]


def test_every_route_is_in_the_matrix(app, world):
    """Every endpoint, for each of its methods, is in the matrix."""
    adapter = app.url_map.bind("localhost")
    listed = {
        (method, adapter.match(route.format(**world), method=method)[0])
        for method, route, _ in ROUTES
    }
    every = {
        (method, rule.endpoint)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert every - listed == set()
