"""The lines of a file around a problem, with its column marked, ready to show on a page.

Lines break where YAML's parser breaks them (line feed, carriage return, both together,
U+0085, U+2028, U+2029), so the line numbers are those of the parser's marks. The cost is
bounded whatever the file: only the lines up to the one shown are scanned, and each line
shown is cut to a window of ``WIDTH`` characters around the column.
"""

import re
from dataclasses import dataclass

WIDTH = 100  # characters of a line shown, around the column, besides the ellipsis signs
MAX_CONTEXT = 10  # lines shown either side at most, whatever is asked
ELLIPSIS = "…"
TAB = "→"  # a tab, shown; one character for one, so the marker stays in its column
_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")
# Other characters that would not show: C0 controls and DEL, as their control pictures.
_INVISIBLE = {code: 0x2400 + code for code in range(0x20) if code != 0x09}
_INVISIBLE[0x09] = ord(TAB)
_INVISIBLE[0x7F] = 0x2421


@dataclass(frozen=True, slots=True)
class Line:
    """One line as shown: its number in the file, its text, and whether it is marked."""

    number: int
    text: str
    marked: bool = False


@dataclass(frozen=True, slots=True)
class Excerpt:
    """The lines around a position and where on the marked line the marker goes.

    ``line`` and ``column`` are the position after clamping to the file (1-based);
    ``marker`` is the index in the marked line's shown text of the marked character (equal
    to the text's length when the column is just past the end of the line).
    """

    lines: tuple[Line, ...]
    line: int
    column: int
    marker: int

    @property
    def marked(self) -> Line:
        """Return the marked line."""
        return next(line for line in self.lines if line.marked)

    @property
    def before(self) -> str:
        """Return the marked line's shown text before the marker."""
        return self.marked.text[: self.marker]

    @property
    def at(self) -> str:
        """Return the marked character as shown, or '' past the end of the line."""
        return self.marked.text[self.marker : self.marker + 1]

    @property
    def after(self) -> str:
        """Return the marked line's shown text after the marked character."""
        return self.marked.text[self.marker + 1 :]


def excerpt(source: str | bytes, line: int, column: int, context: int = 2) -> Excerpt:
    """Return the lines of ``source`` around ``line`` (1-based), with ``column`` marked.

    Bytes are read as UTF-8, any that are not becoming U+FFFD, and a byte-order mark is
    dropped, as the validator drops it. A position past the last line is clamped to the
    end of the file, just after its last character; a column past the end of its line, to
    just after the line's last character; a position before the start, to line 1, column 1.
    """
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    text = text.removeprefix("\ufeff")
    context = max(0, min(context, MAX_CONTEXT))
    lines = _lines_until(text, max(1, line) + context)
    if line < 1:
        line, column = 1, 1
    elif line > len(lines):
        line, column = len(lines), len(lines[-1]) + 1
    column = max(1, min(column, len(lines[line - 1]) + 1))
    start = _window_start(len(lines[line - 1]), column - 1)
    shown = tuple(
        Line(number, _shown(lines[number - 1], start), number == line)
        for number in range(max(1, line - context), min(len(lines), line + context) + 1)
    )
    marker = column - 1 - start + (1 if start else 0)
    return Excerpt(shown, line, column, marker)


def _lines_until(text: str, last: int) -> list[str]:
    """Return the file's lines up to number ``last``, reading no further than it needs.

    A final line break ends the last line and starts no new one, as editors show it,
    unless it is all the file has.
    """
    lines, begin = [], 0
    for found in _BREAK.finditer(text):
        lines.append(text[begin : found.start()])
        begin = found.end()
        if len(lines) == last:
            return lines
    if begin < len(text) or not lines:
        lines.append(text[begin:])
    return lines


def _window_start(length: int, index: int) -> int:
    """Return where a ``WIDTH``-character window of a line, centred on ``index``, starts."""
    if length <= WIDTH:
        return 0
    return max(0, min(index - WIDTH // 2, length - WIDTH + 1))


def _shown(text: str, start: int) -> str:
    """Return the window of ``text`` from ``start``, controls made visible, cuts marked."""
    window = text[start : start + WIDTH].translate(_INVISIBLE)
    if start:
        window = ELLIPSIS + window
    if start + WIDTH < len(text):
        window += ELLIPSIS
    return window
