"""Records that cannot be altered unnoticed: chaining and sealing attempts as they are
recorded, the one logged way past the triggers, and checking every chain.

The cryptography is in chain.py and the triggers in triggers.py; this module applies them
to the database with the app's keyring (SIMULATOR_RECORDS_KEY, read by `create_app`).
"""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func
from sqlmodel import select

from . import audit, chain
from .db import db
from .models import WITHOUT_BYTES, Attempt, AttemptStep, RecordUnlock, ScenarioVersion

BATCH_SIZE = 200


class MissingRecordsKey(RuntimeError):
    """Raised when records must be chained or checked but no key is configured."""


def keyring():
    """Return the app's records keyring, or raise MissingRecordsKey saying what to set."""
    found = current_app.extensions.get("records_keyring")
    if found is None:
        raise MissingRecordsKey(
            "SIMULATOR_RECORDS_KEY is not set: records can be neither chained nor checked."
        )
    return found


def signing_key():
    """Return the id and secret of the key that makes new links and seals."""
    ring = keyring()
    return ring.current, ring.secret(ring.current)


def digest_of(attempt):
    """Return the digest of the scenario version an attempt is pinned to."""
    with db.session.no_autoflush:  # a finished attempt must not reach the database unsealed
        version = db.session.get(
            ScenarioVersion, attempt.scenario_version_id, options=WITHOUT_BYTES
        )
        return version.digest


def link(attempt, steps, step):
    """Hash a new step's rationale and chain it to the steps before (or the attempt's start).

    An attempt whose earlier steps were recorded before the chain existed stays unchained.
    """
    step.rationale_hash = chain.rationale_hash(step.rationale)
    key_id, secret = signing_key()
    previous = steps[-1].link if steps else chain.header_link(secret, attempt, digest_of(attempt))
    if previous is not None:
        step.link, step.link_key = chain.step_link(secret, previous, attempt, step), key_id


def seal(attempt, steps):
    """Seal a finished attempt's result to the last of its steps (in order).

    Call it once every sealed field is set (see chain.py) and before the attempt is
    flushed: once its finish reaches the database the triggers refuse any change, the
    seal included. An attempt begun before the chain existed is left unsealed.
    """
    if attempt.finished_at is None:
        raise ValueError(f"attempt {attempt.id} is not finished: only a result is sealed")
    key_id, secret = signing_key()
    last = steps[-1].link if steps else chain.header_link(secret, attempt, digest_of(attempt))
    if last is not None:
        attempt.seal, attempt.seal_key = chain.seal_of(secret, last, attempt), key_id


@contextmanager
def unlocked(reason, actor=None):
    """Let one transaction's changes past the record triggers, and log it in the audit log.

    The block runs after a `record_unlocks` row and an audit entry giving the reason are
    added; the row is deleted again and everything committed together, so the row never
    outlives the transaction. An error rolls it all back. Commit or roll back other work
    first: everything in the transaction goes past the triggers.
    """
    unlock = RecordUnlock(reason=reason, actor_id=actor.id if actor is not None else None)
    db.session.add(unlock)
    db.session.flush()
    audit.record(actor, "records.unlock", unlock, f"Unlocked the records: {reason}")
    try:
        yield
        db.session.flush()  # the block's changes go first, while the row still unlocks
        db.session.delete(unlock)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


@dataclass(frozen=True)
class Checked:
    """One attempt as `verify` found it."""

    attempt_id: int
    started_at: datetime
    verdict: chain.Verdict


def verify(attempt_id=None):
    """Check every attempt (or one), oldest first; return an iterator of Checked.

    Attempts are read a batch at a time and let go after, so memory stays flat.
    """
    ring = keyring()
    return checked_batches(ring, attempt_id)


def checked_batches(ring, attempt_id):
    """Yield each attempt's check, batch by batch."""
    after = 0
    while batch := attempts_after(after, attempt_id):
        steps = steps_of(attempt.id for attempt in batch)
        digests = digests_of({attempt.scenario_version_id for attempt in batch})
        for attempt in batch:
            digest = digests[attempt.scenario_version_id]
            verdict = chain.check(ring, attempt, digest, steps.get(attempt.id, []))
            yield Checked(attempt.id, attempt.started_at, verdict)
        after = batch[-1].id
        db.session.expunge_all()


def attempts_after(after, attempt_id):
    """Return the next batch of attempts by id (only `attempt_id`, if given)."""
    statement = select(Attempt).where(Attempt.id > after).order_by(Attempt.id)
    if attempt_id is not None:
        statement = statement.where(Attempt.id == attempt_id)
    return db.session.exec(statement.limit(BATCH_SIZE)).all()


def steps_of(attempt_ids):
    """Return the steps of these attempts, in order, by attempt id."""
    statement = (
        select(AttemptStep)
        .where(AttemptStep.attempt_id.in_(list(attempt_ids)))
        .order_by(AttemptStep.attempt_id, AttemptStep.step_number)
    )
    found = {}
    for step in db.session.exec(statement):
        found.setdefault(step.attempt_id, []).append(step)
    return found


def digests_of(version_ids):
    """Return the digests of these scenario versions, by id."""
    statement = select(ScenarioVersion.id, ScenarioVersion.digest)
    return dict(db.session.exec(statement.where(ScenarioVersion.id.in_(version_ids))).all())


def open_unlocks():
    """Return how many `record_unlocks` rows outlived their transaction (0 unless tampered)."""
    return db.session.exec(select(func.count()).select_from(RecordUnlock)).one()
