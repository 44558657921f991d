"""The outbox: messages for other systems, written with what they report, sent later.

Each xAPI statement (xapi.py) is added to the session in the same transaction as the step
or change of state it describes, and never committed here: a step that fails to commit
leaves no statement, and a statement is never lost once its step is recorded. Rows are
written whether or not a learning record store is configured, so one configured later
gets the whole history. A trainer's preview writes none.

`send_waiting` (the command `flask records send`) delivers the rows that are due, a batch
at a time, each batch locked with PostgreSQL's FOR UPDATE SKIP LOCKED so that senders on
several machines never send the same row at once; a row that fails waits longer each time
(`backoff`) and is never given up.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select

from . import engine, xapi
from .db import db
from .models import WITHOUT_BYTES, Assignment, Installation, OutboxMessage, ScenarioVersion, utcnow

XAPI = "xapi"
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MOST = timedelta(hours=1)
ERROR_MAX = 1000
FAILING_SHOWN = 10


# --------------------------------------------------------------------------- the namespace


NAMESPACE_KEPT = "simulator.installation_namespace"


def namespace():
    """Return the installation's namespace, drawing it at random the first time.

    Insert-if-absent in the caller's transaction: of two processes that both find none,
    the second waits for the first's row and keeps it. Were the transaction rolled back,
    the namespace goes with the statements that used it.

    Once found committed, the namespace never changes, so the app keeps it and reads it
    no more (not one found in the transaction that drew it: that could still roll back).
    """
    kept = current_app.extensions.get(NAMESPACE_KEPT)
    if kept is not None:
        return kept
    found = db.session.get(Installation, 1)
    if found is not None and not db.session.info.get(NAMESPACE_KEPT):
        kept = current_app.extensions[NAMESPACE_KEPT] = uuid.UUID(found.namespace)
        return kept
    if found is None:
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        drawn = insert(Installation).values(id=1, namespace=str(uuid.uuid4()), created_at=utcnow())
        db.session.execute(drawn.on_conflict_do_nothing(index_elements=["id"]))
        db.session.info[NAMESPACE_KEPT] = "drawn in this transaction"
        found = db.session.get(Installation, 1)
    return uuid.UUID(found.namespace)


def activity_base(config):
    """Return the base IRI of activities and accounts: SIMULATOR_XAPI_ACTIVITY_BASE, else
    the app's own address (SERVER_NAME), else http://localhost."""
    if config.get("XAPI_ACTIVITY_BASE"):
        return str(config["XAPI_ACTIVITY_BASE"]).rstrip("/")
    if config.get("SERVER_NAME"):
        return f"{config.get('PREFERRED_URL_SCHEME') or 'http'}://{config['SERVER_NAME']}"
    return "http://localhost"


def site():
    """Return where this installation's statements come from."""
    return xapi.Site(namespace(), activity_base(current_app.config))


# --------------------------------------------------------------------------- writing


def sitting_of(attempt, version=None):
    """Return what every statement says of an attempt, read without flushing the session."""
    if version is None:
        version = db.session.get(
            ScenarioVersion, attempt.scenario_version_id, options=WITHOUT_BYTES
        )
    assignment = (
        db.session.get(Assignment, attempt.assignment_id) if attempt.assignment_id else None
    )
    return xapi.Sitting(
        attempt_id=attempt.id,
        user_id=attempt.user_id,
        number=attempt.number,
        mode=attempt.mode,
        scenario_key=attempt.scenario_key,
        title=version.title,
        version=version.version,
        digest=version.digest,
        started_at=attempt.started_at,
        cohort_id=assignment.cohort_id if assignment else None,
        assignment_id=attempt.assignment_id,
    )


# Written with one Core statement in the caller's transaction: a row is never read back in
# the request that writes it, and the ORM's unit of work cost more than the statement.
INSERT = OutboxMessage.__table__.insert()
# The columns every row has (`rows_of`), for statements that write rows with others.
ROW_COLUMNS = ("kind", "message_id", "payload", "created_at", "tries", "next_try_at")


def add(statements):
    """Write statements as outbox rows, in order, in the session's transaction."""
    if statements:
        db.session.execute(INSERT, rows_of(statements))


def rows_of(statements):
    """Return the outbox rows that hold these statements, due at once."""
    now = utcnow()
    return [
        {
            "kind": XAPI,
            "message_id": made["id"],
            "payload": made,
            "created_at": now,
            "tries": 0,
            "next_try_at": now,
        }
        for made in statements
    ]


def attempt_started(attempt, version):
    """Write that an attempt began (the attempt must have its id)."""
    if attempt.preview:
        return
    with db.session.no_autoflush:
        add([xapi.started(site(), sitting_of(attempt, version))])


def decision_taken(progress, step, choice):
    """Write a decision just added to the log: the options as shown, the choice, its marks."""
    with db.session.no_autoflush:
        add(decision_statements(progress, step, choice))


