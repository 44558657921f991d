"""Where a cohort goes wrong: the aggregate queries behind the analytics pages.

Each view runs the same four aggregate queries, whatever the number of trainees,
attempts or nodes (a fifth tunes PostgreSQL for a large view; a sixth counts attempts
per node in a scenario with a loop): the versions with attempts; one pass over the
attempts for the headline, the cast rows and where unfinished attempts stopped; the most
taken paths; and one pass over the steps. `figures` turns their rows into what the page
shows. They read what was settled as each step and each attempt was recorded (a step's
verdict; an attempt's node, critical errors and path), so nothing is replayed per
attempt; attempts recorded before those were kept (no verdict, path or node) are left
out of the figures that need them.

Time to decide comes from the same pass over the steps that counts the choices: each
row of it (a node, a choice, a verdict) carries its decisions' times as one array
(PostgreSQL's array_agg; SQLite's group_concat, split here), so the median and
interquartile range (`counting.quantiles`, interpolated as percentile_cont does) are
exact, the same on both databases, and cost no query or row of their own. The arrays
hold 8 bytes a decision in view: a scenario's million decisions would bring 8 MB.

The statements are built once for each shape of scope and filters, with bound
parameters, and then only run: building and compiling them on every view took about a
fifth of a cohort's assignment view.

A version is a different test: every figure is for one version, the newest with attempts
unless another is asked for. Across cohorts (a scenario's view) a figure resting on fewer
than `counting.MINIMUM_PEOPLE` people is suppressed; people are counted there by a
sketch that can only undercount (`counting.people_in`), in the same passes.
"""

from datetime import UTC, datetime, time, timedelta
from functools import cache, partial
from typing import NamedTuple

from flask import abort
from sqlalchemy import BigInteger, Select, bindparam, case, distinct, func, literal, text
from sqlalchemy.orm import defer
from sqlmodel import select

from . import counting, figures, library, story
from .assignments import version_for, visible_assignment
from .attempts import progress_of
from .cohorts import visible_person, visible_to
from .db import db
from .models import Assignment, Attempt, AttemptStep, Cohort, ScenarioVersion
from .rendering import LONDON


def assignment_analytics(assignment, version_id=None, first_only=False, since=None, until=None):
    """Return the figures of one assignment: its own trainees, shown in full.

    `first_only` counts each person's first attempt at the assignment; `since` and
    `until` are dates in London, inclusive, on which attempts were started.
    """
    filters = figures.Filters(version_id, first_only, since, until)
    fallback = partial(version_for, assignment)
    return build(assignment_scope(assignment), filters, False, fallback)


def scenario_analytics(
    viewer, scenario_key, version_id=None, first_only=False, since=None, until=None
):
    """Return the figures of a scenario across every cohort the viewer can see.

    Only attempts at those cohorts' assignments count (not free practice); figures
    resting on fewer than `counting.MINIMUM_PEOPLE` people are suppressed.
    """
    filters = figures.Filters(version_id, first_only, since, until)
    fallback = partial(newest_version, scenario_key)
    return build(scenario_scope(viewer, scenario_key), filters, True, fallback)


class Scope(NamedTuple):
    """Which attempts a view reads: the shape of its conditions and their values.

    The shape says which conditions there are; the values fill their parameters. A
    view's statements are built once per shape (see `view_statements`) and then only
    run, which saves building and compiling them on every view.
    """

    shape: tuple
    values: dict


def assignment_scope(assignment):
    """Return the scope of the attempts at an assignment."""
    values = {"assignment_id": assignment.id, "scenario_key": assignment.scenario_key}
    return Scope(("assignment",), values)


def scenario_scope(viewer, scenario_key):
    """Return the scope of the attempts at a scenario's assignments in the cohorts the
    viewer can see (archived ones too)."""
    values = {"scenario_key": scenario_key, "viewer_id": viewer.id}
    return Scope(("scenario", viewer.role == "admin"), values)


