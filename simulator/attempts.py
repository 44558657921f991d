"""Attempts and their append-only step log: starting, recording, finishing, summarising.

An attempt's result is never computed anywhere but `engine.result` over its recorded
choices; `finish_if_ended` stores that result when the log reaches an ending, in the
same transaction as the final step, so the stored result always equals a recomputation.
"""

import functools
import secrets
from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from flask import abort, g
from sqlalchemy import bindparam, func
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import select

from . import engine, grades, outbox, records
from .db import commit_keeping_loaded, db, hold, wrote_nothing
from .library import offered_ids, scenario_for
from .models import WITHOUT_BYTES, Attempt, AttemptEvent, AttemptStep, ScenarioVersion, utcnow

RATIONALE_MAX = 5000


class StepConflict(Exception):
    """Raised when another request recorded this step number first."""


@dataclass
class Progress:
    """Where an attempt stands, rebuilt from its pinned version and its step log."""

    attempt: Attempt
    version: ScenarioVersion
    steps: list[AttemptStep]

    @cached_property
    def scenario(self):
        """Return the scenario this attempt is pinned to."""
        return scenario_for(self.version)

    @cached_property
    def choice_ids(self):
        """Return the choices taken, in order."""
        return [step.choice_id for step in self.steps]

    @cached_property
    def state(self):
        """Return the current state, replayed from the start."""
        return engine.replay(self.scenario, self.choice_ids)

    @property
    def node(self):
        """Return the node the attempt is at."""
        return self.scenario.nodes[self.state.node]

    @cached_property
    def row(self):
        """Return the cast row drawn for this attempt."""
        return engine.cast_row(self.scenario, self.attempt.cast_index)

    @property
    def next_step_number(self):
        """Return the number the next recorded step must carry."""
        return len(self.steps)

    def offered(self):
        """Return the choices offered now, in the order this attempt shows them."""
        return list(self._offered)

    @cached_property
    def _offered(self):
        """The choices offered now, worked out once (the form, the check of what was
        posted and the statement about the step each ask)."""
        attempt = self.attempt
        return tuple(
            engine.shown_choices(self.scenario, self.state, attempt.seed, attempt.choice_order)
        )


# What playing needs of an attempt's version (and what `scenario_for` reads to parse it
# once per process): its lists of problems and statistics are JSON that play never shows,
# and are loaded only if something asks for them.
PLAYED_COLUMNS = (
    ScenarioVersion.id,
    ScenarioVersion.digest,
    ScenarioVersion.scenario_key,
    ScenarioVersion.version,
    ScenarioVersion.title,
    ScenarioVersion.path,
    ScenarioVersion.format_revision,
    ScenarioVersion.checked_with,
)
OWN_ATTEMPT = (
    select(Attempt, ScenarioVersion)
    .join(ScenarioVersion, ScenarioVersion.id == Attempt.scenario_version_id)
    .options(load_only(*PLAYED_COLUMNS))
    .where(Attempt.id == bindparam("id"))
)


def own_attempt(attempt_id):
    """Return the signed-in person's attempt, or 404 (someone else's is not revealed).

    Its version comes in the same statement (without its bytes), so that `progress_of`
    finds it in the request's identity map.
    """
    found = db.session.execute(OWN_ATTEMPT, {"id": attempt_id}).first()
    if found is None or found[0].user_id != g.user.id:
        abort(404)
    attempt, version = found
    hold(version)
    return attempt


def own_progress(attempt_id):
    """Return the signed-in person's attempt's progress, or 404, as `own_attempt` and
    `progress_of` would, read in one statement: the attempt and its version on every row,
    beside each of its steps in order (or none, on the one row of an attempt not begun).
    The steps are plain rows (`LoggedStep`), not objects of the session.

    Every play request reads all three, so this spares each of them a round trip.
    """
    rows = db.session.execute(OWN_PROGRESS, {"id": attempt_id}).all()
    if not rows or rows[0][0].user_id != g.user.id:
        abort(404)
    attempt, version = rows[0][:2]
    hold(version)
    steps = [LoggedStep._make(row[2:]) for row in rows if row[2] is not None]
    return Progress(attempt, version, steps)


