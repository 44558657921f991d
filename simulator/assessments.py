"""CPD assessments: an assignment's settings, each candidate's terms, the server's clock.

Modelled on Moodle's quiz. An assessment opens and closes at set times; an attempt may have
a time limit, and its deadline (the limit or the close, whichever comes first) is set by
the server when it starts: the server is the clock. When time runs out the assessment's
rule applies (Moodle's "overdue handling"):

- "close": the attempt is closed there, not passed, grade 0, and it counts as an attempt;
- "grace": the candidate may still go on to an ending for `grace_s` more seconds and the
  attempt is marked late (Moodle's grace period only allows submitting; here reaching an
  ending is the submission). Past the grace period it is closed as under "close";
- "discard": the attempt is abandoned, uses up an attempt and has no grade (Moodle's
  "attempts must be submitted before time expires, or they are not counted").

Attempt states are Moodle's: in progress, overdue (in its grace period), finished,
abandoned. Every change is kept in `AttemptEvent` with its time and reason. An attempt
left open is closed by `close_overdue` (the command `flask assessments close-overdue`)
and whenever anyone opens it (`close_if_due`).

A candidate's terms are the assessment's settings with their newest override applied
(reasonable adjustments, a disrupted sitting), each recorded with who set it and why.
Which attempt counts is the highest grade, the first or the last finished and counted one.
What a candidate sees of a finished attempt follows the review matrix: when (during,
immediately after, later while open, after close) by what (`REVIEW_WHAT`).
"""

import hmac
from dataclasses import dataclass
from datetime import timedelta

from flask import abort
from sqlmodel import select

from . import audit, grades, outbox, records
from .attempts import commit_or_conflict, progress_of, record_event, start_attempt
from .db import db
from .models import (
    AssessmentOverride,
    AssessmentSettings,
    Assignment,
    Attempt,
    AttemptEvent,
    User,
    utcnow,
)

REVIEW_WHEN = ("during", "immediately", "open", "closed")
REVIEW_WHEN_LABELS = {
    "during": "During the attempt",
    "immediately": "Immediately after (2 minutes)",
    "open": "Later, while the assessment is open",
    "closed": "After the assessment closes",
}
REVIEW_WHAT = ("outcome", "sharing", "scores", "feedback", "best_path")
REVIEW_WHAT_LABELS = {
    "outcome": "Outcome and pass",
    "sharing": "Sharing verdict and critical errors",
    "scores": "Scores and grade",
    "feedback": "Feedback and references on each choice",
    "best_path": "The best path",
}
DEFAULT_REVIEW = {
    "during": [],
    "immediately": ["outcome"],
    "open": ["outcome"],
    "closed": list(REVIEW_WHAT),
}
IMMEDIATELY = timedelta(minutes=2)  # Moodle's "immediately after the attempt"
OVERDUE_LABELS = {
    "close": "Close the attempt there: not passed, grade 0, counted as an attempt",
    "grace": "Allow a grace period to reach an ending (the attempt is marked late)",
    "discard": "Do not count it: the attempt is abandoned with no grade",
}
GRADE_METHOD_LABELS = {
    "highest": "Highest grade",
    "first": "First attempt",
    "last": "Last attempt",
}
STATE_LABELS = {
    "in_progress": "In progress",
    "overdue": "Overdue (grace period)",
    "finished": "Finished",
    "abandoned": "Abandoned",
}
LIMIT_MINUTES_MAX = 24 * 60
GRACE_MINUTES_MAX = 60
ATTEMPTS_MAX = 10
CODE_MAX = 64
REASON_MAX = 1000
# Why attempts were closed, as recorded and shown.
TIME_RAN_OUT = "Time ran out before an ending was reached."
GRACE_RAN_OUT = "The grace period ended before an ending was reached."
NOT_SUBMITTED = "Time ran out before an ending was reached, so the attempt is not counted."


@dataclass(frozen=True)
class Terms:
    """One candidate's terms: the assessment's settings with their override applied."""

    opens_at: object
    closes_at: object
    time_limit_s: int | None
    attempts_allowed: int
    overridden: bool = False


class Refused(Exception):
    """Raised when an attempt cannot start; its message says why, for the candidate."""


# --------------------------------------------------------------------------- settings


def settings_of(assignment):
    """Return an assessment's settings, or None for a practice assignment."""
    if assignment.mode != "assessment":
        return None
    return settings_of_id(assignment.id)


def settings_of_id(assignment_id):
    """Return the settings of the assessment with this assignment id."""
    statement = select(AssessmentSettings).where(AssessmentSettings.assignment_id == assignment_id)
    return db.session.exec(statement).one()


