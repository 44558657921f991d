"""The roster import's rules: what a list of trainees may hold, with every bad line named."""

import pytest
from helpers import gen_user

from simulator import roster


@pytest.fixture
def context(app):
    """Run the test inside an app context (parse looks up existing accounts)."""
    with app.app_context():
        yield app


def refused(text):
    """Return the (line, message) problems for which a list is refused."""
    with pytest.raises(roster.ImportRefused) as caught:
        roster.parse(text)
    return caught.value.problems


def test_columns_are_read_in_order(context):
    """Each line gives username, name, force and collar number; usernames are normalised."""
    [row] = roster.parse(" JSmith , Jane Smith ,Thames Valley Police,TV1234\n")
    assert (row.line, row.username, row.display_name) == (1, "jsmith", "Jane Smith")
    assert (row.force, row.collar_number, row.existing) == ("Thames Valley Police", "TV1234", None)


def test_header_line_is_skipped(context):
    """A first line starting `username` is a header, whatever its case."""
    rows = roster.parse("Username,Name,Force\njsmith,Jane Smith\n")
    assert [(r.line, r.username) for r in rows] == [(2, "jsmith")]


def test_line_wider_than_the_header_is_refused(context):
    """Under a heading line, a line with more columns than it names is refused by number."""
    text = "username,name\njsmith,Jane Smith\njust,some,garbage\n"
    [(line, message)] = refused(text)
    assert line == 3 and "3 columns" in message and "heading line names 2" in message


@pytest.mark.parametrize(
    ("header", "column"),
    [("username,surname,first name", 2), ("Username,Name,Force,Warrant,Notes", None)],
)
def test_header_naming_other_columns_is_refused(context, header, column):
    """A heading line that names other columns than ours, or more of them, is refused on its
    line, saying what the columns are, since its lines would be read wrongly."""
    problems = refused(f"\n{header}\njsmith,Smith,Jane\n")
    assert problems[0][0] == 2 and "the columns are username, display name" in problems[0][1]
    if column:
        assert f"column {column} is headed 'surname'" in problems[0][1]


def test_header_names_may_vary_in_case_and_wording(context):
    """Usual headings for our columns are understood in any case and spacing."""
    rows = roster.parse("USERNAME, Full  Name ,Force,Collar or warrant number\na,Ann,K,1\n")
    assert [(r.username, r.collar_number) for r in rows] == [("a", "1")]
    rows = roster.parse("username,Display_Name,Police force,Warrant No.\nb,Bea,K,2\n")
    assert [(r.username, r.display_name, r.collar_number) for r in rows] == [("b", "Bea", "2")]


def test_header_only_at_the_top(context):
    """A line starting `username` further down is a person like any other."""
    rows = roster.parse("jsmith,Jane Smith\nusername,Ursula Name\n")
    assert [r.username for r in rows] == ["jsmith", "username"]


def test_blank_lines_are_ignored_and_numbers_kept(context):
    """Blank lines and lines of empty cells are skipped, and lines keep their own numbers."""
    text = "\njsmith,Jane Smith\n\n , ,\nbad name,Someone\n"
    assert refused(text) == [(5, "A username has no spaces or commas.")]


def test_every_bad_line_is_named(context):
    """A list with several bad lines names each of them, not only the first."""
    text = "ok,Fine Person\nno name here,X\nnoname\nok2,Fine Again\n" + "x" * 65 + ",Too Long\n"
    assert [line for line, _ in refused(text)] == [2, 3, 5]


def test_name_is_required(context):
    """A line with a username alone is refused: a record of training needs a name."""
    [(line, message)] = refused("jsmith\n")
    assert line == 1 and "no name" in message


def test_duplicates_are_refused(context):
    """The same username twice (in any case) names the line it first appeared on."""
    assert refused("jsmith,Jane\nJSMITH,Jane Again\n") == [(2, "'jsmith' is already on line 1")]


def test_non_trainee_account_is_refused(context):
    """An existing trainer's or admin's username cannot be added as a trainee."""
    gen_user(context, "boss", "trainer")
    assert refused("boss,The Boss\n") == [(1, "'boss' is a trainer's account, not a trainee's")]


def test_existing_trainee_is_added_as_they_are(context):
    """A username that is already a trainee's account is kept as that account."""
    gen_user(context, "amina", "trainee")
    [row] = roster.parse("AMINA,A different name\n")
    assert row.existing is not None and row.existing.username == "amina"


def test_too_many_columns(context):
    """A line with more than four columns is refused, saying which columns are read."""
    [(line, message)] = refused("jsmith,Jane Smith,Force,123,extra\n")
    assert line == 1 and "5 columns" in message and "collar number" in message


def test_trailing_empty_columns_are_fine(context):
    """Empty cells at the end of a line, as spreadsheets write them, are not extra columns."""
    [row] = roster.parse("jsmith,Jane Smith,,,,,\n")
    assert row.force == "" and row.collar_number == ""


