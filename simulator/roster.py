"""Adding many trainees at once: a CSV of usernames and names, refused whole if any line is bad.

Columns, in order: username, display name, force, collar or warrant number (the last two
may be left out). A first line starting `username` is a header: it must name these columns
in this order, and no line may have more columns than it names. Blank lines, and lines of
empty cells, are skipped. Accounts that do not exist yet are created as trainees with
one-time passwords, shown once and changed at first sign-in; accounts that exist must be
trainees, and are added as they are.
"""

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from . import accounts, audit, cohorts, sessions
from .db import db

MAX_LINES = 500
MAX_BYTES = 256 * 1024
RACED = (
    "Someone else added one of these people at the same moment, so nobody was added. "
    "Send the list again."
)
COLUMNS = ("username", "display name", "force", "collar number")
# What a header may call each column, compared in any case, spacing and punctuation
# ("Display_Name", "Warrant No.").
HEADINGS = (
    {"username", "user name", "user"},
    {"name", "display name", "full name"},
    {"force", "police force"},
    {
        "collar number",
        "collar no",
        "collar",
        "warrant number",
        "warrant no",
        "collar or warrant number",
        "collar or warrant no",
        "collar warrant number",
        "collar warrant no",
    },
)
# Zip (.xlsx, .ods) and OLE (.xls) files: spreadsheets saved in their own format.
WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
SAVE_AS_CSV = "in your spreadsheet, save it as “CSV UTF-8” and choose that file"


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
    joined: bool = True  # False if they were in the cohort already


class ImportRefused(Exception):
    """Raised with (line, message) pairs when any line of an import is bad."""

    def __init__(self, problems):
        super().__init__("; ".join(f"line {line}: {message}" for line, message in problems))
        self.problems = problems


def parse(text):
    """Return the good rows of an import, or raise ImportRefused naming every bad line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ImportRefused([(0, f"The list is larger than {MAX_BYTES // 1024} KB")])
    header, lines = read_lines(text)
    if not lines:
        raise ImportRefused([(0, "The list is empty: give one person per line")])
    if len(lines) > MAX_LINES:
        message = f"The list has {len(lines)} people: at most {MAX_LINES} can be added at once"
        raise ImportRefused([(0, f"{message}, so split it up")])
    existing = accounts.find_users(accounts.normal_username(cells[0]) for _, cells in lines)
    rows, problems, seen = [], header_problems(header), {}
    width = len(header[1]) if header else len(COLUMNS)
    for number, cells in lines:
        row, problem = parse_line(number, cells, seen, existing, width)
        if problem:
            problems.append((number, problem))
        else:
            rows.append(row)
    if problems:
        raise ImportRefused(problems)
    return rows


def read_lines(text):
    """Return the header, as (line number, cells) or None, and (line number, cells) for each
    other line that is not blank: blank lines and lines of empty cells are skipped."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff").replace("\0", "")))
    header, lines, start = None, [], 1
    try:
        for cells in reader:
            cells = trimmed(cells)
            if not lines and header is None and cells and cells[0].lower() == "username":
                header = (start, cells)
            elif cells:
                lines.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        raise ImportRefused([(start, f"it cannot be read as CSV ({error})")]) from None
    return header, lines


def header_problems(header):
    """Return a (line, message) problem for each column a header names other than ours:
    a list headed otherwise would be read into the wrong columns."""
    if header is None:
        return []
    line, headings = header
    expected = ", ".join(COLUMNS)
    if len(headings) > len(COLUMNS):
        return [
            (line, f"the heading line has {len(headings)} columns: the columns are {expected}")
        ]
    return [
        (
            line,
            f"column {number} is headed {heading!r}, but it is the {COLUMNS[number - 1]}: "
            f"the columns are {expected}",
        )
        for number, (heading, known) in enumerate(zip(headings, HEADINGS, strict=False), 1)
        if heading_words(heading) not in known
    ]