NOT_PREVIEW = Attempt.preview.is_(False)  # a trainer's preview is never in the figures


def scope_conditions(shape):
    """Return the conditions on attempts of a scope's shape, with bound parameters."""
    if shape[0] == "assignment":
        return [Attempt.assignment_id == bindparam("assignment_id"), NOT_PREVIEW]
    everyone = shape[1]
    cohort_ids = select(Cohort.id).where(*visible_to(everyone, bindparam("viewer_id")))
    assignment_ids = select(Assignment.id).where(
        Assignment.cohort_id.in_(cohort_ids),
        Assignment.scenario_key == bindparam("scenario_key"),
    )
    # The assignments name the scenario; saying it of the attempts too would make the
    # planner think the two conditions independent and expect far too few attempts.
    return [Attempt.assignment_id.in_(assignment_ids), NOT_PREVIEW]


def build(scope, filters, suppressing, fallback):
    """Run the view's queries on the version asked for (or the newest) and make its figures.

    A version asked for that has no attempts in scope gives no version and no figures;
    with no attempts at all, the figures are of the version an attempt would play.
    """
    versions = versions_in(scope)
    infos = tuple(version_info(version) for version in versions)
    chosen = pick_version(versions, filters.version_id)
    if chosen is None and filters.version_id is not None:
        return figures.Analytics(infos, None, filters, suppressing)
    if chosen is None:
        version = fallback()
        info = None if version is None else version_info(version)
        empty = figures.Headline(*figures.HeadlineRow())
        return figures.Analytics(infos, info, filters, suppressing, headline=empty)
    scenario = library.scenario_for(chosen)
    rows = collect(scenario, scope, filters, chosen.id, suppressing)
    return figures.analytics(scenario, rows, infos, version_info(chosen), filters, suppressing)


def versions_with_attempts(assignment=None, viewer=None, scenario_key=None):
    """Describe the versions with attempts, newest first: at an assignment, or at a
    scenario in the cohorts a viewer can see."""
    if assignment is not None:
        found = versions_in(assignment_scope(assignment))
    else:
        found = versions_in(scenario_scope(viewer, scenario_key))
    return [version_info(version) for version in found]


def versions_in(scope):
    """Return each version of the scope's scenario with attempts in scope, newest first."""
    statement = versions_statement(scope.shape)
    return list(db.session.exec(statement, params=scope.values).all())


@cache
def versions_statement(shape):
    """Return the query of `versions_in` for a scope's shape.

    Only versions of the scope's scenario are looked at, and for each the search stops
    at its first attempt in scope, found by its index (LIMIT 1 in a scalar subquery:
    PostgreSQL would turn EXISTS into a semi-join that reads every attempt).
    """
    first_attempt = (
        select(Attempt.id)
        .where(Attempt.scenario_version_id == ScenarioVersion.id, *scope_conditions(shape))
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(ScenarioVersion)
        .options(defer(ScenarioVersion.source))  # read only if the scenario is not parsed yet
        .where(
            ScenarioVersion.scenario_key == bindparam("scenario_key"),
            first_attempt.is_not(None),
        )
        .order_by(ScenarioVersion.loaded_at.desc(), ScenarioVersion.id.desc())
    )


def pick_version(versions, version_id):
    """Return the version asked for, the newest if none is, or None."""
    if version_id is None:
        return versions[0] if versions else None
    return next((version for version in versions if version.id == version_id), None)


def version_info(version):
    """Describe a version for the page."""
    return figures.VersionInfo(
        version.id, version.version, version.title, version.loaded_at, version.current
    )


def newest_version(scenario_key):
    """Return the newest stored version of a scenario, or None."""
    statement = select(ScenarioVersion).where(ScenarioVersion.scenario_key == scenario_key)
    statement = statement.order_by(ScenarioVersion.loaded_at.desc(), ScenarioVersion.id.desc())
    return db.session.exec(statement).first()


def scenario_exists(scenario_key):
    """Say whether any version of a scenario is stored."""
    return newest_version(scenario_key) is not None