# A step of the log as play reads it: its columns, by name, as an AttemptStep has them.
# Steps are never changed once written, so play reads them as plain rows; making each an
# object of the session (its identity, its state) cost more than the rest of the read.
LoggedStep = namedtuple("LoggedStep", [column.key for column in AttemptStep.__table__.columns])
OWN_PROGRESS = (
    select(Attempt, ScenarioVersion, *AttemptStep.__table__.columns)
    .join(ScenarioVersion, ScenarioVersion.id == Attempt.scenario_version_id)
    .outerjoin(AttemptStep.__table__, AttemptStep.attempt_id == Attempt.id)
    .options(load_only(*PLAYED_COLUMNS))
    .where(Attempt.id == bindparam("id"))
    .order_by(AttemptStep.step_number)
)


def progress_of(attempt):
    """Rebuild an attempt's progress from the database."""
    version = db.session.get(ScenarioVersion, attempt.scenario_version_id, options=WITHOUT_BYTES)
    steps = db.session.scalars(STEPS, {"attempt_id": attempt.id}).all()
    return Progress(attempt, version, list(steps))


STEPS = (
    select(AttemptStep)
    .where(AttemptStep.attempt_id == bindparam("attempt_id"))
    .order_by(AttemptStep.step_number)
)


def user_attempts(user_id, scenario_key=None, assignment_id=None):
    """Return a person's attempts, oldest first: free practice, or those of one assignment.

    Free practice (no assignment) may be narrowed to one scenario; a trainer's previews
    of library versions are not practice, and are left out.
    """
    statement = select(Attempt).where(
        Attempt.user_id == user_id, Attempt.assignment_id == assignment_id
    )
    if assignment_id is None:
        statement = statement.where(Attempt.preview.is_(False))
    if scenario_key is not None:
        statement = statement.where(Attempt.scenario_key == scenario_key)
    return db.session.exec(statement.order_by(Attempt.scenario_key, Attempt.number)).all()


def attempts_and_next(user_id, scenario_key, assignment_id=None):
    """Return a person's attempts at a scenario's free practice or at one assignment, oldest
    first (as `user_attempts`), and the number their next will carry (as
    `next_attempt_number`), from one statement: a briefing and Start ask for both.

    A trainer's previews count towards the number but are not among the attempts.
    """
    statement = select(Attempt).where(*numbering(user_id, scenario_key, assignment_id))
    every = db.session.exec(statement.order_by(Attempt.number)).all()
    own = [a for a in every if assignment_id is not None or not a.preview]
    return own, max((a.number for a in every), default=0) + 1


def assigned_attempts(user_id, assignment_ids):
    """Return a person's attempts at these assignments, oldest first."""
    if not assignment_ids:
        return []
    statement = select(Attempt).where(
        Attempt.user_id == user_id, Attempt.assignment_id.in_(assignment_ids)
    )
    return db.session.exec(statement.order_by(Attempt.assignment_id, Attempt.number)).all()


def in_progress(attempts):
    """Return the latest attempt among these that is neither finished nor abandoned, or None."""
    unfinished = [a for a in attempts if a.finished_at is None and a.abandoned_at is None]
    return unfinished[-1] if unfinished else None


def status(attempt):
    """Say where an attempt stands: in progress, abandoned, passed or not passed."""
    if attempt.abandoned_at is not None:
        return "abandoned"
    if attempt.finished_at is None:
        return "in progress"
    return "passed" if attempt.passed else "not passed"


def abandon(attempt):
    """Give up a practice attempt in progress; return whether it was abandoned now."""
    if attempt.mode != "practice" or attempt.finished_at or attempt.abandoned_at:
        return False
    attempt.abandoned_at = utcnow()
    attempt.state = "abandoned"
    db.session.add(attempt)
    outbox.attempt_abandoned(attempt)
    db.session.commit()
    return True