def heading_words(heading):
    """Return a heading's words, lower case, without punctuation: "Warrant No." is "warrant no"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", heading.casefold()).split())


def trimmed(cells):
    """Return a line's cells without surrounding spaces or empty cells at the end."""
    cells = [cell.strip() for cell in cells]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def parse_line(number, cells, seen, existing, width):
    """Return (row, None) for a good line or (None, what is wrong with it); a line has at
    most `width` columns, those the heading line names or else all of COLUMNS."""
    if len(cells) > width:
        named = "the heading line names" if width < len(COLUMNS) else "a line has at most"
        return None, (
            f"it has {len(cells)} columns, but {named} {width}: " + ", ".join(COLUMNS[:width])
        )
    username, name, force, collar = (cells + ["", "", ""])[:4]
    username = accounts.normal_username(username)
    problem = accounts.username_problem(username) or detail_problem(name, force, collar)
    if problem:
        return None, problem
    if username in seen:
        return None, f"{username!r} is already on line {seen[username]}"
    seen[username] = number
    person = existing.get(username)
    if person is not None and person.role != "trainee":
        return None, f"{username!r} is a {person.role}'s account, not a trainee's"
    return Row(number, username, name, force, collar, person), None


def detail_problem(name, force, collar):
    """Return what is wrong with a person's details, or None."""
    if not name:
        return "it has no name: give the person's name after their username"
    if len(name) > accounts.NAME_MAX:
        return f"the name is longer than {accounts.NAME_MAX} characters"
    if len(force) > accounts.FORCE_MAX:
        return f"the force is longer than {accounts.FORCE_MAX} characters"
    if len(collar) > accounts.COLLAR_MAX:
        return f"the collar or warrant number is longer than {accounts.COLLAR_MAX} characters"
    if not all(value.isprintable() for value in (name, force, collar)):
        return "it holds characters that cannot be printed"
    return None


def read_upload(data):
    """Return the text of an uploaded file, or raise ImportRefused if it is not CSV text."""
    if len(data) > MAX_BYTES:
        raise ImportRefused([(0, f"The file is larger than {MAX_BYTES // 1024} KB")])
    if data.startswith(WORKBOOK_SIGNATURES):
        raise ImportRefused([(0, f"The file is a spreadsheet workbook, not CSV: {SAVE_AS_CSV}")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRefused([(line, f"it is not UTF-8 text: {SAVE_AS_CSV}")]) from None


def person_row(username, display_name, force, collar_number):
    """Return (row, {}) for one trainee's details, or (None, a message for each bad field)."""
    username = accounts.normal_username(username)
    errors, person = {}, None
    if not username:
        errors["username"] = "Enter a username"
    elif problem := accounts.username_problem(username):
        errors["username"] = problem
    else:
        person = accounts.find_user(username)
        if person is not None and person.role != "trainee":
            errors["username"] = f"{username!r} is a {person.role}'s account: choose another"
    errors.update(accounts.details_problems(display_name, force, collar_number))
    if errors:
        return None, errors
    details = (display_name.strip(), force.strip(), collar_number.strip())
    return Row(0, username, *details, existing=person), {}


def apply(actor, cohort, rows):
    """Create the missing accounts and put everyone in the cohort, in one transaction.

    With no cohort (an admin's bulk creation), only the missing accounts are created.
    """
    added = []
    try:
        for row in rows:
            person, password = row.existing, None
            if person is None:
                person, password = create_trainee(actor, row)
            joined = password is not None
            if cohort is not None:
                joined = cohorts.add_member(actor, cohort, person, commit=False)
            added.append(Added(person, password, joined))
        db.session.commit()
    except (ValueError, IntegrityError) as error:
        # Someone else created one of these accounts since the list was checked.
        db.session.rollback()
        raise ImportRefused([(0, RACED)]) from error
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
        one_time=True,
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
    sessions.end_sessions(person.id)  # whoever held the old password is signed out
    return password


def may_reset_password(actor, person):
    """Say whether the actor may reset this account's password: its creator, or an admin."""
    if actor.role == "admin":
        return person.id != actor.id
    return person.created_by_id == actor.id and person.role == "trainee"
