"""Adding many trainees at once: a CSV of usernames and names, refused whole if any line is bad.

Columns, in order: username, display name, force, collar or warrant number (the last two
may be left out). A first line starting `username` is a header and skipped. Accounts that
do not exist yet are created as trainees with one-time passwords, shown once and changed at
first sign-in; accounts that exist must be trainees, and are added as they are.
"""

import csv
import io
from dataclasses import dataclass

from . import accounts, audit, cohorts
from .db import db

MAX_LINES = 500
MAX_BYTES = 256 * 1024
COLUMNS = ("username", "display name", "force", "collar number")


@dataclass
class Row:
    """One good line of an import."""

    line: int
    username: str
    display_name: str
    force: str
    collar_number: str
    existing: object = None  # the User, if the account exists already


@dataclass
class Added:
    """One person an import put in the cohort, with the one-time password of a new account."""

    user: object
    password: str | None


class ImportRefused(Exception):
    """Raised with (line, message) pairs when any line of an import is bad."""

    def __init__(self, problems):
        super().__init__("; ".join(f"line {line}: {message}" for line, message in problems))
        self.problems = problems


def parse(text):
    """Return the good rows of an import, or raise ImportRefused naming every bad line."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ImportRefused([(0, f"The list is larger than {MAX_BYTES // 1024} KB")])
    lines = list(enumerate(csv.reader(io.StringIO(text.replace("\0", ""))), start=1))
    rows, problems, seen = [], [], {}
    for number, cells in lines:
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if not rows and not problems and cells[0].lower() == "username":
            continue
        row, problem = parse_line(number, cells, seen)
        if problem:
            problems.append((number, problem))
        else:
            rows.append(row)
    if len(rows) + len(problems) > MAX_LINES:
        problems.insert(0, (0, f"The list has more than {MAX_LINES} people: split it up"))
    if not rows and not problems:
        problems.append((0, "The list is empty: give one person per line"))
    if problems:
        raise ImportRefused(problems)
    return rows


def parse_line(number, cells, seen):
    """Return (row, None) for a good line or (None, what is wrong with it)."""
    if len(cells) > len(COLUMNS):
        return None, f"it has {len(cells)} columns; at most {len(COLUMNS)} are read"
    username, name, force, collar = (cells + ["", "", ""])[:4]
    username = accounts.normal_username(username)
    problem = accounts.username_problem(username) or detail_problem(name, force, collar)
    if problem:
        return None, problem
    if username in seen:
        return None, f"{username!r} is already on line {seen[username]}"
    seen[username] = number
    existing = accounts.find_user(username)
    if existing is not None and existing.role != "trainee":
        return None, f"{username!r} is a {existing.role}'s account, not a trainee's"
    return Row(number, username, name, force, collar, existing), None


def detail_problem(name, force, collar):
    """Return what is wrong with a person's details, or None."""
    if len(name) > accounts.NAME_MAX:
        return f"the name is longer than {accounts.NAME_MAX} characters"
    if len(force) > accounts.FORCE_MAX:
        return f"the force is longer than {accounts.FORCE_MAX} characters"
    if len(collar) > accounts.COLLAR_MAX:
        return f"the collar or warrant number is longer than {accounts.COLLAR_MAX} characters"
    if not all(value.isprintable() for value in (name, force, collar)):
        return "it holds characters that cannot be printed"
    return None


def apply(actor, cohort, rows):
    """Create the missing accounts and put everyone in the cohort, in one transaction."""
    added = []
    try:
        for row in rows:
            person, password = row.existing, None
            if person is None:
                person, password = create_trainee(actor, row)
            cohorts.add_member(actor, cohort, person, commit=False)
            added.append(Added(person, password))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return added


def create_trainee(actor, row):
    """Add a trainee's account with a one-time password (not committed)."""
    password = accounts.one_time_password()
    person = accounts.new_user(
        row.username,
        password,
        "trainee",
        display_name=row.display_name,
        force=row.force,
        collar_number=row.collar_number,
        must_change_password=True,
        created_by_id=actor.id,
    )
    db.session.add(person)
    db.session.flush()
    audit.record(actor, "account.create", person, f"Created trainee account {person.username!r}")
    return person, password


def reset_password(actor, person):
    """Give an account a new one-time password, recorded in the audit log; return it."""
    password = accounts.set_one_time_password(person)
    audit.record(
        actor, "account.reset_password", person, f"Reset the password of {person.username!r}"
    )
    db.session.commit()
    return password


def may_reset_password(actor, person):
    """Say whether the actor may reset this account's password: its creator, or an admin."""
    if actor.role == "admin":
        return person.id != actor.id
    return person.created_by_id == actor.id and person.role == "trainee"
