"""Data protection: everything held about a person, erasing them, and removing old practice.

- **Subject access.** `subject_access` gathers a person's account, cohorts, attempts with
  their steps (rationales included), assessment events, the marks and terms trainers wrote
  about them, what they wrote about others (the cohorts they own, the marks they gave, the
  terms they set) and the audit entries about them or by them, in a fixed number of
  queries.
- **Erasure** is pseudonymisation: the account keeps its id, which every record points at,
  and becomes "erased-<id>", disabled and signed out everywhere, with no name, force, collar
  number or password. The chain covers a person's id and each rationale's hash, never names
  or text (chain.py), so every attempt and seal still verifies afterwards. Free text is
  handled column by column, by whom it is about and who wrote it:

  - `attempt_steps.rationale` (the person's own reasons): the text goes; its SHA-256 stays.
  - `rationale_marks.comment` (a trainer on a candidate's reason) and
    `assessment_overrides.reason` (a trainer on why a candidate's terms differ, often
    health): about the candidate, so erasing the candidate makes them ERASED_TEXT; the
    criteria met, the terms themselves (they explain the attempt's deadline), who wrote
    them and when all stay. Erasing the trainer keeps them, as part of the candidate's
    record, with the trainer's names replaced.
  - `cohorts.name` and `cohorts.description` (a trainer, about a course the trainees share):
    kept, with the owner's names replaced when the owner is erased.
  - `audit_log.summary` (the app's sentences, which quote usernames and copy in names and
    reasons people typed): the quoted username becomes the pseudonym everywhere, and the
    reason of each "Set terms for" entry about the person goes. `audit_log.details`: those
    of entries about the account (names before and after a change, a failed sign-in's
    address) go; in entries by the person their names are replaced.
  - The erasure's own reason, typed by the admin for the audit log: the person's names in
    it are replaced before it is written.
  - Kept as written: `attempt_events.reason` and `attempts.closed_reason` (the server's own
    fixed sentences; the latter is sealed), and scenario files (teaching material, whose
    exact bytes attempts are pinned to).

  "Their names" are the display name and collar number, as whole words spelt as in the
  account, replaced in every column above; and, in text the person typed themselves
  (their comments, reasons and cohorts), their username too, as a whole word in any case.
  The username is left alone in the app's own sentences, where a name such as "admin"
  would be a word of the sentence. A machine cannot find other mentions (a nickname, a
  misspelling) in what someone else wrote: that is why text about the erased person is
  removed rather than searched. Sign-in throttles under their username, and their
  sessions, are deleted.
- **Retention.** `purge_practice` deletes free-practice attempts (no assignment) begun
  more than a number of days ago, with their steps.

Erasure and retention change append-only records, so both go through the one logged way
past the triggers, `records.unlocked`, with plain SQL statements (the ORM's own guard on
steps refuses unit-of-work updates even there).
"""

import re
from datetime import timedelta

from sqlalchemy import JSON, delete, func, or_, select, update

