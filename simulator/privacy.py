"""Data protection: everything held about a person, erasing them, and removing old practice.

- **Subject access.** `subject_access` gathers a person's account, cohorts, attempts with
  their steps (rationales included), assessment events, overrides, marks and the audit
  entries about them or by them, in a fixed number of queries.
- **Erasure** is pseudonymisation: the username becomes "erased-<id>", the name, force,
  collar number and password go, and so does the text of every rationale they wrote (its
  SHA-256 stays). The chain covers a person's id and each rationale's hash, never names or
  text (chain.py), so every attempt and seal still verifies afterwards.
- **Retention.** `purge_practice` deletes free-practice attempts (no assignment) begun
  more than a number of days ago, with their steps.

Erasure and retention change append-only records, so both go through the one logged way
past the triggers, `records.unlocked`, with plain SQL statements (the ORM's own guard on
steps refuses unit-of-work updates even there).
"""

from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from . import records, sessions, throttle
from .administration import erased_username
from .db import db
from .models import (
    AssessmentOverride,
    Attempt,
    AttemptEvent,
    AttemptStep,
    AuditEntry,
    Cohort,
    CohortMember,
    RationaleMark,
    SignInThrottle,
    User,
    utcnow,
)

SHORTEST_RETENTION_DAYS = 30
REASON_MAX = 500
ACCOUNT_FIELDS = (
    "id",
    "username",
    "display_name",
    "force",
    "collar_number",
    "role",
    "created_at",
    "created_by_id",
    "must_change_password",
    "disabled_at",
)


def as_plain(row, leave_out=()):
    """Return a table row as a dict of its columns, times as ISO 8601 text."""
    plain = {}
    for column in row.__table__.columns:
        if column.name in leave_out:
            continue
        value = getattr(row, column.name)
        plain[column.name] = value.isoformat() if hasattr(value, "isoformat") else value
    return plain


def rows(statement):
    """Return the ORM rows a statement selects."""
    return db.session.execute(statement).scalars().all()


def subject_access(person):
    """Return everything held about a person, as plain data ready for JSON."""
    attempt_ids = select(Attempt.id).where(Attempt.user_id == person.id)
    memberships = db.session.execute(
        select(CohortMember, Cohort)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.user_id == person.id)
        .order_by(CohortMember.added_at)
    ).all()
    attempts = rows(select(Attempt).where(Attempt.user_id == person.id).order_by(Attempt.id))
    steps = rows(
        select(AttemptStep)
        .where(AttemptStep.attempt_id.in_(attempt_ids))
        .order_by(AttemptStep.attempt_id, AttemptStep.step_number)
    )
    events = rows(select(AttemptEvent).where(AttemptEvent.attempt_id.in_(attempt_ids)))
    marks = rows(select(RationaleMark).where(RationaleMark.attempt_id.in_(attempt_ids)))
    overrides = rows(select(AssessmentOverride).where(AssessmentOverride.user_id == person.id))
    audit_entries = rows(
        select(AuditEntry)
        .where(or_(about(person), AuditEntry.actor_id == person.id))
        .order_by(AuditEntry.id)
    )
    return {
        "generated_at": utcnow().isoformat(),
        "account": {field: plain_value(getattr(person, field)) for field in ACCOUNT_FIELDS},
        "cohorts": [
            {"cohort_id": cohort.id, "name": cohort.name, "added_at": member.added_at.isoformat()}
            for member, cohort in memberships
        ],
        "attempts": attempts_with_steps(attempts, steps, events, marks),
        "assessment_overrides": [as_plain(row) for row in overrides],
        "audit_entries": [as_plain(row) for row in audit_entries],
    }


def plain_value(value):
    """Return a value as JSON holds it (times as ISO 8601 text)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def attempts_with_steps(attempts, steps, events, marks):
    """Return each attempt as a dict holding its steps, events and marks."""
    by_attempt = {attempt.id: as_plain(attempt) for attempt in attempts}
    for attempt in by_attempt.values():
        attempt.update(steps=[], events=[], marks=[])
    for kind, found in (("steps", steps), ("events", events), ("marks", marks)):
        for row in found:
            by_attempt[row.attempt_id][kind].append(as_plain(row))
    return list(by_attempt.values())


def about(person):
    """Return the condition on the audit entries about this person's account."""
    return about_id(person.id, person.username)