def awaiting_feedback(progress):
    """Return the number of the decision whose feedback was left unread, or None.

    That is the last step, when it was a decision and the node after it was never shown:
    the person left on its feedback page, so Resume goes back there.
    """
    steps, attempt = progress.steps, progress.attempt
    if not steps or not steps[-1].is_decision or attempt.mode != "practice":
        return None
    if attempt.shown_step == progress.next_step_number or attempt.finished_at is not None:
        return None
    return len(steps)


def best_attempt(attempts):
    """Return the best finished attempt: passing first, then the higher average percent."""
    finished = [a for a in attempts if a.finished_at is not None]
    return max(finished, key=attempt_rank, default=None)


def attempt_rank(attempt):
    """Order finished attempts from worst to best: passing first, then grade, then latest."""
    return (bool(attempt.passed), stored_grade(attempt.result or {}), attempt.number)


def stored_grade(result):
    """Return a stored result's grade (``engine.grade``), worked out if stored without one."""
    if "grade" in result:
        return result["grade"]
    percents = [d["percent"] for d in result.get("dimensions", [])]
    return min(percents, default=100) if result.get("sharing_passed") else 0


def next_attempt_number(user_id, scenario_key, assignment_id=None):
    """Return the number the person's next attempt will carry: per scenario in free
    practice, per assignment otherwise."""
    statement = select(func.max(Attempt.number))
    statement = statement.where(*numbering(user_id, scenario_key, assignment_id))
    return (db.session.exec(statement).one() or 0) + 1


def next_number_if_offered(user_id, scenario_key):
    """Return the number the person's next free-practice attempt at a scenario will carry
    (as `next_attempt_number`), and whether some version of it is offered now (as
    `library.is_offered`), from one statement: a practice debrief's Try again asks both."""
    latest = select(func.max(Attempt.number)).where(*numbering(user_id, scenario_key))
    statement = select(latest.scalar_subquery(), offered_ids(scenario_key).exists())
    number, is_offered = db.session.execute(statement).one()
    return (number or 0) + 1, bool(is_offered)


def numbering(user_id, scenario_key, assignment_id=None):
    """Return the conditions on the attempts that one run of numbers counts: a person's at a
    scenario's free practice (previews too), or at one assignment."""
    conditions = [Attempt.user_id == user_id, Attempt.assignment_id == assignment_id]
    if assignment_id is None:
        conditions.append(Attempt.scenario_key == scenario_key)
    return conditions


def start_attempt(
    user,
    version,
    number,
    assignment=None,
    seed=None,
    now=None,
    commit=True,
    preview=False,
    shown=False,
):
    """Begin attempt `number` on a version; raise StepConflict if it already exists.

    A `preview` is a trainer trying a version out: never a result, never in analytics.
    `shown` says that its first node is shown as it begins (htmx's Start is answered with
    it), so that it is marked shown with the insert, as `mark_shown` would mark it.

    With `commit` False the attempt is only added and flushed, for the caller to commit
    with what it adds (an assessment's clock and first event).
    """
    scenario = scenario_for(version)
    seed = secrets.randbelow(2**31) if seed is None else seed
    begun = engine.start(scenario, seed)
    now = now or utcnow()
    attempt = Attempt(
        user_id=user.id,
        assignment_id=assignment.id if assignment is not None else None,
        scenario_version_id=version.id,
        scenario_key=version.scenario_key,
        number=number,
        mode="practice" if assignment is None else assignment.mode,
        seed=seed,
        cast_index=begun.cast_index,
        choice_order=engine.order_rule(scenario),
        at_node=begun.state.node,
        started_at=now,
        shown_step=0 if shown else None,
        shown_at=now if shown else None,
        preview=preview,
    )
    db.session.add(attempt)
    flush_or_conflict()
    outbox.attempt_started(attempt, version)
    if commit:
        commit_or_conflict()
    return attempt


def record_event(attempt, state, reason, actor_id, now):
    """Set an attempt's state and keep the change with its time and reason."""
    attempt.state = state
    db.session.add(attempt)
    db.session.add(
        AttemptEvent(attempt_id=attempt.id, at=now, state=state, reason=reason, actor_id=actor_id)
    )


