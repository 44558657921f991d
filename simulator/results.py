"""Results for trainers: per assignment, per cohort and per person, in a fixed number of queries.

Every figure comes from what each attempt stored when it finished (`attempts.finish_if_ended`):
its pass, its sharing criterion, its critical-error count and its dimension percents. A
trainee's standing on an assignment is `assignments.standing`; their best attempt is
`attempts.best_attempt`. Nothing here runs a query per trainee.
"""

from dataclasses import dataclass, field

from flask import abort
from sqlmodel import select

from . import assessments, assignments, attempts, cohorts, marking
from .db import db
from .models import Assignment, Attempt, Cohort, CohortMember, ScenarioVersion, User

SORTS = ("name", "status", "attempts", "best", "latest", "time")
ORDERS = ("asc", "desc")


@dataclass
class ResultRow:
    """One trainee's results on one assignment."""

    person: User
    standing: assignments.Standing
    attempts: list[Attempt]  # every attempt at the assignment, abandoned ones too, oldest first
    best: Attempt | None
    latest: Attempt | None  # the latest finished attempt
    to_mark: dict = field(default_factory=dict)  # attempt id -> its rationales awaiting a mark

    @property
    def awaiting(self):
        """Return how many of the trainee's rationales await marking (`marking`)."""
        return sum(self.to_mark.values())

    @property
    def seconds(self):
        """Return how long the best attempt took, in seconds, or None."""
        return seconds_taken(self.best) if self.best is not None else None

    def percent(self, key):
        """Return the best attempt's percent on a dimension, or None."""
        return dimension_percents(self.best).get(key) if self.best is not None else None


@dataclass
class AssignmentSummary:
    """An assignment as the cohort page lists it: what it plays and how far trainees are."""

    assignment: Assignment
    title: str
    pinned_version: int | None  # the version number it is fixed to, or None if it follows
    counts: dict = field(default_factory=dict)  # status -> number of trainees
    overdue: int = 0
    members: int = 0


def assignment_results(assignment):
    """Return one row per trainee in the assignment's cohort, by name, and the dimensions.

    The dimensions are (key, label) pairs, in the order the stored results first name them.
    Three queries, however many trainees: the members, their attempts at the assignment,
    and the rationales awaiting marking.
    """
    people = cohorts.members(assignment.cohort_id)
    found = assignment_attempts([assignment.id], [p.id for p in people])
    waiting = marking.awaiting_by_attempt(assignment.id)
    settings = assessments.settings_of(assignment)
    method = settings.grade_method if settings else None
    rows = [
        result_row(assignment, person, found.get((assignment.id, person.id), []), waiting, method)
        for person in people
    ]
    return rows, dimensions_of(a for row in rows for a in row.attempts)


def result_row(assignment, person, own, waiting=None, grade_method=None):
    """Return one trainee's row from their attempts at the assignment (and those awaiting
    marking, by attempt id). For an assessment, `best` is the attempt that counts by its
    grade method (`assessments.counting_attempt`)."""
    finished = [a for a in own if a.finished_at is not None and a.abandoned_at is None]
    waiting = waiting or {}
    if grade_method is None:
        best = attempts.best_attempt(finished)
    else:
        best = assessments.counting_attempt(own, grade_method)
    return ResultRow(
        person=person,
        standing=assignments.standing(assignment, own),
        attempts=own,
        best=best,
        latest=finished[-1] if finished else None,
        to_mark={a.id: waiting[a.id] for a in own if a.id in waiting},
    )


def assignment_attempts(assignment_ids, user_ids):
    """Return these people's attempts at these assignments, by (assignment id, user id)."""
    if not assignment_ids or not user_ids:
        return {}
    statement = select(Attempt).where(
        Attempt.assignment_id.in_(assignment_ids),
        Attempt.user_id.in_(user_ids),
        Attempt.preview.is_(False),
    )
    grouped = {}
    for attempt in db.session.exec(statement.order_by(Attempt.number)).all():
        grouped.setdefault((attempt.assignment_id, attempt.user_id), []).append(attempt)
    return grouped


def dimensions_of(found):
    """Return the (key, label) of every dimension the stored results score, in first order."""
    seen = {}
    for attempt in found:
        for dimension in (attempt.result or {}).get("dimensions", []):
            seen.setdefault(dimension["key"], dimension["label"])
    return list(seen.items())


def dimension_percents(attempt):
    """Return a finished attempt's percent on each dimension it stored."""
    return {d["key"]: d["percent"] for d in (attempt.result or {}).get("dimensions", [])}


def seconds_taken(attempt):
    """Return how long a finished attempt took, start to finish, in seconds, or None."""
    if attempt.finished_at is None:
        return None
    return max(0, round((attempt.finished_at - attempt.started_at).total_seconds()))


def human_duration(seconds):
    """Say how long something took in minutes: "under 1 min", "12 min", "1 h 5 min"."""
    if seconds is None:
        return ""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def result_rank(attempt):
    """Order results from worst to best: passing first, then grade; none is lowest."""
    if attempt is None:
        return None
    return (bool(attempt.passed), attempts.stored_grade(attempt.result or {}))


