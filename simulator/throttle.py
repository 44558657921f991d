"""Sign-in throttling that every app process and machine shares through the database.

Failed sign-ins are counted under three keys (`SCOPES`): the (username, address) pair,
the client address, and the username alone. Each key may fail `FREE` times; after that
each further failure makes the next sign-in under that key wait, starting at `FIRST_WAIT`
and doubling with each failure up to `LONGEST_WAIT`. Nothing is ever locked for good: the
wait runs out, a successful sign-in from the pair clears the pair and the username, and an
admin can clear a username (`unlock`).

The username alone may fail many more times than a pair or an address, so that someone
at another computer cannot shut a candidate out just before a timed assessment by typing
wrong passwords for them; a guesser spread over many addresses still meets that ceiling.
The check (`standing`) reads the keys before any password is hashed, so a throttled
guess costs no Argon2 work; the person is told only how long to wait, the same words
whether or not the username exists. Counting is one statement per key (an upsert), safe
when several processes count at once. Every failure is also an audit entry.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import delete

from . import audit
from .db import commit_keeping_loaded, db
from .models import SignInThrottle, utcnow


@dataclass(frozen=True)
class Scope:
    """One way of counting failures: how many are free before waiting begins."""

    name: str
    free: int


PAIR = Scope("pair", 5)
ADDRESS = Scope("address", 20)
USERNAME = Scope("username", 100)
SCOPES = (PAIR, ADDRESS, USERNAME)
FIRST_WAIT = timedelta(seconds=1)
LONGEST_WAIT = timedelta(minutes=15)
KEY_MAX = 200


def keys(username, address):
    """Return (scope, key) for each way a sign-in is counted."""
    name = username.strip().casefold()
    address = address or "unknown"
    return [
        (PAIR, f"{name}\n{address}"[:KEY_MAX]),
        (ADDRESS, address[:KEY_MAX]),
        (USERNAME, name[:KEY_MAX]),
    ]


@dataclass(frozen=True)
class Standing:
    """Where a sign-in stands before its password is checked."""

    wait: timedelta | None  # how long it must wait first, or None if it may go now
    counted: bool  # whether its pair or its username has failures a success would clear


def matching(scope):
    """Return the condition that a throttle row is a sign-in's key under `scope`."""
    table = SignInThrottle.__table__
    return (table.c.scope == scope.name) & (table.c.key == bindparam(scope.name))


# `standing`'s one read, built once: a sign-in reads it before any password is hashed, and
# building it anew (and its cache key) cost more than running it.
STANDING = select(
    func.max(SignInThrottle.__table__.c.blocked_until).filter(
        SignInThrottle.__table__.c.blocked_until > bindparam("now")
    ),
    func.count().filter(or_(matching(PAIR), matching(USERNAME))),
).where(or_(*(matching(scope) for scope in SCOPES)))


def standing(username, address, now=None):
    """Return how long a sign-in must wait, and whether it has failures to clear: one read."""
    now = now or utcnow()
    params = {scope.name: key for scope, key in keys(username, address)} | {"now": now}
    until, counted = db.session.execute(STANDING, params).one()
    return Standing(None if until is None else until - now, counted > 0)


def delay(failures, free):
    """Return the wait after `failures` failures under a key that allows `free`, or None."""
    if failures <= free:
        return None
    doublings = min(failures - free - 1, 30)  # 2**30 seconds is far past the cap
    return min(FIRST_WAIT * 2**doublings, LONGEST_WAIT)


def failed(username, address, user=None, now=None):
    """Count a failed sign-in under every key, and record it in the audit log."""
    now = now or utcnow()
    for scope, key in keys(username, address):
        count_failure(scope, key, now)
    target = user if user is not None else ("users", None)
    audit.record(
        None,
        "sign_in.failed",
        target,
        "A sign-in failed",
        username=username[:KEY_MAX],
        address=address,
    )
    db.session.commit()


def count_failure(scope, key, now):
    """Add one failure to a key and set its wait, in one statement (an upsert)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    first = insert(SignInThrottle).values(
        scope=scope.name, key=key, failures=1, last_at=now, blocked_until=until(1, scope, now)
    )
    failures = SignInThrottle.failures + 1
    statement = first.on_conflict_do_update(
        index_elements=["scope", "key"],
        set_={
            "failures": failures,
            "last_at": now,
            "blocked_until": blocked_until_sql(failures, scope, now),
        },
    )
    db.session.execute(statement)


def until(failures, scope, now):
    """Return when a key with this many failures may sign in again, or None."""
    wait = delay(failures, scope.free)
    return None if wait is None else now + wait


def blocked_until_sql(failures, scope, now):
    """Return SQL for `until` over the stored count (the doubling, capped)."""
    steps = [
        (failures <= scope.free + n + 1, now + delay(scope.free + n + 1, scope.free))
        for n in range(doublings_to_cap())
    ]
    return case((failures <= scope.free, None), *steps, else_=now + LONGEST_WAIT)


def doublings_to_cap():
    """Return how many doublings of FIRST_WAIT reach LONGEST_WAIT."""
    n, wait = 0, FIRST_WAIT
    while wait < LONGEST_WAIT:
        n, wait = n + 1, wait * 2
    return n + 1


def succeeded(username, address, counted=True):
    """Clear the pair's and the username's failures after a correct sign-in, and commit
    the sign-in's transaction (its new session too: `sessions.sign_in`).

    The address keeps its count: one account's owner signing in must not reset a
    guesser's count from the same address. With `counted` false (the check before the
    password found no failures to clear), nothing of the throttle's is written.
    """
    if counted:
        pairs = keys(username, address)
        cleared = or_(
            *[
                (SignInThrottle.scope == s.name) & (SignInThrottle.key == k)
                for s, k in (pairs[0], pairs[2])
            ]
        )
        db.session.execute(delete(SignInThrottle).where(cleared))
    commit_keeping_loaded()  # the user just found is read next: no reload


def unlock(actor, username):
    """Clear every failure counted for a username (all its pairs too); return how many keys.

    Recorded in the audit log. For an admin, when a person was locked out.
    """
    name = username.strip().casefold()
    statement = delete(SignInThrottle).where(
        ((SignInThrottle.scope == USERNAME.name) & (SignInThrottle.key == name))
        | ((SignInThrottle.scope == PAIR.name) & SignInThrottle.key.startswith(f"{name}\n"))
    )
    cleared = db.session.execute(statement).rowcount
    audit.record(
        actor, "sign_in.unlock", ("users", None), f"Cleared sign-in failures for {name!r}"
    )
    db.session.commit()
    return cleared


def wait_words(wait):
    """Say how long to wait, rounded up to the second or the minute."""
    seconds = max(1, int(wait.total_seconds() + 0.999))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
