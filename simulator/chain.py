"""The keyed chain over an attempt's record: keys, canonical content, links, seals, checks.

Plain functions over plain values (an attempt or a step is any object with the fields
named); nothing here touches the database or Flask. The rules:

- A keyring is `id:secret[,id:secret...]`: the first key makes new links and seals, and
  every key still verifies. An id is 1 to 16 letters, digits, '.', '_' or '-'; a secret
  is at least 32 bytes and holds no comma.
- The attempt's header is its id, its person's id, the scenario version's digest, its
  assignment, number, mode, seed and start time.
- A step's link is HMAC-SHA256(key, previous link + the step's canonical content); the
  first step's previous link is HMAC-SHA256(key, the header). The content is the
  attempt's and person's ids, the step's number, node, choice, whether it was a decision,
  the SHA-256 of its rationale (never the text), its verdict, time to decide and time.
- A finished attempt's seal is HMAC-SHA256(key, its last link, or the header's where no
  step was taken, + its canonical result): ending, passed, sharing, the stored result,
  finish time, critical errors, path, state, late, counted and why it was closed.
- Each link and seal names its key (`link_key`, `seal_key`); a header is made with the
  key of the link that follows it, or of the seal.
- Canonical content is JSON with sorted keys and no spaces, tagged with its kind; times
  are UTC in ISO 8601 with microseconds.
"""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC

MIN_SECRET_BYTES = 32
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,16}")
VERIFIED, NOT_CHAINED, FAILED = "verified", "not chained", "failed"


class KeyringError(ValueError):
    """Raised when a keyring's text is malformed; the message never shows a secret."""


@dataclass(frozen=True)
class Keyring:
    """Secrets by key id; `current` is the id of the key that makes new links and seals."""

    current: str
    secrets: dict[str, bytes]

    def secret(self, key_id):
        """Return the secret of a key id, or None if this keyring does not hold it."""
        return self.secrets.get(key_id)


