"""CSV exports of an assignment's or a cohort's attempts and steps, streamed row by row.

Each export reads the database with a fixed number of queries whatever its size: the
assignments in scope, the scenario versions they play or were played on (each parsed
once, `library.scenario_for`), then one joined query of attempts (or of steps with their
attempts), read in batches while the response is sent. Cells are made safe for
spreadsheets by `csvsafe`. The columns are documented in README.md ("Exporting results").
"""

import re
from dataclasses import dataclass

from sqlalchemy import or_, text
from sqlmodel import select

from . import audit, csvsafe, library
from .attempts import status, stored_grade
from .db import db
from .models import Assignment, Attempt, AttemptStep, Cohort, ScenarioVersion, User, utcnow
from .rendering import LONDON

BATCH = 1000
# Excel reads a CSV file as UTF-8 (names such as Siobhán) only when it starts with a BOM.
BOM = "\ufeff"
RESULT_COLUMNS = (
    "attempt_id",
    "username",
    "display_name",
    "force",
    "collar_number",
    "cohort",
    "assignment_id",
    "scenario_id",
    "version",
    "version_digest",
    "attempt_number",
    "started_at",
    "finished_at",
    "status",
    "ending",
    "passed",
    "sharing_passed",
    "critical_errors",
    "grade",
)
STEP_COLUMNS = (
    "attempt_id",
    "username",
    "cohort",
    "assignment_id",
    "scenario_id",
    "version_digest",
    "attempt_number",
    "step_number",
    "node",
    "choice",
    "decision",
    "sharing",
    "critical",
    "verdict",
)


@dataclass(frozen=True)
class Scope:
    """What one export covers: one assignment, or every assignment of a cohort."""

    cohort: Cohort
    assignment_ids: tuple[int, ...]
    assignment: Assignment | None = None

    @property
    def target(self):
        """Return what the audit entry names: the assignment, else the cohort."""
        return self.assignment or self.cohort


def assignment_scope(assignment):
    """Return the scope of one assignment's export."""
    cohort = db.session.get(Cohort, assignment.cohort_id)
    return Scope(cohort, (assignment.id,), assignment)


def cohort_scope(cohort):
    """Return the scope of a cohort's export: all its assignments, withdrawn ones too."""
    statement = select(Assignment.id).where(Assignment.cohort_id == cohort.id)
    return Scope(cohort, tuple(db.session.exec(statement.order_by(Assignment.id)).all()))


def record_download(actor, scope, kind):
    """Record in the audit log that the actor downloaded this export."""
    what = f"assignment {scope.assignment.id}" if scope.assignment else "every assignment"
    audit.record(
        actor,
        "export",
        scope.target,
        f"Downloaded the {kind} of {what} of cohort {scope.cohort.name!r} as CSV",
        kind=kind,
        cohort_id=scope.cohort.id,
        assignment_ids=list(scope.assignment_ids),
    )
    db.session.commit()


def filename(scope, kind, today=None):
    """Return a safe file name for an export, such as intake-1-doorstep-results-2026-12-01.csv."""
    parts = [slug(scope.cohort.name) or f"cohort-{scope.cohort.id}"]
    if scope.assignment is not None:
        parts.append(slug(scope.assignment.scenario_key) or f"assignment-{scope.assignment.id}")
    parts += [kind, (today or utcnow().astimezone(LONDON).date()).isoformat()]
    return "-".join(parts) + ".csv"


def slug(words):
    """Return words as lower-case ASCII letters, digits and single hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")[:60].strip("-")


def versions_in(scope):
    """Return the versions the scope's attempts played or its assignments play, by key, number."""
    ids = list(scope.assignment_ids)
    played = select(Attempt.scenario_version_id).where(
        Attempt.assignment_id.in_(ids), Attempt.preview.is_(False)
    )
    pinned = select(Assignment.version_id).where(Assignment.id.in_(ids))
    followed = select(Assignment.scenario_key).where(
        Assignment.id.in_(ids), Assignment.version_id.is_(None)
    )
    statement = select(ScenarioVersion).where(
        or_(
            ScenarioVersion.id.in_(played.distinct()),
            ScenarioVersion.id.in_(pinned),
            ScenarioVersion.current & ScenarioVersion.scenario_key.in_(followed),
        )
    )
    statement = statement.order_by(ScenarioVersion.scenario_key, ScenarioVersion.version)
    return {version.id: version for version in db.session.exec(statement).all()}


def dimension_keys(scenarios):
    """Return every dimension key of these scenarios once, in the order first met."""
    return list(dict.fromkeys(key for scenario in scenarios for key in scenario.dimensions))