def about_id(person_id, username):
    """Return the condition on the audit entries about an account: its target, or naming
    it in their details (a cohort's new member, a failed sign-in's username)."""
    return or_(
        (AuditEntry.target_type == User.__tablename__) & (AuditEntry.target_id == person_id),
        AuditEntry.details["user_id"].as_integer() == person_id,
        AuditEntry.details["username"].as_string() == username,
    )


def throttled_as(username):
    """Return the condition on the sign-in throttles that hold this username."""
    return or_(
        (SignInThrottle.scope == throttle.USERNAME.name) & (SignInThrottle.key == username),
        (SignInThrottle.scope == throttle.PAIR.name)
        & SignInThrottle.key.startswith(f"{username}\n"),
    )


def reason_problem(reason):
    """Return what is wrong with the reason given for an erasure, or None."""
    if not reason.strip():
        return "Say why the account is being erased, for the audit log"
    if len(reason) > REASON_MAX:
        return f"The reason must be {REASON_MAX} characters or fewer"
    if not reason.isprintable():
        return "The reason must be on one line, with no control characters"
    return None


def erase(actor, person, reason):
    """Pseudonymise a person in one logged transaction past the triggers; end their sessions.

    Their attempts, steps (less the rationale text), results and seals stay, and verify.
    """
    if actor is not None and person.id == actor.id:
        raise ValueError("You cannot erase your own account")
    old_username, new_username = person.username, erased_username(person)
    person_id = person.id
    db.session.expunge(person)  # changed below in SQL; the session must not write it back
    why = f"erasure of account {person_id}: {reason.strip()}"
    with records.unlocked(why, actor):
        db.session.execute(
            update(User)
            .where(User.id == person_id)
            .values(
                username=new_username,
                display_name="",
                force="",
                collar_number="",
                password_hash="!erased",  # not an Argon2 hash: no password matches it
                must_change_password=False,
                disabled_at=func.coalesce(User.disabled_at, utcnow()),
            )
        )
        attempt_ids = select(Attempt.id).where(Attempt.user_id == person_id)
        db.session.execute(
            update(AttemptStep)
            .where(AttemptStep.attempt_id.in_(attempt_ids), AttemptStep.rationale.is_not(None))
            .values(rationale=None)
        )
        # The audit log named them: its sentences about them get the new name, and the
        # details of changes to their account (names before and after) go.
        db.session.execute(
            update(AuditEntry)
            .where(about_id(person_id, old_username))
            .values(summary=func.replace(AuditEntry.summary, old_username, new_username))
        )
        db.session.execute(
            update(AuditEntry)
            .where(AuditEntry.target_type == User.__tablename__, AuditEntry.target_id == person_id)
            .values(details=None)
        )
        db.session.execute(delete(SignInThrottle).where(throttled_as(old_username)))
    sessions.end_sessions(person_id)
    return db.session.get(User, person_id)


def purge_practice(days, actor=None, now=None):
    """Delete free-practice attempts begun more than `days` ago, with their steps; return
    how many attempts. Refuses fewer than SHORTEST_RETENTION_DAYS days."""
    if days < SHORTEST_RETENTION_DAYS:
        raise ValueError(f"Keep practice for at least {SHORTEST_RETENTION_DAYS} days")
    cutoff = (now or utcnow()) - timedelta(days=days)
    old = select(Attempt.id).where(Attempt.assignment_id.is_(None), Attempt.started_at < cutoff)
    ids = db.session.execute(old).scalars().all()
    if not ids:
        return 0
    why = f"retention: free practice begun before {cutoff:%Y-%m-%d %H:%M} UTC ({days} days)"
    with records.unlocked(why, actor):
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            for table in (RationaleMark, AttemptEvent, AttemptStep):
                db.session.execute(delete(table).where(table.attempt_id.in_(batch)))
            db.session.execute(delete(Attempt).where(Attempt.id.in_(batch)))
    return len(ids)