def record_step(progress, choice, rationale, *, shows_next=False, shown_after=None, now=None):
    """Append the next step to the log, judged, finishing the attempt at an ending.

    With `shows_next`, the node that follows is shown as the step is recorded (htmx's
    answer brings it at once), so it is marked shown in the same commit (`mark_shown`).

    `shown_after` is how long after the previous step the node was shown, as the browser
    says when the node came ahead with that step's feedback and was shown at Continue
    with no request. It counts only when the server saw no showing of its own, and only
    within the time since that step (`engine.time_to_decide`): it can place the showing
    anywhere in that span, never outside it.
    """
    now = now or utcnow()
    attempt = progress.attempt
    choice_ids = [*progress.choice_ids, choice.id]
    previous = progress.steps[-1].recorded_at if progress.steps else attempt.started_at
    shown = attempt.shown_at if attempt.shown_step == progress.next_step_number else None
    if shown is None and shown_after is not None and progress.steps:
        shown = previous + shown_after
    step = AttemptStep(
        attempt_id=progress.attempt.id,
        step_number=progress.next_step_number,
        node_id=progress.state.node,
        choice_id=choice.id,
        is_decision=progress.node.kind == "decision",
        rationale=rationale,
        recorded_at=now,
        elapsed_ms=engine.time_to_decide(now, shown, previous),
        verdict=engine.last_verdict(progress.scenario, choice_ids).verdict,
    )
    records.link(attempt, progress.steps, step)
    reached = engine.replay(progress.scenario, choice_ids)
    if engine.is_ending(progress.scenario, reached):
        insert_step(step)
        outbox.decision_taken(progress, step, choice)
        attempt.at_node = reached.node
        db.session.add(attempt)
        finish_if_ended(progress, [*progress.steps, step], now)
    else:
        with db.session.no_autoflush:
            statements = outbox.decision_statements(progress, step, choice)
        shown = (step.step_number + 1, now) if shows_next else None
        write_step(step, statements, attempt, reached.node, shown)
    commit_or_conflict()
    return step