def test_too_long_details(context):
    """Each detail has its length limit, named in the message."""
    problems = refused("a,Ann," + "f" * 101 + "\nb,Bob,Force," + "9" * 33 + "\n")
    assert [line for line, _ in problems] == [1, 2]
    assert "force" in problems[0][1] and "collar" in problems[1][1]


def test_line_numbers_follow_quoted_line_breaks(context):
    """A quoted cell over two lines is reported at its first line; later lines keep theirs."""
    problems = refused('a,"Ann\nSmith"\nb,Bob,F,1,extra\n')
    assert [line for line, _ in problems] == [1, 3]


def test_more_than_max_lines(context):
    """A list of more than MAX_LINES people is refused as a whole, saying to split it."""
    text = "".join(f"user{n},Person {n}\n" for n in range(roster.MAX_LINES + 1))
    [(line, message)] = refused(text)
    assert line == 0 and str(roster.MAX_LINES) in message and "split" in message


def test_max_lines_is_allowed(context):
    """Exactly MAX_LINES people is fine."""
    text = "".join(f"user{n},Person {n}\n" for n in range(roster.MAX_LINES))
    assert len(roster.parse(text)) == roster.MAX_LINES


def test_too_large(context):
    """A list over MAX_BYTES is refused before it is read."""
    [(line, message)] = refused("a" * (roster.MAX_BYTES + 1))
    assert line == 0 and "KB" in message


def test_empty_list(context):
    """A list of nothing but blank lines or a header is refused."""
    assert refused("username,name\n\n")[0][0] == 0


def test_unreadable_csv(context):
    """A cell too big for the CSV reader is a problem named by line, not a crash."""
    [(line, message)] = refused("ok,Fine\nb," + "x" * 140_000 + "\n")
    assert line == 2 and "CSV" in message


def test_upload_must_be_utf8(context):
    """A file that is not UTF-8 is refused, naming the first line that is not."""
    with pytest.raises(roster.ImportRefused) as caught:
        roster.read_upload("ok,Fine\nb,Zoë\n".encode("cp1252"))
    [(line, message)] = caught.value.problems
    assert line == 2 and "CSV UTF-8" in message


def test_upload_byte_order_mark_is_dropped(context):
    """Excel's "CSV UTF-8" byte order mark does not hide the header."""
    text = roster.read_upload("username,name\njsmith,Zoë Smith\n".encode("utf-8-sig"))
    assert [r.display_name for r in roster.parse(text)] == ["Zoë Smith"]


def test_workbook_is_refused(context):
    """An Excel workbook is refused with how to save it as CSV."""
    with pytest.raises(roster.ImportRefused) as caught:
        roster.read_upload(b"PK\x03\x04 rest of a zip file")
    assert "workbook" in caught.value.problems[0][1]


def test_one_person_row_errors_by_field(context):
    """One trainee's details get a message per field, for the add-a-trainee form."""
    gen_user(context, "boss", "trainer")
    row, errors = roster.person_row("boss", "", "", "")
    assert row is None and set(errors) == {"username", "display_name"}


def test_account_made_meanwhile_refuses_the_whole_list(context):
    """An account created between checking and applying a list leaves nothing created."""
    from sqlmodel import func, select

    from simulator import accounts, cohorts
    from simulator.db import db
    from simulator.models import CohortMember, User

    gen_user(context, "trainer", "trainer")
    trainer = accounts.find_user("trainer")
    cohort = cohorts.create_cohort(trainer, "Intake", "", "recruit")
    rows = roster.parse("anna,Anna Adams\nbea,Bea Brown\n")
    accounts.create_user("bea", "another password", "trainee")
    users_before = db.session.exec(select(func.count()).select_from(User)).one()
    with pytest.raises(roster.ImportRefused) as caught:
        roster.apply(trainer, cohort, rows)
    assert caught.value.problems == [(0, roster.RACED)]
    assert db.session.exec(select(func.count()).select_from(User)).one() == users_before
    assert db.session.exec(select(func.count()).select_from(CohortMember)).one() == 0


def test_one_time_passwords_are_random_and_must_be_changed(context):
    """A created account signs in with its one-time password, which it must then change."""
    gen_user(context, "trainer", "trainer")
    from simulator import accounts, cohorts

    trainer = accounts.find_user("trainer")
    cohort = cohorts.create_cohort(trainer, "Intake", "", "recruit")
    added = roster.apply(trainer, cohort, roster.parse("anna,Anna\nbea,Bea\n"))
    first, second = (a.password for a in added)
    assert first != second and len(first) == 19
    anna = accounts.find_user("anna")
    assert anna.must_change_password and accounts.check_password(anna, first)
    assert not accounts.check_password(anna, second)