from . import assessments, audit, records, sessions, throttle
from .administration import erased_username
from .counting import plural
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
ERASED_TEXT = "[erased]"  # in place of free text about an erased person
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
    marks = rows(
        select(RationaleMark)
        .where(
            or_(RationaleMark.attempt_id.in_(attempt_ids), RationaleMark.marker_id == person.id)
        )
        .order_by(RationaleMark.id)
    )
    overrides = rows(
        select(AssessmentOverride)
        .where(
            or_(AssessmentOverride.user_id == person.id, AssessmentOverride.set_by_id == person.id)
        )
        .order_by(AssessmentOverride.id)
    )
    owned = rows(select(Cohort).where(Cohort.owner_id == person.id).order_by(Cohort.id))
    audit_entries = rows(
        select(AuditEntry)
        .where(or_(about(person), AuditEntry.actor_id == person.id))
        .order_by(AuditEntry.id)
    )
    own = {attempt.id for attempt in attempts}
    return {
        "generated_at": utcnow().isoformat(),
        "account": {field: plain_value(getattr(person, field)) for field in ACCOUNT_FIELDS},
        "cohorts": [
            {"cohort_id": cohort.id, "name": cohort.name, "added_at": member.added_at.isoformat()}
            for member, cohort in memberships
        ],
        "attempts": attempts_with_steps(
            attempts, steps, events, [mark for mark in marks if mark.attempt_id in own]
        ),
        "assessment_overrides": [as_plain(o) for o in overrides if o.user_id == person.id],
        "written_by_them": {
            "cohorts_owned": [as_plain(cohort) for cohort in owned],
            "rationale_marks": [as_plain(m) for m in marks if m.marker_id == person.id],
            "assessment_overrides": [as_plain(o) for o in overrides if o.set_by_id == person.id],
        },
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
    """Return the condition on the audit entries about this person's account.

    Its target; naming it in their details (a cohort's new member or sharer, a failed
    sign-in's username); or quoting its username, as the app's sentences do (a mark of
    their reason, a clearing of their failed sign-ins).
    """
    return or_(
        (AuditEntry.target_type == User.__tablename__) & (AuditEntry.target_id == person.id),
        AuditEntry.details["user_id"].as_integer() == person.id,
        AuditEntry.details["trainer_id"].as_integer() == person.id,
        AuditEntry.details["username"].as_string() == person.username,
        AuditEntry.summary.contains(repr(person.username), autoescape=True),
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


class Names:
    """How a person is named in free text (see the module's doc), and who replaces them."""

    def __init__(self, person, pseudonym):
        self.spelt = [n for n in (person.display_name.strip(), person.collar_number.strip()) if n]
        self.exact = whole_words(self.spelt) if self.spelt else None
        self.typed = whole_words([person.username, *self.spelt], re.IGNORECASE)
        self.pseudonym = pseudonym

    def replaced(self, value, typed_by_them=False):
        """Return text, or JSON (dicts, lists, strings), with the person's names replaced."""
        if isinstance(value, dict):
            return {key: self.replaced(item, typed_by_them) for key, item in value.items()}
        if isinstance(value, list):
            return [self.replaced(item, typed_by_them) for item in value]
        if not isinstance(value, str):
            return value
        pattern = self.typed if typed_by_them else self.exact
        return pattern.sub(lambda _match: self.pseudonym, value) if pattern else value


def whole_words(words, flags=0):
    """Return a pattern matching any of these words or phrases, each as a whole."""
    choices = "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{choices})(?!\w)", flags)


def erase(actor, person, reason):
    """Pseudonymise a person in one logged transaction past the triggers; end their sessions.

    Their attempts, steps (less the rationale text), results and seals stay, and verify;
    free text about them goes, and their names leave the rest (see the module's doc).
    """
    if actor is not None and person.id == actor.id:
        raise ValueError("You cannot erase your own account")
    old_username, person_id = person.username, person.id
    names = Names(person, erased_username(person))
    db.session.expunge(person)  # changed below in SQL; the session must not write it back
    said = names.replaced(reason.strip(), typed_by_them=True)
    with records.unlocked(f"erasure of account {person_id}: {said}", actor):
        pseudonymise_account(person_id, names.pseudonym)
        remove_text_about(person_id, names.pseudonym)
        rename_in_audit_log(person_id, old_username, names.pseudonym)
        replace_names(person_id, names)
        db.session.execute(delete(SignInThrottle).where(throttled_as(old_username)))
        # The account's own entry, after the renaming: it names the pseudonym alone.
        audit.record(
            actor,
            "account.erase",
            (User.__tablename__, person_id),
            f"Erased account {person_id}, now {names.pseudonym!r}: {said}",
        )
    sessions.end_sessions(person_id)
    return db.session.get(User, person_id)


def pseudonymise_account(person_id, pseudonym):
    """Give the account its pseudonym, disable it, and remove its details and password."""
    db.session.execute(
        update(User)
        .where(User.id == person_id)
        .values(
            username=pseudonym,
            display_name="",
            force="",
            collar_number="",
            password_hash="!erased",  # not an Argon2 hash: no password matches it
            must_change_password=False,
            disabled_at=func.coalesce(User.disabled_at, utcnow()),
        )
    )


def remove_text_about(person_id, pseudonym):
    """Remove the free text about a person: their rationales, the comments on them, the
    reasons for their terms (in the overrides and in the audit log)."""
    attempt_ids = select(Attempt.id).where(Attempt.user_id == person_id)
    db.session.execute(
        update(AttemptStep)
        .where(AttemptStep.attempt_id.in_(attempt_ids), AttemptStep.rationale.is_not(None))
        .values(rationale=None)
    )
    db.session.execute(
        update(RationaleMark)
        .where(RationaleMark.attempt_id.in_(attempt_ids), RationaleMark.comment != "")
        .values(comment=ERASED_TEXT)
    )
    db.session.execute(
        update(AssessmentOverride)
        .where(AssessmentOverride.user_id == person_id)
        .values(reason=ERASED_TEXT)
    )
    db.session.execute(
        update(AuditEntry)
        .where(
            AuditEntry.action == "assessment.override",
            AuditEntry.details["user_id"].as_integer() == person_id,
        )
        .values(summary=assessments.override_summary(pseudonym, ERASED_TEXT))
    )


def rename_in_audit_log(person_id, old_username, pseudonym):
    """Put the pseudonym wherever the audit log's sentences quote the username, and remove
    the details of entries about the account (names before and after, addresses)."""
    quoted = repr(old_username)
    db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.summary.contains(quoted, autoescape=True))
        .values(summary=func.replace(AuditEntry.summary, quoted, repr(pseudonym)))
    )
    db.session.execute(
        update(AuditEntry)
        .where(
            or_(
                (AuditEntry.target_type == User.__tablename__)
                & (AuditEntry.target_id == person_id),
                AuditEntry.details["username"].as_string() == old_username,
            )
        )
        .values(details=None)
    )