def write_step(step, statements, attempt, node_id, shown=None):
    """Write a step that does not end its attempt, the outbox rows of its `statements` and
    where the attempt now stands (`moved_on`), in the session's transaction; raise
    StepConflict if the step number is already taken.

    On PostgreSQL the three writes are one statement (`step_writes`): one round trip
    instead of three, on the path every step of every attempt takes. SQLite has no writes
    inside WITH, so there they are three statements, as `insert_step`, `outbox.add` and
    `moved_on` make them.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        insert_step(step)
        outbox.add(statements)
        moved_on(attempt, node_id, shown)
        return
    moved = {"at_node": node_id}
    if shown is not None:
        moved["shown_step"], moved["shown_at"] = shown
    values = {f"step_{key}": getattr(step, key) for key in STEP_COLUMNS}
    for number, row in enumerate(outbox.rows_of(statements)):
        values |= {f"message{number}_{key}": value for key, value in row.items()}
    values |= {"attempt": attempt.id} | moved
    statement = step_writes(len(statements), tuple(moved))
    step.id = db.session.execute(statement, values).scalar_one_or_none()
    if step.id is None:
        step_taken()
    for key, value in moved.items():
        set_committed_value(attempt, key, value)


@functools.cache
def step_writes(messages, moved):
    """Return the one PostgreSQL statement that writes a step, `messages` outbox rows and
    the attempt's columns `moved`, and returns the step's id, built once for each shape:

        WITH step AS (INSERT INTO attempt_steps ... ON CONFLICT DO NOTHING RETURNING id),
             message0 AS (INSERT INTO outbox ... SELECT ... FROM step),
             moved AS (UPDATE attempts SET at_node = ... WHERE id = ... AND EXISTS step)
        SELECT step.id FROM step

    Every part runs whether or not the SELECT reads it, in the one statement's snapshot.
    A step number already taken (a double post) inserts no step (ON CONFLICT DO NOTHING),
    and the other parts then write nothing either, as each writes only for a step the
    first inserted: the statement returns no row, and no error aborts the transaction
    (whose end, a ROLLBACK, would make psycopg forget its prepared statements).
    """
    steps, outbox_rows = AttemptStep.__table__, outbox.INSERT.table
    step = (
        postgresql.insert(steps)
        .values({key: bindparam(f"step_{key}", type_=steps.c[key].type) for key in STEP_COLUMNS})
        .on_conflict_do_nothing(index_elements=[steps.c.attempt_id, steps.c.step_number])
        .returning(steps.c.id)
        .cte("step")
    )
    parts = [
        outbox_rows.insert()
        .from_select(
            outbox.ROW_COLUMNS,
            select(
                *(
                    bindparam(f"message{number}_{key}", type_=outbox_rows.c[key].type)
                    for key in outbox.ROW_COLUMNS
                )
            ).select_from(step),
        )
        .cte(f"message{number}")
        for number in range(messages)
    ]
    attempts_table = Attempt.__table__
    parts.append(
        attempts_table.update()
        .where(attempts_table.c.id == bindparam("attempt"), select(step.c.id).exists())
        .values({key: bindparam(key, type_=attempts_table.c[key].type) for key in moved})
        .cte("moved")
    )
    return select(step.c.id).add_cte(*parts)


def moved_on(attempt, node_id, shown=None):
    """Write where an attempt not finished now stands (and, with `shown`, the step number
    and time its next node was shown) with one Core UPDATE in the session's transaction.

    The values written are set on the attempt object as its loaded state, not as changes,
    so the commit has nothing of it to flush: most steps write no more than this.
    """
    values = {"at_node": node_id}
    if shown is not None:
        values["shown_step"], values["shown_at"] = shown
    db.session.execute(MOVE_ON, {"attempt": attempt.id} | values)  # SET what `values` names
    for key, value in values.items():
        set_committed_value(attempt, key, value)


MOVE_ON = Attempt.__table__.update().where(Attempt.__table__.c.id == bindparam("attempt"))


# A step is written with one Core statement that returns its id: the step object is kept
# out of the session (it is never changed once written), which spares the unit of work.
INSERT_STEP = AttemptStep.__table__.insert().returning(AttemptStep.__table__.c.id)
INSERT_STEP_ONCE = (
    postgresql.insert(AttemptStep.__table__)
    .on_conflict_do_nothing(index_elements=["attempt_id", "step_number"])
    .returning(AttemptStep.__table__.c.id)
)
STEP_COLUMNS = tuple(column.key for column in AttemptStep.__table__.columns if column.key != "id")


def insert_step(step):
    """Write a new step in the session's transaction and give it its id; raise StepConflict
    if that step number is already taken (a double post).

    On PostgreSQL a taken number inserts nothing and raises no error (ON CONFLICT DO
    NOTHING), so the transaction, which wrote nothing, can end with COMMIT, keeping the
    connection's prepared statements (`db.keep_prepared_statements`), as `write_step` does.
    """
    values = {key: getattr(step, key) for key in STEP_COLUMNS}
    if db.session.get_bind().dialect.name == "postgresql":
        step.id = db.session.execute(INSERT_STEP_ONCE, values).scalar_one_or_none()
        if step.id is None:
            step_taken()
        return
    with clash_is_conflict():
        step.id = db.session.execute(INSERT_STEP, values).scalar_one()


# The longest `shown_after` read from a form: a day, in milliseconds.
SHOWN_AFTER_MAX_MS = 86_400_000


def shown_after(value):
    """Return a form's `shown_after` (whole milliseconds) as a timedelta, or None if it is
    missing, not a whole number, or more than a day."""
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 8:
        return None
    milliseconds = int(value)
    return timedelta(milliseconds=milliseconds) if milliseconds <= SHOWN_AFTER_MAX_MS else None


def mark_shown(progress):
    """Record when the node for the next step was first shown, once per step."""
    attempt = progress.attempt
    if attempt.finished_at is not None or attempt.shown_step == progress.next_step_number:
        return
    attempt.shown_step, attempt.shown_at = progress.next_step_number, utcnow()
    db.session.add(attempt)
    commit_keeping_loaded()  # the node is rendered next, from the rows already loaded


def finish_if_ended(progress, steps, now):
    """Store and seal the result derived from the log once the log reaches an ending."""
    scenario = progress.scenario
    choice_ids = [step.choice_id for step in steps]
    if not engine.is_ending(scenario, engine.replay(scenario, choice_ids)):
        return
    result = engine.result(scenario, choice_ids)
    attempt = progress.attempt
    attempt.finished_at = now
    attempt.state = "finished"
    attempt.ending = result.ending
    attempt.passed = result.passed
    attempt.sharing_passed = result.sharing_passed
    attempt.result = result_record(result)
    attempt.critical_count = len(result.critical_errors)
    attempt.path = path_of(steps)
    db.session.add(attempt)
    if attempt.mode == "assessment":
        late = " in the grace period" if attempt.late else ""
        reason = f"The candidate reached an ending{late}."
        record_event(attempt, "finished", reason, attempt.user_id, now)
    records.seal(attempt, steps)
    outbox.attempt_finished(attempt, progress.version)
    grades.attempt_finished(attempt)  # LTI scores, in this transaction


def path_of(steps):
    """Return a finished attempt's path as text that groups equal paths together."""
    return " ".join(f"{step.node_id}:{step.choice_id}" for step in steps)


