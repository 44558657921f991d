"""LTI Assignment and Grade Services: scores for the LMS gradebook, through the outbox.

A launch that carries the AGS claim leaves its line item on the resource link
(`remember_launch`), and the person who launched it on the link's list of learners. When
a practice attempt at what the link opens finishes, or an assessment attempt finishes or
is closed, `attempt_finished` adds an 'ags-score' outbox row in the caller's transaction:
the score of the attempt that counts (the finished practice attempt itself; for an
assessment, the one its grade method picks), for the line item of each link the person
launched. `deliver` (run by `flask records send`) posts each score to `<line item>/scores`
with a service token got from the platform by pylti1p3's signed client assertion.
"""

import uuid
from datetime import UTC

import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException
from pylti1p3.grade import Grade
from pylti1p3.service_connector import ServiceConnector
from sqlmodel import select

from . import lti, outbox
from .db import db
from .models import (
    Attempt,
    LtiIdentity,
    LtiLinkLearner,
    LtiResourceLink,
    OutboxMessage,
    utcnow,
)

AGS_SCORES = "ags-score"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCORE_MAXIMUM = 100  # the engine's grade is a percentage
SERVICE_TIMEOUT = 10  # seconds to wait for a platform's token or scores endpoint
ERROR_SHOWN = 300


# --------------------------------------------------------------------------- at launch


def remember_launch(platform, link_id, user, claim):
    """Keep a launch's AGS claim on its resource link, and the person among its learners."""
    link = resource_link(platform, link_id)
    if link is None:
        return
    if isinstance(claim, dict) and (claim.get("lineitem") or claim.get("lineitems")):
        link.lineitem_url = str(claim.get("lineitem") or "") or None
        link.lineitems_url = str(claim.get("lineitems") or "") or None
        link.ags_scopes = [str(scope) for scope in claim.get("scope") or []]
        db.session.add(link)
        db.session.flush()
    known = select(LtiLinkLearner.id).where(
        LtiLinkLearner.resource_link_id == link.id, LtiLinkLearner.user_id == user.id
    )
    if db.session.exec(known).first() is None:
        db.session.add(LtiLinkLearner(resource_link_id=link.id, user_id=user.id))
    db.session.commit()


def resource_link(platform, link_id):
    """Return a platform's resource link by its id, or None."""
    statement = select(LtiResourceLink).where(
        LtiResourceLink.platform_id == platform.id,
        LtiResourceLink.resource_link_id == link_id,
    )
    return db.session.exec(statement).first() if link_id else None


# --------------------------------------------------------------------------- writing scores


def attempt_finished(attempt):
    """Add a score row for each graded link the person launched to this attempt's activity.

    Nothing is flushed or committed here: the caller commits it with the attempt.
    """
    if attempt.preview or attempt.finished_at is None:
        return
    with db.session.no_autoflush:
        links = graded_links(attempt)  # one query, and most attempts have none
        counting = counting_attempt(attempt) if links else None
        for link, subject in links if counting else ():
            db.session.add(score_row(link, subject, attempt, counting))


def counting_attempt(attempt):
    """Return the attempt whose grade the LMS gets: this one in practice, else as the
    assessment's grade method says (None if none counts)."""
    if attempt.mode != "assessment":
        return attempt
    from . import assessments  # assessments imports attempts, which calls this module

    settings = assessments.settings_of_id(attempt.assignment_id)
    statement = select(Attempt).where(
        Attempt.user_id == attempt.user_id, Attempt.assignment_id == attempt.assignment_id
    )
    own = db.session.exec(statement.order_by(Attempt.number)).all()
    return assessments.counting_attempt(own, settings.grade_method)


def graded_links(attempt):
    """Return (link, subject) for each link with a line item the person launched that opens
    this attempt's assignment, or (in free practice) its scenario."""
    statement = (
        select(LtiResourceLink, LtiIdentity.subject)
        .join(LtiLinkLearner, LtiLinkLearner.resource_link_id == LtiResourceLink.id)
        .join(
            LtiIdentity,
            (LtiIdentity.platform_id == LtiResourceLink.platform_id)
            & (LtiIdentity.user_id == LtiLinkLearner.user_id),
        )
        .where(
            LtiLinkLearner.user_id == attempt.user_id, LtiResourceLink.lineitem_url.is_not(None)
        )
    )
    if attempt.assignment_id is not None:
        statement = statement.where(LtiResourceLink.assignment_id == attempt.assignment_id)
    else:
        statement = statement.where(
            LtiResourceLink.assignment_id.is_(None),
            LtiResourceLink.scenario_key == attempt.scenario_key,
        )
    return db.session.exec(statement.order_by(LtiResourceLink.id)).all()


