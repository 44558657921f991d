"""CSV for spreadsheets: cells that cannot run as formulas, written one line at a time.

A spreadsheet (Excel, LibreOffice Calc, Google Sheets) runs a text cell as a formula when
its first character is one of ``= + - @``, a tab or a carriage return (OWASP, "CSV
Injection"; ASVS 1.2.10 adds the NUL character). A display name or a rationale is typed
by a trainee, so every text cell that starts with one of these, after any leading spaces
and counting their full-width forms, gets a single quote in front: the spreadsheet shows
the text and runs nothing. Numbers are written as numbers (-3 stays -3); booleans as
``true``/``false``; None as an empty cell. Quoting follows RFC 4180.
"""

import csv
from datetime import UTC, datetime

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value):
    """Return a cell's text with a leading quote if a spreadsheet would run it as a formula."""
    return "'" + value if value.lstrip(" ").startswith(FORMULA_STARTS) else value


def cell(value):
    """Return what to write for one value: numbers as numbers, text neutralised."""
    convert = CONVERTERS.get(type(value))
    return convert(value) if convert is not None else neutralise(str(value))


def iso_utc(moment):
    """Return a time as ISO 8601 in UTC to the second, such as 2026-12-01T09:30:00Z.

    A time without a zone is taken to be UTC already (how the app stores every time).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _same(value):
    """Return a number as it is."""
    return value


NUMBERS = frozenset((int, float))  # not bool, whose type is its own
CONVERTERS = {
    str: neutralise,
    int: _same,
    float: _same,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _value: "",
    datetime: iso_utc,
}


class _Line:
    """A file-like object whose write returns what was written, so csv.writer yields lines."""

    def write(self, text):
        """Return the text instead of storing it."""
        return text


def lines(rows):
    """Yield each row (a sequence of values) as one CSV line, cells made safe."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    for row in rows:
        yield writer.writerow([v if type(v) in NUMBERS else cell(v) for v in row])