SORT_KEYS = {
    "name": lambda row: (row.person.name.casefold(), row.person.id),
    "status": lambda row: (
        assignments.STATUSES.index(row.standing.status),
        not row.standing.overdue,
    ),
    "attempts": lambda row: row.standing.attempts,
    "best": lambda row: result_rank(row.best),
    "latest": lambda row: result_rank(row.latest),
    "time": lambda row: row.seconds,
}


def sorted_rows(rows, sort="name", order="asc"):
    """Return rows sorted on a column; rows with nothing in it come last, by name, either way."""
    key = SORT_KEYS[sort if sort in SORT_KEYS else "name"]
    by_name = sorted(rows, key=SORT_KEYS["name"])
    present = [row for row in by_name if key(row) is not None]
    missing = [row for row in by_name if key(row) is None]
    # A stable sort keeps equal rows in name order, ascending or descending.
    return sorted(present, key=key, reverse=order == "desc") + missing


def cohort_assignment_rows(cohort, withdrawn=False):
    """Return a cohort's assignments with their titles and how far its trainees have got.

    At most five queries, however many assignments and trainees.
    """
    found = assignments.cohort_assignments(cohort.id, withdrawn=withdrawn)
    if withdrawn:
        found = [a for a in found if a.archived_at is not None]
    titles = assignments.scenario_titles(a.scenario_key for a in found)
    numbers = pinned_numbers([a.version_id for a in found if a.version_id is not None])
    people = member_ids(cohort.id)
    attempts_by = assignment_attempts([a.id for a in found], people)
    return [
        summary(a, titles.get(a.scenario_key, a.scenario_key), numbers, people, attempts_by)
        for a in found
    ]


def summary(assignment, title, numbers, people, attempts_by):
    """Return one assignment's summary for the cohort page."""
    made = AssignmentSummary(
        assignment, title, numbers.get(assignment.version_id), members=len(people)
    )
    for user_id in people:
        standing = assignments.standing(assignment, attempts_by.get((assignment.id, user_id), []))
        made.counts[standing.status] = made.counts.get(standing.status, 0) + 1
        made.overdue += standing.overdue
    return made


def pinned_numbers(version_ids):
    """Return the version number of each of these stored versions."""
    if not version_ids:
        return {}
    statement = select(ScenarioVersion.id, ScenarioVersion.version).where(
        ScenarioVersion.id.in_(sorted(set(version_ids)))
    )
    return dict(db.session.exec(statement).all())


def member_ids(cohort_id):
    """Return the ids of the people in a cohort."""
    statement = select(CohortMember.user_id).where(CohortMember.cohort_id == cohort_id)
    return list(db.session.exec(statement).all())


@dataclass
class PersonAttempt:
    """One of a person's attempts, with what it was for."""

    attempt: Attempt
    title: str
    assignment: Assignment | None  # None for free practice
    cohort: Cohort | None

    @property
    def status(self):
        """Say where the attempt stands (attempts.status)."""
        return attempts.status(self.attempt)


def person_attempts(user_id, viewer):
    """Return a person's attempts the viewer may see, newest first, with scenario and assignment.

    A trainer sees attempts at the assignments of cohorts they can see; free practice and
    other trainers' cohorts stay hidden. An admin sees every attempt.
    """
    statement = (
        select(Attempt, ScenarioVersion.title, Assignment, Cohort)
        .join(ScenarioVersion, ScenarioVersion.id == Attempt.scenario_version_id)
        .outerjoin(Assignment, Assignment.id == Attempt.assignment_id)
        .outerjoin(Cohort, Cohort.id == Assignment.cohort_id)
        .where(Attempt.user_id == user_id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    )
    if viewer.role != "admin":
        statement = statement.where(
            Attempt.assignment_id.in_(visible_assignment_ids(viewer)), Attempt.preview.is_(False)
        )
    return [PersonAttempt(*row) for row in db.session.exec(statement).all()]


def visible_assignment_ids(viewer):
    """Return a query of the ids of the assignments of every cohort the viewer can see."""
    cohort_ids = cohorts.visible_cohorts_statement(viewer, archived=None).with_only_columns(
        Cohort.id
    )
    return select(Assignment.id).where(Assignment.cohort_id.in_(cohort_ids))


def may_see_attempt(viewer, attempt):
    """Say whether a trainer or admin may see an attempt: an admin any, a trainer those at
    the assignments of cohorts they can see (never free practice)."""
    if viewer.role == "admin":
        return True
    if attempt.assignment_id is None:
        return False
    statement = visible_assignment_ids(viewer).where(Assignment.id == attempt.assignment_id)
    return db.session.exec(statement).first() is not None


def visible_attempt(viewer, attempt_id):
    """Return an attempt and its person, if the viewer may see that attempt, or 404."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or not may_see_attempt(viewer, attempt):
        abort(404)
    return attempt, cohorts.visible_person(viewer, attempt.user_id)
