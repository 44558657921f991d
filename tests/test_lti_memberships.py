"""LTI Names and Roles Provisioning: a trainer fills a course's cohort from the LMS's
membership, fetched with a service token from a real platform on loopback."""

import pytest
from helpers import client_of, gen_cohort, gen_user, post
from lti_platform import INSTRUCTOR, LEARNER
from sqlmodel import select
from test_lti import launch

from simulator.db import db
from simulator.models import Cohort, CohortMember, LtiIdentity, User

FILL = "Fill from the LMS course"


@pytest.fixture
def course(app, client, registered):
    """Launch an instructor into a course that offers its membership; return the cohort id."""
    registered.members = [
        {"user_id": "learner-1", "roles": [LEARNER], "name": "Ada Byron", "status": "Active"},
        {"user_id": "learner-2", "roles": [LEARNER], "status": "Inactive"},
        {"user_id": "teacher-2", "roles": [INSTRUCTOR], "status": "Active"},
    ]
    response = launch(client, registered, "teacher-1", roles=[INSTRUCTOR], memberships=True)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        return db.session.exec(select(Cohort.id)).one()


def fill(client, cohort_id):
    """Press the cohort page's fill button; return the page it leads to."""
    page = f"/train/cohorts/{cohort_id}"
    response = post(client, f"{page}/lms-fill", token_from=page)
    assert response.status_code == 303 and response.headers["Location"] == page
    return client.get(page).get_data(as_text=True)


def members_by_subject(app):
    """Return {subject: (role, name)} of the course cohort's members."""
    with app.app_context():
        statement = (
            select(LtiIdentity.subject, User.role, User.display_name)
            .join(User, User.id == LtiIdentity.user_id)
            .join(CohortMember, CohortMember.user_id == User.id)
        )
        return {subject: (role, name) for subject, role, name in db.session.exec(statement)}


def test_the_cohort_page_offers_to_fill_a_course_cohort(client, course):
    """A cohort made by a course whose LMS shares its members has the fill button."""
    assert FILL in client.get(f"/train/cohorts/{course}").get_data(as_text=True)


def test_filling_adds_the_active_learners(app, client, course):
    """Active learners get accounts by subject and join; others and instructors do not."""
    page = fill(client, course)
    assert "Added 1 learner(s)" in page
    assert members_by_subject(app) == {"learner-1": ("trainee", "Ada Byron")}
    with app.app_context():
        statement = select(User.role).join(LtiIdentity, LtiIdentity.user_id == User.id)
        teacher = db.session.exec(statement.where(LtiIdentity.subject == "teacher-2")).one()
    assert teacher == "trainer"


def test_filling_again_adds_no_one_twice(app, client, course):
    """A second fill finds the learner already in the cohort."""
    fill(client, course)
    assert "Added 0 learner(s) from the LMS course; 1 were already" in fill(client, course)
    assert list(members_by_subject(app)) == ["learner-1"]


def test_a_filled_learner_launching_later_is_the_same_account(app, client, registered, course):  # noqa: F811
    """The account made by a fill is the one the learner's own launch signs in."""
    fill(client, course)
    launch(client, registered, "learner-1")
    with app.app_context():
        assert len(db.session.exec(select(LtiIdentity.user_id)).all()) == 3
    assert list(members_by_subject(app)) == ["learner-1"]


def test_an_lms_that_refuses_adds_no_one(app, client, registered, course):  # noqa: F811
    """When the platform gives no token, the page says why and no one is added."""
    registered.down = True
    assert "No one was added. The LMS did not give its members" in fill(client, course)
    assert members_by_subject(app) == {}


def test_a_cohort_not_made_by_an_lms_has_no_fill(app):
    """A trainer's own cohort offers no fill, and asking fills nothing."""
    gen_user(app, "trainer", "trainer")
    cohort_id = gen_cohort(app, "trainer", "Intake 1")
    client = client_of(app, "trainer")
    assert FILL not in client.get(f"/train/cohorts/{cohort_id}").get_data(as_text=True)
    assert "No one was added. This cohort was not made" in fill(client, cohort_id)