def filter_shape(filters):
    """Return which filter conditions a view has: first attempts only, a first day, a last."""
    return filters.first_only, filters.since is not None, filters.until is not None


def filter_conditions(shape):
    """Return the conditions on attempts for one version and a filter shape's conditions."""
    first_only, since, until = shape
    conditions = [Attempt.scenario_version_id == bindparam("version_id")]
    if first_only:
        conditions.append(Attempt.number == 1)
    if since:
        conditions.append(Attempt.started_at >= bindparam("since"))
    if until:
        conditions.append(Attempt.started_at < bindparam("until"))
    return conditions


def filter_values(filters, version_id):
    """Return the values of the filter conditions' parameters."""
    values = {"version_id": version_id}
    if filters.since is not None:
        values["since"] = london_midnight(filters.since)
    if filters.until is not None:
        values["until"] = london_midnight(filters.until + timedelta(days=1))
    return values


def london_midnight(day):
    """Return the moment a day begins in London, in UTC."""
    return datetime.combine(day, time(), tzinfo=LONDON).astimezone(UTC)


def collect(scenario, scope, filters, version_id, suppressing):
    """Run the view's aggregate queries: two over the attempts, one over the steps."""
    statements = view_statements(scope.shape, filter_shape(filters), suppressing, on_postgresql())
    values = scope.values | filter_values(filters, version_id)
    groups = [figures.GroupRow(*found) for found in rows_of(statements.groups, values)]
    if sum(g.finished + g.in_progress + g.abandoned for g in groups) >= TUNE_FROM_ATTEMPTS:
        tune_for_aggregates()
    choices = rows_of(statements.choices, values)
    if not on_postgresql():
        choices = [figures.ChoiceRow(*row[:4], split_values(row[4]), *row[5:]) for row in choices]
    loops = story.has_loop(scenario)
    return figures.Rows(
        groups=groups,
        paths=[figures.PathRow(*found) for found in rows_of(statements.paths, values)],
        choices=choices,
        node_attempts=dict(rows_of(statements.node_attempts, values)) if loops else None,
    )


# PostgreSQL settings for the transaction that runs a large view's aggregates (see below).
AGGREGATE_WORK_MEM = "64MB"
TUNE_FROM_ATTEMPTS = 5_000  # about 50,000 steps; below, the defaults do well
TUNING = text("SELECT set_config('work_mem', :memory, true), set_config('jit', 'off', true)")


def on_postgresql():
    """Say whether the session talks to PostgreSQL."""
    return db.session.get_bind().dialect.name == "postgresql"


def tune_for_aggregates():
    """On PostgreSQL, let this transaction's aggregates hash in memory, and skip JIT.

    The planner multiplies the distinct counts of the grouping columns, so it expects
    about a tenth of the steps as groups where there are a few thousand: with the
    default 4MB of work_mem it would sort every step to disk rather than hash them. It
    would also compile these one-off queries just in time, which costs more than it
    saves. The settings end with the transaction. A small view does without them, and
    without the round trip they take.
    """
    if on_postgresql():
        db.session.execute(TUNING, {"memory": AGGREGATE_WORK_MEM})


def rows_of(statement, values):
    """Run an aggregate query and return its rows, without the ORM's work per row."""
    return db.session.connection().execute(statement, values).all()


# The columns of the queries below, built once: only their conditions change.
FINISHED = Attempt.finished_at.is_not(None)
UNFINISHED, ABANDONED = Attempt.finished_at.is_(None), Attempt.abandoned_at.is_not(None)
STATE_KEYS = (
    Attempt.cast_index,
    case((FINISHED, None), else_=func.coalesce(Attempt.at_node, "")).label("at_node"),
)
STATE_COUNTS = tuple(  # in the order of figures.GroupRow's fields
    func.sum(case((condition, 1), else_=0))
    for condition in (
        FINISHED,
        FINISHED & Attempt.passed,
        FINISHED & ~Attempt.sharing_passed,
        FINISHED & (Attempt.critical_count > 0),
        UNFINISHED & ~ABANDONED,
        UNFINISHED & ABANDONED,
    )
)
OUTCOME = (
    Attempt.path,
    Attempt.ending,
    Attempt.passed,
    Attempt.sharing_passed,
    Attempt.critical_count,
)
DECISION_KEYS = (AttemptStep.node_id, AttemptStep.choice_id, AttemptStep.verdict)