def score_row(link, subject, attempt, counting):
    """Return the outbox row of the score an attempt's ending sends to a link's line item."""
    grade = (counting.result or {}).get("grade", 0)
    score = {
        "userId": subject,
        "scoreGiven": grade,
        "scoreMaximum": SCORE_MAXIMUM,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": aware(attempt.finished_at).isoformat(),
    }
    name = f"ags-score/{link.id}/{attempt.id}"
    message_id = str(uuid.uuid5(outbox.namespace(), name))
    payload = {
        "platform_id": link.platform_id,
        "lineitem": link.lineitem_url,
        "scopes": list(link.ags_scopes or [SCORE_SCOPE]),
        "score": score,
    }
    return OutboxMessage(
        kind=AGS_SCORES, message_id=message_id, destination=link.lineitem_url, payload=payload
    )


def aware(moment):
    """Return a time with its time zone: the database hands back UTC without one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- sending scores


class TimedSession(requests.Session):
    """A requests session that gives up on a platform after SERVICE_TIMEOUT."""

    def request(self, *args, **kwargs):
        """Send the request with a time-out, following no redirects."""
        kwargs.setdefault("timeout", SERVICE_TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        return super().request(*args, **kwargs)


class ToolServices(ServiceConnector):
    """pylti1p3's service connector, keeping its access tokens for one run of the sender."""

    def __init__(self, registration, requests_session=None):
        super().__init__(registration, requests_session or TimedSession())
        self._tokens = {}

    def _get_cached_access_token(self, scope_key):
        """Return a token got earlier in this run for these scopes, or None."""
        token, until = self._tokens.get(scope_key, (None, 0))
        return token if until > utcnow().timestamp() else None

    def _cache_access_token(self, scope_key, access_token, expires_in):
        """Keep a token until shortly before it expires."""
        until = utcnow().timestamp() + max(float(expires_in or 0) - 30, 0)
        self._tokens[scope_key] = (access_token, until)


def deliver(payloads):
    """Post each score to its line item; return None for each one delivered, else the error.

    A platform that gives no service token (down, or refusing the tool's assertion) is not
    asked again this run: its other scores fail with the same error and wait for the next
    run. A score the platform refuses holds back no other.
    """
    connectors, down, errors = {}, {}, []
    for payload in payloads:
        platform_id = payload["platform_id"]
        if platform_id in down:
            errors.append(down[platform_id])
            continue
        if platform_id not in connectors:
            platform = lti.platform_by_id(platform_id)
            registration = platform and lti.DatabaseToolConfig().find_registration_by_params(
                platform.issuer, platform.client_id
            )
            connectors[platform_id] = registration and ToolServices(registration)
        error = token_problem(connectors[platform_id], payload["scopes"])
        if error is not None:
            down[platform_id] = error
        errors.append(error or post_score(connectors[platform_id], payload))
    return errors


def token_problem(connector, scopes):
    """Get (or reuse) a service token for these scopes; return None, or why there is none."""
    if connector is None:
        return "the platform is no longer registered"
    try:
        connector.get_access_token(scopes)
    except LtiException as error:
        return str(error)[:ERROR_SHOWN]
    except (requests.RequestException, KeyError, ValueError) as error:
        return f"no service token from the platform: {type(error).__name__}: {error}"[:ERROR_SHOWN]
    return None


def post_score(connector, payload):
    """Post one score with a service token; return None, or why it failed."""
    service = AssignmentsGradesService(
        connector, {"scope": payload["scopes"], "lineitem": payload["lineitem"]}
    )
    score = payload["score"]
    grade = (
        Grade()
        .set_user_id(score["userId"])
        .set_score_given(score["scoreGiven"])
        .set_score_maximum(score["scoreMaximum"])
        .set_activity_progress(score["activityProgress"])
        .set_grading_progress(score["gradingProgress"])
        .set_timestamp(score["timestamp"])
    )
    try:
        service.put_grade(grade)
    except LtiException as error:  # its message names the address and the HTTP status
        return str(error)[:ERROR_SHOWN]
    except requests.RequestException as error:
        return f"could not reach the platform: {type(error).__name__}: {error}"[:ERROR_SHOWN]
    return None