def parse_keyring(text):
    """Read `id:secret[,id:secret...]`, raising KeyringError at the first problem."""
    secrets = {}
    for number, entry in enumerate(text.split(","), start=1):
        key_id, colon, secret = entry.strip().partition(":")
        if not colon or not KEY_ID.fullmatch(key_id):
            raise KeyringError(
                f"key {number} is not id:secret with an id of 1 to 16 letters, digits, "
                "'.', '_' or '-'"
            )
        if key_id in secrets:
            raise KeyringError(f"key id {key_id!r} is given twice")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise KeyringError(
                f"the secret of key {key_id!r} is shorter than {MIN_SECRET_BYTES} bytes; "
                "make one with: python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        secrets[key_id] = secret.encode()
    return Keyring(current=next(iter(secrets)), secrets=secrets)


def utc_text(moment):
    """Return a time as UTC ISO 8601 with microseconds, or None for no time."""
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise ValueError("a recorded time must say its time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(kind, **fields):
    """Encode fields as the one JSON text that stands for them, tagged with their kind."""
    text = json.dumps(
        {"kind": kind, **fields}, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return text.encode()


def mac(secret, previous, content):
    """Return the hex HMAC-SHA256 of a previous link (empty for a header) and content."""
    return hmac.new(secret, previous.encode() + content, hashlib.sha256).hexdigest()


def rationale_hash(text):
    """Return the hex SHA-256 of a rationale, or None where none was written."""
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


def header_content(attempt, digest):
    """Return the canonical header of an attempt begun on the version with this digest."""
    return canonical(
        "attempt",
        attempt=attempt.id,
        user=attempt.user_id,
        version=digest,
        assignment=attempt.assignment_id,
        number=attempt.number,
        mode=attempt.mode,
        seed=attempt.seed,
        started_at=utc_text(attempt.started_at),
    )


def step_content(attempt, step):
    """Return the canonical content of one step of an attempt."""
    return canonical(
        "step",
        attempt=step.attempt_id,
        user=attempt.user_id,
        step=step.step_number,
        node=step.node_id,
        choice=step.choice_id,
        decision=bool(step.is_decision),
        rationale=step.rationale_hash,
        verdict=step.verdict,
        elapsed_ms=step.elapsed_ms,
        recorded_at=utc_text(step.recorded_at),
    )


def result_content(attempt):
    """Return the canonical result of a finished attempt."""
    return canonical(
        "result",
        ending=attempt.ending,
        passed=attempt.passed,
        sharing_passed=attempt.sharing_passed,
        result=attempt.result,
        finished_at=utc_text(attempt.finished_at),
        critical_count=attempt.critical_count,
        path=attempt.path,
        state=attempt.state,
        late=bool(attempt.late),
        counted=bool(attempt.counted),
        closed_reason=attempt.closed_reason,
    )


def header_link(secret, attempt, digest):
    """Return the link that stands before an attempt's first step."""
    return mac(secret, "", header_content(attempt, digest))


def step_link(secret, previous, attempt, step):
    """Return a step's link, chained to the link before it."""
    return mac(secret, previous, step_content(attempt, step))


def seal_of(secret, last, attempt):
    """Return a finished attempt's seal over its last link and its result."""
    return mac(secret, last, result_content(attempt))


@dataclass(frozen=True)
class Verdict:
    """What checking one attempt found: VERIFIED, NOT_CHAINED or FAILED, and why."""

    status: str
    problems: tuple[str, ...] = ()


def check(keyring, attempt, digest, steps):
    """Check an attempt's steps (in order), links, seal and rationales against the keyring.

    An attempt with neither links nor a seal was recorded before the chain existed: it
    is NOT_CHAINED where it recorded anything, and only its rationales are checked.
    """
    problems = [*numbering_problems(steps), *rationale_problems(steps)]
    status = VERIFIED
    if not any(step.link for step in steps) and attempt.seal is None:
        if steps or attempt.finished_at is not None:
            status = NOT_CHAINED
    else:
        problems += link_problems(keyring, attempt, digest, steps)
        problems += seal_problems(keyring, attempt, digest, steps)
    return Verdict(FAILED, tuple(problems)) if problems else Verdict(status)


def numbering_problems(steps):
    """Say whether steps are missing or renumbered: they must count 0, 1, 2..."""
    if [step.step_number for step in steps] == list(range(len(steps))):
        return []
    return [f"its steps are not numbered 0 to {len(steps) - 1}: one was removed or renumbered"]


def rationale_problems(steps):
    """Name each step whose rationale, where still present, does not match its hash."""
    return [
        f"step {step.step_number}: its rationale does not match the hash recorded with it"
        for step in steps
        if step.rationale is not None and step.rationale_hash != rationale_hash(step.rationale)
    ]


def link_problems(keyring, attempt, digest, steps):
    """Name each step whose link is missing, under an unknown key, or does not match."""
    problems, previous = [], None
    for step in steps:
        problem = link_problem(keyring, attempt, digest, previous, step)
        if problem is not None:
            problems.append(f"step {step.step_number}: {problem}")
        previous = step.link or ""
    return problems


def link_problem(keyring, attempt, digest, previous, step):
    """Say what is wrong with a step's link, if anything (`previous` is None for the first)."""
    if step.link is None:
        return "it has no link"
    secret = keyring.secret(step.link_key)
    if secret is None:
        return unknown_key(step.link_key)
    if previous is None:
        previous = header_link(secret, attempt, digest)
    if hmac.compare_digest(step_link(secret, previous, attempt, step), step.link):
        return None
    return "its link does not match: the step, or what it is chained to, was changed"


def seal_problems(keyring, attempt, digest, steps):
    """Say whether a finished attempt's seal is missing, under an unknown key, or wrong."""
    if attempt.finished_at is None:
        return ["it is sealed but not finished: its finish was removed"] if attempt.seal else []
    if attempt.seal is None:
        return ["it is finished but not sealed"]
    secret = keyring.secret(attempt.seal_key)
    if secret is None:
        return [f"its seal: {unknown_key(attempt.seal_key)}"]
    last = (steps[-1].link or "") if steps else header_link(secret, attempt, digest)
    if hmac.compare_digest(seal_of(secret, last, attempt), attempt.seal):
        return []
    return ["its seal does not match: the result, or the last step, was changed"]


def unknown_key(key_id):
    """Say that a record names a key this keyring does not hold."""
    return f"it names key {key_id!r}, which is not in SIMULATOR_RECORDS_KEY"