def settings_for(assignment_ids):
    """Return {assignment id: settings} for those of these assignments that are assessments."""
    if not assignment_ids:
        return {}
    statement = select(AssessmentSettings).where(
        AssessmentSettings.assignment_id.in_(sorted(set(assignment_ids)))
    )
    return {found.assignment_id: found for found in db.session.exec(statement).all()}


def normal_review(review):
    """Return a review matrix with only known whens and whats, in their order."""
    return {
        when: [what for what in REVIEW_WHAT if what in (review or {}).get(when, ())]
        for when in REVIEW_WHEN
    }


def create(actor, cohort, version, pinned, opens_at, settings):
    """Set an assessment for a cohort: an assignment in assessment mode with its settings.

    `settings` holds AssessmentSettings' fields (closes_at, time_limit_s, overdue, grace_s,
    attempts_allowed, grade_method, access_code, review). Recorded in the audit log.
    """
    assignment = Assignment(
        cohort_id=cohort.id,
        scenario_key=version.scenario_key,
        version_id=version.id if pinned else None,
        mode="assessment",
        opens_at=opens_at,
        due_at=settings["closes_at"],
        created_by_id=actor.id,
    )
    db.session.add(assignment)
    db.session.flush()
    found = AssessmentSettings(assignment_id=assignment.id, **settings)
    found.review = normal_review(found.review)
    db.session.add(found)
    which = f"version {version.version}" if pinned else "the current version"
    audit.record(
        actor,
        "assessment.create",
        assignment,
        f"Set {version.title!r} ({which}) as an assessment for cohort {cohort.name!r}",
        cohort_id=cohort.id,
        version_id=version.id,
        pinned=pinned,
        **described(opens_at, found),
    )
    db.session.commit()
    return assignment


def update(actor, assignment, found, opens_at, settings):
    """Change an assessment's settings, recording what they were before."""
    before = described(assignment.opens_at, found)
    for name, value in settings.items():
        setattr(found, name, value)
    found.review = normal_review(found.review)
    assignment.opens_at, assignment.due_at = opens_at, found.closes_at
    db.session.add_all([assignment, found])
    audit.record(
        actor,
        "assessment.update",
        assignment,
        "Changed an assessment's settings",
        before=before,
        after=described(opens_at, found),
    )
    db.session.commit()


def described(opens_at, found):
    """Return an assessment's settings as plain values, for the audit log."""
    return {
        "opens_at": opens_at.isoformat() if opens_at else None,
        "closes_at": found.closes_at.isoformat(),
        "time_limit_s": found.time_limit_s,
        "overdue": found.overdue,
        "grace_s": found.grace_s,
        "attempts_allowed": found.attempts_allowed,
        "grade_method": found.grade_method,
        "access_code": "set" if found.access_code else None,  # never the code itself
        "review": normal_review(found.review),
    }


# --------------------------------------------------------------------------- overrides


def set_override(actor, assignment, person, values, reason):
    """Give one candidate their own time limit, dates or attempts allowed, saying why.

    `values` holds any of time_limit_s, opens_at, closes_at, attempts_allowed (None keeps
    the assessment's own). The override is a new row: the history is kept.
    """
    override = AssessmentOverride(
        assignment_id=assignment.id,
        user_id=person.id,
        set_by_id=actor.id,
        reason=reason,
        **values,
    )
    db.session.add(override)
    db.session.flush()
    audit.record(
        actor,
        "assessment.override",
        assignment,
        override_summary(person.username, reason),
        user_id=person.id,
        override_id=override.id,
    )
    db.session.commit()
    return override


def override_summary(username, reason):
    """Return the audit log's sentence for a candidate's terms (privacy.erase rewrites it)."""
    return f"Set terms for {username!r}: {reason}"


def overrides_of(assignment_id, user_id=None):
    """Return an assessment's overrides, newest first, with who set them."""
    statement = (
        select(AssessmentOverride, User)
        .join(User, User.id == AssessmentOverride.set_by_id)
        .where(AssessmentOverride.assignment_id == assignment_id)
    )
    if user_id is not None:
        statement = statement.where(AssessmentOverride.user_id == user_id)
    newest_first = statement.order_by(
        AssessmentOverride.set_at.desc(), AssessmentOverride.id.desc()
    )
    return db.session.exec(newest_first).all()


def newest_overrides(assignment_id):
    """Return {candidate id: their newest override} for an assessment."""
    found = {}
    for override, _setter in overrides_of(assignment_id):
        found.setdefault(override.user_id, override)
    return found


def terms_of(assignment, found, override=None):
    """Return a candidate's terms: the settings, with an override's fields where it has them."""
    terms = Terms(assignment.opens_at, found.closes_at, found.time_limit_s, found.attempts_allowed)
    if override is None:
        return terms
    return Terms(
        override.opens_at or terms.opens_at,
        override.closes_at or terms.closes_at,
        override.time_limit_s or terms.time_limit_s,
        override.attempts_allowed or terms.attempts_allowed,
        overridden=True,
    )