class ViewStatements(NamedTuple):
    """The aggregate queries of a view, with bound parameters for the scope's and the
    filters' values."""

    groups: Select
    paths: Select
    choices: Select
    node_attempts: Select


@cache
def view_statements(scope_shape, filter_shape, suppressing, postgresql):
    """Build the view's aggregate queries for one shape of scope and filters.

    `groups`: attempts per cast row and state (finished, or the node an unfinished one
    is at), for the headline, the cast rows' rates and where unfinished attempts stopped.
    `paths`: the most taken complete paths with their outcomes (across cohorts more than
    are shown, for those taken by too few people). `choices`: the one pass over the
    steps, decisions per node, choice and verdict with their times (see `all_values`).
    `node_attempts`: the attempts that decided at each node, for scenarios with a loop.
    Each carries people sketches where figures are suppressed.
    """
    conditions = [*scope_conditions(scope_shape), *filter_conditions(filter_shape)]
    groups = select(*STATE_KEYS, *STATE_COUNTS, *sketch(Attempt.user_id, suppressing, postgresql))
    paths = (
        select(*OUTCOME, func.count(), *sketch(Attempt.user_id, suppressing, postgresql))
        .where(*conditions, FINISHED, Attempt.path.is_not(None))
        .group_by(*OUTCOME)
        .order_by(func.count().desc(), Attempt.path)
        .limit(figures.PATHS_FETCHED if suppressing else figures.PATHS_SHOWN)
    )
    choices = decisions_in_view(
        conditions,
        *DECISION_KEYS,
        func.count(),
        all_values(AttemptStep.elapsed_ms, postgresql),
        *sketch(Attempt.user_id, suppressing, postgresql),
    )
    attempts = func.count(distinct(AttemptStep.attempt_id))
    node_attempts = decisions_in_view(conditions, AttemptStep.node_id, attempts)
    return ViewStatements(
        groups=groups.where(*conditions).group_by(*STATE_KEYS),
        paths=paths,
        choices=choices.group_by(*DECISION_KEYS),
        node_attempts=node_attempts.group_by(AttemptStep.node_id),
    )


