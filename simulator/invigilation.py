"""Invigilating an assessment: where each candidate stands now, by the server's clock.

Before anyone is listed, every live attempt at the assessment is brought up to the clock
(`assessments.close_if_due`), as opening the attempt would, so the invigilator sees what
the candidate would. Each row is a cohort member with their latest attempt (previews
left out); a row costs no query of its own.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from . import assessments, cohorts, results
from .db import db
from .models import Attempt, User

NOT_STARTED = "not_started"
STATE_LABELS = {NOT_STARTED: "Not started", **assessments.STATE_LABELS}


@dataclass(frozen=True)
class Candidate:
    """One candidate on an assessment: their terms, attempts used and latest attempt."""

    person: User
    terms: assessments.Terms
    used: int
    attempt: Attempt | None
    now: datetime

    @property
    def state(self):
        """Return where the latest attempt stands (ATTEMPT_STATES), or "not_started"."""
        return self.attempt.state if self.attempt is not None else NOT_STARTED

    @property
    def live(self):
        """Say whether the latest attempt can still take a step."""
        return self.attempt is not None and assessments.live(self.attempt)

    @property
    def until(self):
        """Return when a live attempt's time runs out: its deadline, or the end of its grace."""
        if not self.live:
            return None
        if assessments.phase(self.attempt, self.now) == "grace":
            return self.attempt.grace_until
        return self.attempt.deadline_at

    @property
    def seconds_left(self):
        """Return the whole seconds a live attempt has left by the server's clock, or None."""
        if self.until is None:
            return None
        return max(0, int((self.until - self.now).total_seconds()))

    @property
    def ended_at(self):
        """Return when the latest attempt finished or was abandoned, or None."""
        if self.attempt is None:
            return None
        return self.attempt.finished_at or self.attempt.abandoned_at


def live_attempts(assignment_id):
    """Return the attempts at an assessment that are neither finished nor abandoned."""
    statement = select(Attempt).where(
        Attempt.assignment_id == assignment_id,
        Attempt.finished_at.is_(None),
        Attempt.abandoned_at.is_(None),
    )
    return db.session.exec(statement.order_by(Attempt.id)).all()


def due(attempt, now):
    """Say whether bringing a live attempt up to the clock would change it."""
    where = assessments.phase(attempt, now)
    return where == "over" or (where == "grace" and attempt.state != "overdue")


def bring_up_to_clock(assignment_id, now):
    """Close, or mark overdue, each live attempt at an assessment whose time has come.

    Each is locked as `assessments.close_overdue` locks it, so that this and the command
    never handle one attempt twice; one that another holds is left to it. Returns how many
    attempts changed.
    """
    changed = 0
    for attempt_id in [a.id for a in live_attempts(assignment_id) if due(a, now)]:
        attempt = assessments.locked_attempt(attempt_id)
        if attempt is not None and due(attempt, now) and assessments.live(attempt):
            assessments.close_if_due(attempt, now)
            changed += 1
        db.session.commit()  # ends the transaction, and with it the lock
    return changed


def candidates(assignment, found, now):
    """Return a Candidate for each person in the assessment's cohort, by name.

    Three queries, however many candidates: the members, their attempts, the overrides.
    """
    people = cohorts.members(assignment.cohort_id)
    found_attempts = results.assignment_attempts([assignment.id], [p.id for p in people])
    overrides = assessments.newest_overrides(assignment.id)
    rows = []
    for person in people:
        own = [a for a in found_attempts.get((assignment.id, person.id), []) if not a.preview]
        terms = assessments.terms_of(assignment, found, overrides.get(person.id))
        used = assessments.attempts_used(own)
        rows.append(Candidate(person, terms, used, own[-1] if own else None, now))
    return rows


def state_counts(rows):
    """Return how many candidates are in each state, in STATE_LABELS' order, leaving out none."""
    counts = {state: 0 for state in STATE_LABELS}
    for row in rows:
        counts[row.state] += 1
    return {state: count for state, count in counts.items() if count}


def time_left(seconds):
    """Say how long is left in whole minutes, never more than there is: "4 min", "1 h 5 min"."""
    if seconds is None:
        return ""
    minutes = seconds // 60
    if minutes < 1:
        return "under 1 min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
