"""Assignments: a scenario set for a cohort, the version it plays, and each trainee's status.

An assignment pins the version current when it was set, or follows the current version;
attempts at it carry its id, and their numbers and "one in progress" count per assignment,
apart from the trainee's free practice. The CPD assessment mode adds its own settings in a
table keyed by assignment id; `mode` says which settings apply.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from sqlmodel import select

from . import audit, library
from .cohorts import visible_cohorts_statement
from .db import db
from .models import WITHOUT_BYTES, Assignment, Cohort, CohortMember, ScenarioVersion, utcnow

NOT_STARTED = "not started"
IN_PROGRESS = "in progress"
FINISHED = "finished"
PASSED = "passed"
STATUSES = (NOT_STARTED, IN_PROGRESS, FINISHED, PASSED)


@dataclass(frozen=True)
class Standing:
    """Where a trainee stands on an assignment."""

    status: str
    overdue: bool
    attempts: int


def create_assignment(actor, cohort, version, pinned, opens_at=None, due_at=None):
    """Set a scenario for a cohort, recorded in the audit log."""
    assignment = Assignment(
        cohort_id=cohort.id,
        scenario_key=version.scenario_key,
        version_id=version.id if pinned else None,
        opens_at=opens_at,
        due_at=due_at,
        created_by_id=actor.id,
    )
    db.session.add(assignment)
    db.session.flush()
    which = f"version {version.version}" if pinned else "the current version"
    audit.record(
        actor,
        "assignment.create",
        assignment,
        f"Assigned {version.title!r} ({which}) to cohort {cohort.name!r}",
        cohort_id=cohort.id,
        version_id=version.id,
        pinned=pinned,
        opens_at=opens_at.isoformat() if opens_at else None,
        due_at=due_at.isoformat() if due_at else None,
    )
    db.session.commit()
    return assignment


def update_dates(actor, assignment, opens_at, due_at):
    """Change an assignment's opening and due dates, recorded in the audit log."""
    before = {
        "opens_at": assignment.opens_at.isoformat() if assignment.opens_at else None,
        "due_at": assignment.due_at.isoformat() if assignment.due_at else None,
    }
    assignment.opens_at, assignment.due_at = opens_at, due_at
    db.session.add(assignment)
    audit.record(
        actor, "assignment.update", assignment, "Changed an assignment's dates", before=before
    )
    db.session.commit()


def withdraw(actor, assignment):
    """Withdraw an assignment: trainees no longer see it; its attempts are kept."""
    assignment.archived_at = utcnow()
    db.session.add(assignment)
    audit.record(actor, "assignment.withdraw", assignment, "Withdrew an assignment")
    db.session.commit()


def date_problems(opens_at, due_at, kept_due=None, now=None):
    """Return a message for each date of an assignment that does not make sense.

    A due date before today is refused, since it would show everyone as overdue at once,
    unless it is the due date the assignment has already (`kept_due`), so that an overdue
    assignment's opening date can still be changed. Withdrawing, not a past due date, is
    how an assignment ends.
    """
    now = now or utcnow()
    if due_at and due_at < now and due_at != kept_due:
        return {"due": "The due date must be today or in the future"}
    if opens_at and due_at and due_at <= opens_at:
        return {"due": "The due date must be after the opening date"}
    return {}


def version_for(assignment):
    """Return the version an attempt at this assignment plays now, or None if none is."""
    if assignment.version_id is not None:
        return db.session.get(ScenarioVersion, assignment.version_id, options=WITHOUT_BYTES)
    statement = (
        select(ScenarioVersion)
        .options(*WITHOUT_BYTES)
        .where(ScenarioVersion.current, ScenarioVersion.scenario_key == assignment.scenario_key)
    )
    return db.session.exec(statement).first()


def cohort_assignments(cohort_id, withdrawn=False):
    """Return a cohort's assignments, soonest due first."""
    statement = select(Assignment).where(Assignment.cohort_id == cohort_id)
    if not withdrawn:
        statement = statement.where(Assignment.archived_at.is_(None))
    return sorted(db.session.exec(statement).all(), key=due_order)


def due_order(assignment):
    """Sort key: assignments with a due date first, soonest first, then newest set."""
    due = assignment.due_at
    return (due is None, due or datetime.min, -assignment.id)


def visible_assignment(viewer, assignment_id):
    """Return an assignment of a cohort the trainer or admin can see, or 404."""
    cohort_ids = visible_cohorts_statement(viewer, archived=None).with_only_columns(Cohort.id)
    statement = select(Assignment).where(
        Assignment.id == assignment_id, Assignment.cohort_id.in_(cohort_ids)
    )
    return db.session.exec(statement).first() or abort(404)


def person_assignments(user_id):
    """Return the live assignments of the person's cohorts (not archived), with each cohort."""
    statement = (
        select(Assignment, Cohort)
        .join(Cohort, Cohort.id == Assignment.cohort_id)
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(
            CohortMember.user_id == user_id,
            Cohort.archived_at.is_(None),
            Assignment.archived_at.is_(None),
        )
    )
    rows = db.session.exec(statement).all()
    return sorted(rows, key=lambda row: due_order(row[0]))


def own_assignment(user, assignment_id):
    """Return a live assignment of one of the person's cohorts, or 404."""
    return own_assignment_row(user, assignment_id)[0]


def own_assignment_row(user, assignment_id):
    """Return a live assignment of one of the person's cohorts with that cohort, or 404."""
    for assignment, cohort in person_assignments(user.id):
        if assignment.id == assignment_id:
            return assignment, cohort
    abort(404)


def scenario_titles(scenario_keys):
    """Return each scenario's title: its current version's, else its newest stored one's."""
    statement = select(ScenarioVersion.scenario_key, ScenarioVersion.title).where(
        ScenarioVersion.scenario_key.in_(sorted(set(scenario_keys)))
    )
    newest_last = statement.order_by(
        ScenarioVersion.current, ScenarioVersion.loaded_at, ScenarioVersion.id
    )
    return dict(db.session.exec(newest_last).all())


def is_open(assignment, now=None):
    """Say whether an assignment has opened."""
    now = now or utcnow()
    return assignment.opens_at is None or assignment.opens_at <= now


def standing(assignment, attempts, now=None):
    """Return a trainee's status on an assignment from their attempts at it.

    Passed if any finished attempt passed; else finished if any finished; else in progress
    if one is under way; else not started. Overdue: past the due date and not finished.
    """
    now = now or utcnow()
    live = [a for a in attempts if a.abandoned_at is None]
    if any(a.passed for a in live if a.finished_at is not None):
        status = PASSED
    elif any(a.finished_at is not None for a in live):
        status = FINISHED
    elif live:
        status = IN_PROGRESS
    else:
        status = NOT_STARTED
    late = assignment.due_at is not None and assignment.due_at < now
    overdue = late and status in (NOT_STARTED, IN_PROGRESS)
    return Standing(status, overdue, len(live))


def current_version_of(scenario_key):
    """Return the version of a scenario offered now, or 404."""
    return library.offered_version(scenario_key)