def terms_for(assignment, found, user_id):
    """Return one candidate's terms on an assessment."""
    return terms_of(assignment, found, newest_overrides(assignment.id).get(user_id))


# --------------------------------------------------------------------------- starting


def attempts_used(own):
    """Count the attempts that use up one of those allowed: all but previews.

    Abandoned attempts count, as in Moodle: a discarded attempt is not graded but used.
    """
    return sum(1 for attempt in own if not attempt.preview)


def start_problem(terms, own, now):
    """Return why a candidate may not start an attempt now (dates, attempts), or None."""
    if terms.opens_at is not None and now < terms.opens_at:
        return "This assessment has not opened yet."
    if now >= terms.closes_at:
        return "This assessment has closed."
    if attempts_used(own) >= terms.attempts_allowed:
        allowed = terms.attempts_allowed
        return f"You have used the {allowed} {'attempt' if allowed == 1 else 'attempts'} allowed."
    return None


def code_problem(found, code):
    """Return why an access code given to start is refused, or None where it is right."""
    if not found.access_code:
        return None
    if not (code or "").strip():
        return "Enter the access code the invigilator gave you"
    if not codes_match(code, found.access_code):
        return "The access code is not right. Check it with the invigilator"
    return None


def codes_match(given, expected):
    """Compare an access code in constant time, ignoring case and surrounding spaces."""
    given = (given or "").strip().casefold().encode()
    return hmac.compare_digest(given, expected.strip().casefold().encode())


def deadlines(terms, found, started_at):
    """Return an attempt's deadline and the end of its grace period (None without one).

    The deadline is the time limit's end or the close, whichever comes first.
    """
    deadline = terms.closes_at
    if terms.time_limit_s is not None:
        deadline = min(deadline, started_at + timedelta(seconds=terms.time_limit_s))
    grace = deadline + timedelta(seconds=found.grace_s) if found.overdue == "grace" else None
    return deadline, grace


def start(user, version, number, assignment, found, terms, now=None, preview=False, shown=False):
    """Begin an assessment attempt with its clock set; raise StepConflict if begun already.

    `shown` says that its first node is shown as it begins (`attempts.start_attempt`).
    """
    now = now or utcnow()
    attempt = start_attempt(
        user, version, number, assignment, now=now, commit=False, preview=preview, shown=shown
    )
    attempt.deadline_at, attempt.grace_until = deadlines(terms, found, now)
    db.session.add(attempt)
    db.session.flush()
    reason = "A trainer's preview began." if preview else "The candidate began the attempt."
    record_event(attempt, "in_progress", reason, user.id, now)
    commit_or_conflict()
    return attempt


def events_of(attempt_id):
    """Return an attempt's state changes in the order they were recorded."""
    statement = select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id)
    return db.session.exec(statement.order_by(AttemptEvent.id)).all()


# --------------------------------------------------------------------------- the clock


def phase(attempt, now):
    """Say where an assessment attempt's clock stands: "open", "grace" or "over".

    An attempt without a deadline (practice) is always open.
    """
    if attempt.deadline_at is None or now < attempt.deadline_at:
        return "open"
    if attempt.grace_until is not None and now < attempt.grace_until:
        return "grace"
    return "over"


def live(attempt):
    """Say whether an attempt can still take a step: neither finished nor abandoned."""
    return attempt.finished_at is None and attempt.abandoned_at is None


def close_if_due(attempt, now=None, actor_id=None):
    """Bring an assessment attempt's state up to the clock; return whether it closed now.

    In its grace period an attempt becomes overdue (once); past its deadline (and grace)
    it is closed as the assessment's rule says.
    """
    now = now or utcnow()
    if attempt.mode != "assessment" or not live(attempt) or phase(attempt, now) == "open":
        return False
    attempt = locked(attempt)  # another request, or the command, may be closing it now
    if not live(attempt):
        return False
    where = phase(attempt, now)
    if where == "grace":
        if attempt.state != "overdue":
            reason = "The time limit passed; the grace period to reach an ending began."
            record_event(attempt, "overdue", reason, actor_id, attempt.deadline_at)
            db.session.commit()
        return False
    close(attempt, settings_of_id(attempt.assignment_id).overdue, now, actor_id)
    db.session.commit()
    return True


