"""The lines around a problem, with its column marked, as a page shows them."""

import pytest

from simulator.scenario.excerpt import ELLIPSIS, MAX_CONTEXT, TAB, WIDTH, Line, excerpt

from .helpers import check, replace

FIVE = "one\ntwo\nthree\nfour\nfive\n"


def test_the_lines_around_the_marked_one():
    """Two lines either side are shown, numbered, with the marked line and column."""
    shown = excerpt(FIVE, 3, 2)
    assert shown.lines == (
        Line(1, "one"),
        Line(2, "two"),
        Line(3, "three", marked=True),
        Line(4, "four"),
        Line(5, "five"),
    )
    assert (shown.line, shown.column, shown.marker) == (3, 2, 1)
    assert (shown.before, shown.at, shown.after) == ("t", "h", "ree")


def test_context_stops_at_the_edges_of_the_file():
    """Near the first or last line, fewer lines are shown on that side."""
    assert [line.number for line in excerpt(FIVE, 1, 1).lines] == [1, 2, 3]
    assert [line.number for line in excerpt(FIVE, 5, 1).lines] == [3, 4, 5]


@pytest.mark.parametrize(("context", "count"), [(0, 1), (1, 3), (100, 2 * MAX_CONTEXT + 1)])
def test_context_is_how_many_lines_either_side(context, count):
    """``context`` lines are shown either side, at most ``MAX_CONTEXT``."""
    text = "".join(f"line {n}\n" for n in range(1, 101))
    assert len(excerpt(text, 50, 1, context).lines) == count


@pytest.mark.parametrize(
    ("line", "column", "where"),
    [
        (99, 1, (5, 5, 4)),  # past the last line: the end of the file
        (2, 99, (2, 4, 3)),  # past the end of its line: just after its last character
        (0, 0, (1, 1, 0)),  # before the start: the first character
        (-3, 2, (1, 1, 0)),
        (3, -1, (3, 1, 0)),
    ],
)
def test_positions_past_the_ends_are_clamped(line, column, where):
    """A line or column outside the file is moved to the nearest place in it."""
    shown = excerpt(FIVE, line, column)
    assert (shown.line, shown.column, shown.marker) == where
    assert shown.marked.number == where[0]


def test_just_past_the_end_of_a_line_marks_nothing():
    """Marked just after a line's last character, the marked text is empty."""
    shown = excerpt(FIVE, 2, 4)
    assert (shown.before, shown.at, shown.after) == ("two", "", "")


def test_a_final_line_break_starts_no_line():
    """The parser's mark at the end of a file that ends in a line break lands on its last line."""
    report = check(replace("title: Sample", 'title: "Sample'))
    problem = report.problems[0]
    source = replace("title: Sample", 'title: "Sample')
    shown = excerpt(source, problem.line, problem.column)
    assert problem.line == source.count("\n") + 1
    assert shown.line == source.count("\n") and shown.at == ""


def test_the_marked_character_is_the_parsers_mark():
    """For a problem the validator reports, the marked character is the one it points at."""
    source = replace("title: Sample", "title: Sample: a test")
    problem = check(source).problems[0]
    assert excerpt(source, problem.line, problem.column).at == ":"


def test_tabs_and_control_characters_are_shown():
    """A tab shows as an arrow and other control characters as their pictures, one for one."""
    shown = excerpt("a:\n\tb: 1\x07\x7f\n", 2, 1)
    assert shown.marked.text == f"{TAB}b: 1\u2407\u2421"
    assert shown.at == TAB


def test_bytes_that_are_not_utf8_are_replaced():
    """Bytes are read as UTF-8; a byte that is not shows as the replacement character."""
    shown = excerpt(b"format: 1\nid: caf\xe9\n", 2, 8)
    assert shown.marked.text == "id: caf\ufffd"
    assert shown.at == "\ufffd"


def test_a_byte_order_mark_is_dropped():
    """A byte-order mark is not counted as a column, as the validator does not count it."""
    assert excerpt(b"\xef\xbb\xbfab\n", 1, 1).at == "a"
    assert excerpt("\ufeffab\n", 1, 2).at == "b"


@pytest.mark.parametrize("text", ["a\r\nb\r\nc", "a\rb\rc", "a\x85b\u2028c", "a\nb\u2029c"])
def test_lines_break_where_the_parser_breaks_them(text):
    """Carriage returns, both breaks together, U+0085, U+2028 and U+2029 end lines."""
    assert [line.text for line in excerpt(text, 2, 1).lines] == ["a", "b", "c"]


def test_a_long_line_is_windowed_around_the_column():
    """A long line shows ``WIDTH`` characters around the column, with ellipses where cut."""
    line = "".join(chr(ord("a") + n % 26) for n in range(1000))
    shown = excerpt(f"key: {line}\n", 1, 505)
    text = shown.marked.text
    assert text.startswith(ELLIPSIS) and text.endswith(ELLIPSIS)
    assert len(text) == WIDTH + 2
    assert shown.at == f"key: {line}"[504]
    assert shown.before.endswith(f"key: {line}"[480:504])


def test_a_long_line_marked_near_its_end():
    """Near the end of a long line, the window ends with the line and still shows the mark."""
    source = "x" * 300 + "!"
    shown = excerpt(source, 1, 302)
    assert shown.marked.text.startswith(ELLIPSIS) and not shown.marked.text.endswith(ELLIPSIS)
    assert shown.before.endswith("!") and shown.at == ""
    assert excerpt(source, 1, 301).at == "!"


def test_a_long_line_marked_near_its_start():
    """Near the start of a long line, the window starts with the line."""
    shown = excerpt("!" + "x" * 300, 1, 1)
    assert shown.at == "!" and shown.marker == 0
    assert shown.marked.text.endswith(ELLIPSIS) and len(shown.marked.text) == WIDTH + 1


def test_lines_around_a_windowed_line_use_the_same_window():
    """Every line shown is cut at the same place, so the marked column lines up."""
    source = "a" * 400 + "\n" + "b" * 400 + "\nshort\n"
    shown = excerpt(source, 2, 300, context=1)
    above, marked, below = shown.lines
    assert len(above.text) == len(marked.text)
    assert below.text == ELLIPSIS  # nothing of it in the window


def test_the_cost_is_bounded_by_the_lines_shown():
    """A 1 MiB line is shown as a window of it, and only the lines around it are returned."""
    source = "k: " + "v" * 1_048_576 + "\n" + "z\n" * 100_000
    shown = excerpt(source, 1, 600_000)
    assert all(len(line.text) <= WIDTH + 2 for line in shown.lines)
    assert [line.number for line in shown.lines] == [1, 2, 3]


def test_an_empty_file_has_one_empty_line():
    """An empty file is one empty line, marked at its start."""
    shown = excerpt(b"", 3, 3)
    assert shown.lines == (Line(1, "", marked=True),)
    assert (shown.line, shown.column, shown.marker, shown.at) == (1, 1, 0, "")