def sketch(person_id, suppressing, postgresql):
    """Return the aggregates of a people sketch of these rows (see counting.people_in).

    Two 64-bit masks with a bit per person: their id modulo 61, and their id divided by
    61 modulo 59. PostgreSQL ORs them with bit_or, which hashes; SQLite, which has no
    bit_or, adds the distinct bits, which is the same number. Only suppression needs
    them, so for a trainer's own trainees there are none.
    """
    if not suppressing:
        return []
    one = literal(1, BigInteger)
    bits = (one.op("<<")(person_id % 61), one.op("<<")(person_id // 61 % 59))
    if postgresql:
        masks = [func.bit_or(bit) for bit in bits]
    else:
        masks = [func.sum(distinct(bit)) for bit in bits]
    return [mask.label(name) for mask, name in zip(masks, ("mask_a", "mask_b"), strict=True)]


def decisions_in_view(conditions, *columns):
    """Return a query of columns of the decisions taken in the attempts in view."""
    return (
        select(*columns)
        .select_from(AttemptStep)
        .join(Attempt, Attempt.id == AttemptStep.attempt_id)
        .where(*conditions, AttemptStep.is_decision)
    )


def all_values(column, postgresql):
    """Return an aggregate of every value of an integer column: an array on PostgreSQL,
    text of comma-separated numbers on SQLite (see `split_values`)."""
    if postgresql:
        return func.array_agg(column).label("times")
    return func.group_concat(column).label("times")


def split_values(joined):
    """Return the numbers of SQLite's group_concat of an integer column."""
    return [int(value) for value in joined.split(",")]


# --------------------------------------------------------------------------- one attempt


def cohort_choices_for(attempt):
    """Return, per decision node, what most of the person's cohort chose there.

    The cohort is every other person with an attempt at the same assignment on the same
    version, each counted by their earliest such attempt; a node is left out unless at
    least `counting.MINIMUM_PEOPLE` of them decided there. Nothing for free practice.
    """
    if attempt.assignment_id is None:
        return {}
    statement = others_choices(attempt.assignment_id, attempt.scenario_version_id, attempt)
    return story.cohort_choices(db.session.exec(statement).all(), counting.MINIMUM_PEOPLE)


def others_choices(assignment_id, version_id, attempt):
    """Return a query of (node, choice, person) for others' earliest attempts."""
    earliest = (
        select(func.min(Attempt.id))
        .where(
            Attempt.assignment_id == assignment_id,
            Attempt.scenario_version_id == version_id,
            Attempt.user_id != attempt.user_id,
            NOT_PREVIEW,
        )
        .group_by(Attempt.user_id)
    )
    return (
        select(AttemptStep.node_id, AttemptStep.choice_id, Attempt.user_id)
        .join(Attempt, Attempt.id == AttemptStep.attempt_id)
        .where(Attempt.id.in_(earliest), AttemptStep.is_decision)
        .distinct()
    )


def cohort_lines(attempt):
    """Return, per decision number of an attempt, what 'most of your cohort chose' there,
    in the words of the person's own cast row (see `cohort_choices_for`)."""
    found = cohort_choices_for(attempt)
    if not found:
        return {}
    progress = progress_of(attempt)
    lines = {}
    for step in progress.steps:
        common = found.get(step.node_id)
        if step.is_decision and common is not None:
            texts = [
                story.choice_text(progress.scenario, step.node_id, c, progress.row)
                for c in common.choice_ids
            ]
            lines[step.step_number + 1] = {
                "texts": texts,
                "count": common.count,
                "people": common.people,
            }
    return lines


def attempt_path(viewer, attempt_id):
    """Return a trainee's attempt beside the best path and their cohort's choices, or 404.

    The cohort's most common choice at each node counts every attempt at the same
    assignment on the same version (the trainer's own trainees, so nothing is
    suppressed); free practice has none.
    """
    attempt = db.session.get(Attempt, attempt_id) or abort(404)
    person = visible_person(viewer, attempt.user_id)
    assignment = visible_assignment_of(viewer, attempt)
    progress = progress_of(attempt)
    cohort = {}
    if assignment is not None:
        cohort = story.cohort_choices(
            db.session.exec(assignment_choices(assignment.id, attempt.scenario_version_id)).all()
        )
    scenario, row = progress.scenario, progress.row
    return {
        "attempt": attempt,
        "person": person,
        "assignment": assignment,
        "version": progress.version,
        "scenario": scenario,
        "comparison": story.compare(scenario, row, progress.choice_ids, cohort),
        "best": story.best_steps(scenario, row),
        "finished": attempt.finished_at is not None,
    }


def visible_assignment_of(viewer, attempt):
    """Return the attempt's assignment if the viewer can see it, None for free practice."""
    if attempt.assignment_id is None:
        return None
    return visible_assignment(viewer, attempt.assignment_id)


def assignment_choices(assignment_id, version_id):
    """Return a query of (node, choice, attempt) for every decision at an assignment."""
    return (
        select(AttemptStep.node_id, AttemptStep.choice_id, AttemptStep.attempt_id)
        .join(Attempt, Attempt.id == AttemptStep.attempt_id)
        .where(
            Attempt.assignment_id == assignment_id,
            Attempt.scenario_version_id == version_id,
            AttemptStep.is_decision,
            NOT_PREVIEW,
        )
        .distinct()
    )