def parse_path(path):
    """Return the (node, choice) pairs of a stored path."""
    return [tuple(pair.split(":", 1)) for pair in (path or "").split()]


def result_record(result):
    """Turn an engine result into plain JSON for storage."""
    return {
        "passed": result.passed,
        "sharing_passed": result.sharing_passed,
        "failed_sharing": [list(pair) for pair in result.failed_sharing],
        "dimensions": [
            {
                "key": d.key,
                "label": d.label,
                "raw": d.raw,
                "minimum": d.minimum,
                "maximum": d.maximum,
                "percent": d.percent,
                "pass_mark": d.pass_mark,
                "reached": d.reached,
            }
            for d in result.dimensions
        ],
        "ending": result.ending,
        "critical_errors": [list(pair) for pair in result.critical_errors],
        "grade": result.grade,
    }


def same_result(stored, recomputed):
    """Say whether a stored result agrees with a recomputed one on every key it stores.

    Results stored before critical errors and grades existed lack those keys.
    """
    return stored is not None and all(recomputed.get(key) == stored[key] for key in stored)


@contextmanager
def clash_is_conflict():
    """Roll back and raise StepConflict if what runs inside clashes with a unique constraint
    (a step number or an attempt number another request took first)."""
    try:
        yield
    except IntegrityError as error:
        db.session.rollback()
        raise StepConflict from error


def step_taken():
    """Raise StepConflict for a step whose number another request took first, where the
    insert did nothing (PostgreSQL's ON CONFLICT DO NOTHING) and so nothing was written.

    The transaction is left to end with COMMIT (`db.wrote_nothing`), and what the session
    has read is expired, as the rollback of a clash expires it, so that the caller reads
    the attempt afresh (the other request may have moved it on, or finished it).
    """
    wrote_nothing(db.session.connection())
    db.session.expire_all()
    raise StepConflict


def commit_or_conflict():
    """Commit, turning a unique-constraint clash into StepConflict.

    The objects stay loaded: every value written is set on them, and the redirect that
    follows reads them (the attempt, the step) without a reload.
    """
    with clash_is_conflict():
        commit_keeping_loaded()


def flush_or_conflict():
    """Flush, turning a unique-constraint clash into StepConflict."""
    with clash_is_conflict():
        db.session.flush()


def clean_rationale(node, text):
    """Return the rationale to keep for this node, or None where none is asked for."""
    if node.rationale == "none":
        return None
    text = (text or "").strip()
    return text or None