def read_all(statement):
    """Yield a query's rows, read from the database a batch at a time.

    PostgreSQL plans a cursor to return its first tenth of rows fast, by default; an
    export reads every row, and planned for that it runs twice as fast (bench/README.md).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    yield from db.session.execute(statement.execution_options(yield_per=BATCH))


def result_lines(scope):
    """Yield the results export of a scope as CSV lines: one row per attempt."""
    yield BOM
    yield from csvsafe.lines(result_rows(scope))


def result_rows(scope):
    """Yield the header, then one row of values per attempt in the scope."""
    versions = versions_in(scope)
    dims = dimension_keys(library.scenario_for(v) for v in versions.values())
    yield [*RESULT_COLUMNS, *(f"{key}_percent" for key in dims), "time_taken_seconds"]
    for row in read_all(results_statement(scope)):
        yield result_row(row, versions[row.scenario_version_id], scope.cohort.name, dims)


def results_statement(scope):
    """Return the query of the results export: each attempt with its person, in order."""
    return (
        select(
            Attempt.id,
            User.username,
            User.display_name,
            User.force,
            User.collar_number,
            Attempt.assignment_id,
            Attempt.scenario_key,
            Attempt.scenario_version_id,
            Attempt.number,
            Attempt.started_at,
            Attempt.finished_at,
            Attempt.abandoned_at,
            Attempt.ending,
            Attempt.passed,
            Attempt.sharing_passed,
            Attempt.critical_count,
            Attempt.result,
        )
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.assignment_id.in_(list(scope.assignment_ids)), Attempt.preview.is_(False))
        .order_by(Attempt.assignment_id, User.username, Attempt.number)
    )


def result_row(row, version, cohort_name, dims):
    """Return one attempt's values in the results export's column order."""
    result = row.result or {}
    finished = row.finished_at is not None
    percents = {d["key"]: d["percent"] for d in result.get("dimensions", [])}
    critical = row.critical_count
    if critical is None and "critical_errors" in result:
        critical = len(result["critical_errors"])
    taken = int((row.finished_at - row.started_at).total_seconds()) if finished else None
    return [
        row.id,
        row.username,
        row.display_name,
        row.force,
        row.collar_number,
        cohort_name,
        row.assignment_id,
        row.scenario_key,
        version.version,
        version.digest,
        row.number,
        row.started_at,
        row.finished_at,
        status(row),
        row.ending,
        row.passed,
        row.sharing_passed,
        critical,
        stored_grade(result) if finished else None,
        *(percents.get(key) for key in dims),
        taken,
    ]


def step_lines(scope):
    """Yield the steps export of a scope as CSV lines: one row per recorded choice."""
    yield BOM
    yield from csvsafe.lines(step_rows(scope))


def step_rows(scope):
    """Yield the header, then one row of values per recorded step in the scope."""
    versions = versions_in(scope)
    played = {vid: Played(v, library.scenario_for(v)) for vid, v in versions.items()}
    dims = dimension_keys(p.scenario for p in played.values())
    yield [
        *STEP_COLUMNS,
        *(f"{key}_points" for key in dims),
        "time_to_decide_ms",
        "recorded_at",
        "rationale",
    ]
    for row in read_all(steps_statement(scope)):
        yield step_row(row, played[row.scenario_version_id], scope.cohort.name, dims)


def steps_statement(scope):
    """Return the query of the steps export: each step with its attempt and person, in order."""
    return (
        select(
            Attempt.id,
            User.username,
            Attempt.assignment_id,
            Attempt.scenario_key,
            Attempt.scenario_version_id,
            Attempt.number,
            AttemptStep.step_number,
            AttemptStep.node_id,
            AttemptStep.choice_id,
            AttemptStep.is_decision,
            AttemptStep.verdict,
            AttemptStep.elapsed_ms,
            AttemptStep.recorded_at,
            AttemptStep.rationale,
        )
        .join(Attempt, Attempt.id == AttemptStep.attempt_id)
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.assignment_id.in_(list(scope.assignment_ids)), Attempt.preview.is_(False))
        .order_by(Attempt.assignment_id, User.username, Attempt.number, AttemptStep.step_number)
    )


class Played:
    """A version with its scenario and its choices by (node id, choice id), built once."""

    def __init__(self, version, scenario):
        self.version, self.scenario = version, scenario
        self.choices = {
            (node.id, c.id): c for node in scenario.nodes.values() for c in node.choices
        }

    def points(self, choice, dims):
        """Return a choice's points per dimension: 0 if unscored, None if not this scenario's."""
        score = choice.score if choice is not None else {}
        return [score.get(key, 0) if key in self.scenario.dimensions else None for key in dims]


def step_row(row, played, cohort_name, dims):
    """Return one step's values in the steps export's column order."""
    choice = played.choices.get((row.node_id, row.choice_id))
    return [
        row.id,
        row.username,
        cohort_name,
        row.assignment_id,
        row.scenario_key,
        played.version.digest,
        row.number,
        row.step_number,
        row.node_id,
        row.choice_id,
        row.is_decision,
        choice.sharing if choice is not None else None,
        choice.critical if choice is not None else None,
        row.verdict,
        *played.points(choice, dims),
        row.elapsed_ms,
        row.recorded_at,
        row.rationale,
    ]
