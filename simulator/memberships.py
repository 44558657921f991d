"""LTI Names and Roles Provisioning: fill a course's cohort from the LMS's membership.

A launch that carries the NRPS claim leaves its course's membership address on the
course's LtiContext (`remember_launch`). `fill_cohort` fetches the membership with a service
token (pylti1p3's NamesRolesProvisioningService over grades.ToolServices), maps each active
member to an account by (platform, subject) as a launch would, and adds the learners to the
cohort; instructors are made trainers and share nothing until they launch.
"""

from dataclasses import dataclass

import requests
from pylti1p3.exception import LtiException
from pylti1p3.names_roles import NamesRolesProvisioningService
from sqlmodel import select

from . import cohorts, lti
from .db import db
from .grades import ToolServices
from .models import LtiContext

NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
ERROR_SHOWN = 300


class FillFailed(Exception):
    """Raised when the LMS's membership cannot be fetched; its message says why."""


@dataclass
class Filled:
    """What filling a cohort did: learners added, learners already in it, others skipped."""

    added: int = 0
    already: int = 0
    not_learners: int = 0


def remember_launch(platform, context, claim):
    """Keep a launch's membership address on its course's context, if it sent one."""
    url = claim.get("context_memberships_url") if isinstance(claim, dict) else None
    link = course_context(platform.id, (context or {}).get("id"))
    if link is None or not url or link.memberships_url == url:
        return
    link.memberships_url = str(url)
    db.session.add(link)
    db.session.commit()


def course_context(platform_id, context_id):
    """Return a platform's course context by its id, or None."""
    statement = select(LtiContext).where(
        LtiContext.platform_id == platform_id, LtiContext.context_id == context_id
    )
    return db.session.exec(statement).first() if context_id else None


def linked_course(cohort):
    """Return the LMS course a cohort was made for, if the LMS offers its membership."""
    statement = select(LtiContext).where(
        LtiContext.cohort_id == cohort.id, LtiContext.memberships_url.is_not(None)
    )
    return db.session.exec(statement.order_by(LtiContext.id)).first()


def fill_cohort(actor, cohort):
    """Add the course's active learners to its cohort, making their accounts; return Filled.

    Raise FillFailed if the cohort has no course with a membership, or the LMS refuses.
    """
    course = linked_course(cohort)
    if course is None:
        raise FillFailed("This cohort was not made by an LMS course that shares its members.")
    platform = lti.platform_by_id(course.platform_id)
    filled = Filled()
    for member in members_of(platform, course.memberships_url):
        if member.get("status", "Active") != "Active" or not member.get("user_id"):
            continue
        role = lti.role_of(member.get("roles"))
        person = lti.person(platform, str(member["user_id"]), role, member.get("name") or "")
        if person.role != "trainee":
            filled.not_learners += 1
        elif cohorts.add_member(actor, cohort, person):
            filled.added += 1
        else:
            filled.already += 1
    return filled


def members_of(platform, url):
    """Return the members the LMS lists at its membership address, every page of them."""
    registration = lti.DatabaseToolConfig().find_registration_by_params(
        platform.issuer, platform.client_id
    )
    service = NamesRolesProvisioningService(
        ToolServices(registration), {"context_memberships_url": url}
    )
    try:
        return service.get_members()
    except LtiException as error:  # its message names the address and the HTTP status
        raise FillFailed(f"The LMS did not give its members: {error}"[:ERROR_SHOWN]) from None
    except requests.RequestException as error:
        raise FillFailed(f"The LMS could not be reached: {type(error).__name__}") from None