def close(attempt, rule, now, actor_id=None):
    """Close a live attempt whose time is over, as the rule says (see the module's doc).

    The attempt is closed at its deadline (or the end of its grace period), whenever the
    closing runs: that is when time ran out.
    """
    steps = progress_of(attempt).steps  # read before the attempt changes: one UPDATE seals it
    at = attempt.grace_until if rule == "grace" else attempt.deadline_at
    at = min(at or now, now)
    if rule == "discard":
        attempt.abandoned_at = at
        attempt.counted = False
        attempt.closed_reason = NOT_SUBMITTED
        record_event(attempt, "abandoned", NOT_SUBMITTED, actor_id, at)
        outbox.attempt_abandoned(attempt, NOT_SUBMITTED)
        return
    if rule == "grace" and attempt.state != "overdue":
        began = "The time limit passed; the grace period to reach an ending began."
        record_event(attempt, "overdue", began, actor_id, attempt.deadline_at)
    reason = GRACE_RAN_OUT if rule == "grace" else TIME_RAN_OUT
    attempt.finished_at = at
    attempt.passed = False
    attempt.closed_reason = reason
    attempt.late = rule == "grace"
    attempt.result = {"passed": False, "grade": 0, "ending": None, "closed": reason}
    record_event(attempt, "finished", reason, actor_id, at)
    records.seal(attempt, steps)
    outbox.attempt_finished(attempt)
    grades.attempt_finished(attempt)


def overdue_attempts(now):
    """Return the ids of live assessment attempts whose time is over (grace included)."""
    over = (Attempt.deadline_at <= now) & (
        Attempt.grace_until.is_(None) | (Attempt.grace_until <= now)
    )
    in_grace = (Attempt.deadline_at <= now) & (Attempt.state == "in_progress")
    statement = select(Attempt.id).where(
        Attempt.mode == "assessment",
        Attempt.finished_at.is_(None),
        Attempt.abandoned_at.is_(None),
        over | in_grace,
    )
    return list(db.session.exec(statement.order_by(Attempt.id)).all())


def close_overdue(now=None, log=None):
    """Close or mark overdue every assessment attempt whose time has come; return counts.

    Each attempt is handled in its own transaction, with its row locked (PostgreSQL's
    FOR UPDATE SKIP LOCKED, so that several machines running this at once never handle
    the same attempt twice and never wait on each other); one that fails is rolled back
    and logged, and the rest go on. Returns (closed, marked overdue, failed).
    """
    now = now or utcnow()
    closed = overdue = failed = 0
    for attempt_id in overdue_attempts(now):
        try:
            attempt = locked_attempt(attempt_id)
            if attempt is None:
                db.session.rollback()
                continue
            was = attempt.state
            if close_if_due(attempt, now):
                closed += 1
            elif attempt.state == "overdue" and was != "overdue":
                overdue += 1
            else:
                db.session.rollback()
        except Exception as error:  # noqa: BLE001 - one failure never stops the rest
            db.session.rollback()
            failed += 1
            if log is not None:
                log(f"attempt {attempt_id}: {type(error).__name__}: {error}")
    return closed, overdue, failed


def locked_attempt(attempt_id):
    """Return an attempt locked for this transaction, or None if another holds it."""
    statement = select(Attempt).where(Attempt.id == attempt_id).with_for_update(skip_locked=True)
    return db.session.exec(statement.execution_options(populate_existing=True)).first()


def locked(attempt):
    """Return an attempt read again and locked for this transaction, waiting for another
    transaction that holds it (PostgreSQL; SQLite has one writer at a time anyway)."""
    statement = select(Attempt).where(Attempt.id == attempt.id).with_for_update()
    return db.session.exec(statement.execution_options(populate_existing=True)).one()


# --------------------------------------------------------------------------- grades and review


def grade_of(attempt):
    """Return a finished, counted attempt's grade (0 for one closed before an ending)."""
    if attempt.finished_at is None or not attempt.counted or attempt.preview:
        return None
    return (attempt.result or {}).get("grade", 0)


def counting_attempt(own, method):
    """Return the attempt whose grade counts, by the grade method, or None."""
    graded = [a for a in own if grade_of(a) is not None]
    if not graded:
        return None
    if method == "first":
        return graded[0]
    if method == "last":
        return graded[-1]
    return max(graded, key=lambda a: (grade_of(a), -a.number))


def review_when(attempt, terms, now):
    """Say which column of the review matrix applies to an attempt now."""
    if live(attempt):
        return "during"
    ended = attempt.finished_at or attempt.abandoned_at
    if now >= terms.closes_at:
        return "closed"
    if now < ended + IMMEDIATELY:
        return "immediately"
    return "open"


def review_allows(found, attempt, terms, now):
    """Return the set of what the candidate may see of an attempt now."""
    return set(normal_review(found.review)[review_when(attempt, terms, now)])


def own_assessment(user, assignment):
    """Return a candidate's assessment settings and terms, or 404 for a practice one."""
    found = settings_of(assignment) or abort(404)
    return found, terms_for(assignment, found, user.id)