# Each free-text column, the column naming who wrote it, and whether people type it (the
# audit log's sentences and details are the app's, with typed text copied in).
WRITTEN = (
    (RationaleMark.__table__.c.comment, RationaleMark.__table__.c.marker_id, True),
    (AssessmentOverride.__table__.c.reason, AssessmentOverride.__table__.c.set_by_id, True),
    (Cohort.__table__.c.name, Cohort.__table__.c.owner_id, True),
    (Cohort.__table__.c.description, Cohort.__table__.c.owner_id, True),
    (AuditEntry.__table__.c.summary, AuditEntry.__table__.c.actor_id, False),
    (AuditEntry.__table__.c.details, AuditEntry.__table__.c.actor_id, False),
)


def replace_names(person_id, names):
    """Replace a person's names in every free-text column: wherever they are spelt out, and
    in what they typed themselves their username too (see the module's doc)."""
    for column, writer, typed in WRITTEN:
        if not typed and names.exact is None:
            continue  # nothing of theirs to find in the app's own sentences
        where = [writer == person_id]
        if not isinstance(column.type, JSON):  # JSON cannot be searched alike everywhere
            where += [column.contains(name, autoescape=True) for name in names.spelt]
        table, key = column.table, column.table.c.id
        found = db.session.execute(select(key, writer, column).where(or_(*where))).all()
        for row_id, written_by, value in found:
            new = names.replaced(value, typed_by_them=typed and written_by == person_id)
            if new != value:
                new = new[: column.type.length] if getattr(column.type, "length", None) else new
                db.session.execute(update(table).where(key == row_id).values({column: new}))


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
        audit.record(
            actor,
            "practice.purge",
            ("attempts", None),
            f"Deleted {plural(len(ids), 'free-practice attempt')} begun before "
            f"{cutoff:%Y-%m-%d %H:%M} UTC (kept for {days} days)",
        )
    return len(ids)