def decision_statements(progress, step, choice):
    """Return the statements a step just added to the log makes: one for a decision, none
    for a step that is not one or for a trainer's preview."""
    if progress.attempt.preview or not step.is_decision:
        return []
    sitting = sitting_of(progress.attempt, progress.version)
    return [xapi.answered(site(), sitting, decision_of(progress, step, choice))]


def decision_of(progress, step, choice):
    """Return a recorded step as a decision, its options filled in from the attempt's cast."""
    scenario = progress.scenario
    return xapi.Decision(
        step_number=step.step_number,
        node_id=step.node_id,
        shown=tuple(
            (offered.id, shown_text(offered.text, progress.row)) for offered in progress.offered()
        ),
        choice_id=step.choice_id,
        recorded_at=step.recorded_at,
        elapsed_ms=step.elapsed_ms,
        points={key: choice.score.get(key, 0) for key in scenario.dimensions},
        sharing=choice.sharing,
        critical=choice.critical,
        verdict=step.verdict,
    )


def shown_text(text, row):
    """Return an option's text as the attempt showed it, with its cast filled in."""
    try:
        return engine.fill(text, row).strip()
    except engine.PlaceholderError:
        return text.strip()


def attempt_finished(attempt, version=None):
    """Write how a finished attempt ended, from the result stored on it."""
    if attempt.preview:
        return
    with db.session.no_autoflush:
        add(xapi.ended(site(), sitting_of(attempt, version), outcome_of(attempt)))


def outcome_of(attempt):
    """Return a finished attempt's outcome from its stored result."""
    result = attempt.result or {}
    dimensions = {d["key"]: d["percent"] for d in result.get("dimensions", [])}
    critical = result.get("critical_errors")
    return xapi.Outcome(
        finished_at=attempt.finished_at,
        ending=attempt.ending,
        passed=bool(attempt.passed),
        grade=result.get("grade", 0),
        dimensions=dimensions,
        sharing_passed=result.get("sharing_passed"),
        critical_errors=None if critical is None else len(critical),
        closed=attempt.closed_reason,
    )


def attempt_abandoned(attempt, reason=None):
    """Write that an attempt was given up, or discarded when its time ran out."""
    if attempt.preview:
        return
    with db.session.no_autoflush:
        add([xapi.abandoned(site(), sitting_of(attempt), attempt.abandoned_at, reason)])


# --------------------------------------------------------------------------- sending


@dataclass
class Sent:
    """What one run of the sender did: how many rows it delivered, and those that failed."""

    delivered: int = 0
    failed: list = field(default_factory=list)  # (message id, error)


@dataclass
class Standing:
    """What is left in the outbox: rows waiting, and those among them that have failed."""

    waiting: int = 0
    failing: int = 0
    shown: list = field(default_factory=list)  # the oldest failing rows


def backoff(tries):
    """Return how long a row waits after its `tries`-th failure: 1, 2, 4 ... minutes, at
    most an hour."""
    return min(BACKOFF_FIRST * 2 ** (tries - 1), BACKOFF_MOST)


def claim(kind, limit, now):
    """Return up to `limit` rows due by `now`, oldest first, locked for this transaction;
    rows another sender holds are skipped (SQLite has one writer, and skips nothing)."""
    statement = (
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == kind,
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.next_try_at <= now,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return db.session.exec(statement.execution_options(populate_existing=True)).all()


def send_waiting(kind, deliver, batch_size=50, now=None):
    """Deliver every row of a kind that is due, a batch per transaction; return what was sent.

    `deliver(payloads)` returns, for each payload, None when it was delivered or the error.
    A failed row is due again after `backoff`, counted from the start of the run, so each
    row is tried at most once a run. A batch that fails whole (the other system is down,
    slow or refusing) ends the run: the rows after it wait for the next run untried.
    """
    now = now or utcnow()
    sent = Sent()
    while rows := claim(kind, batch_size, now):
        errors = deliver([row.payload for row in rows])
        at = utcnow()
        for row, error in zip(rows, errors, strict=True):
            if error is None:
                row.delivered_at = at
                sent.delivered += 1
            else:
                record_failure(row, error, max(at, now))
                sent.failed.append((row.message_id, row.last_error))
        db.session.add_all(rows)
        db.session.commit()
        if None not in errors:
            break
    db.session.rollback()
    return sent


def record_failure(row, error, at):
    """Count a failed delivery and set when to try again."""
    row.tries += 1
    row.last_error = error[:ERROR_MAX]
    row.next_try_at = at + backoff(row.tries)


def standing(kind):
    """Return how many rows of a kind wait, how many have failed, and the oldest failing."""
    waiting = (OutboxMessage.kind == kind) & OutboxMessage.delivered_at.is_(None)
    counts = select(func.count(), func.count().filter(OutboxMessage.tries > 0)).where(waiting)
    total, failing = db.session.exec(counts).one()
    oldest = select(OutboxMessage).where(waiting, OutboxMessage.tries > 0)
    shown = db.session.exec(oldest.order_by(OutboxMessage.id).limit(FAILING_SHOWN)).all()
    return Standing(total, failing, list(shown))
