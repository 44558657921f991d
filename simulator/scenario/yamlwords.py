"""Say in plain words what to fix when a file is not valid YAML.

PyYAML's parser (libyaml's, or PyYAML's own where libyaml is missing) reports a problem in
the terms of its grammar: "mapping values are not allowed here", "did not find expected
key". Each rule here recognises one kind of problem from the parser's words and the text
at its marks, and says what a person writing a scenario should change. The parser's own
words follow as detail; when no rule fits, they are all there is, after a general hint.
"""

import re

import yaml

# What the parser counts as a line break (YAML 1.1): its marks count lines this way.
BREAKS = "\n\r\x85\u2028\u2029"
FALLBACK = "this is not valid YAML: check the indentation, colons and quotes here and just above"
# How far above the mark a translation looks for the line before it.
LOOK_BACK = 10_000
_KEY_COLON = re.compile(r":(?=[ \t]|$)")
_CLOSERS = {"[": "]", "{": "}"}


class Facts:
    """What the parser said, where, and the text around its marks."""

    def __init__(self, error: yaml.MarkedYAMLError, text: str):
        self.text = text
        self.problem = (error.problem or "").replace("\n", " ")
        self.context = (error.context or "").replace("\n", " ")
        self.mark = error.problem_mark or error.context_mark
        self.context_mark = error.context_mark if error.context else None
        self.index = min(self.mark.index, len(text)) if self.mark else 0
        self.start, self.end = line_bounds(text, self.index)
        self.line = text[self.start : self.end]

    @property
    def char(self) -> str:
        """Return the character at the parser's mark, or '' at the end of the file."""
        return self.text[self.index] if self.index < self.end else ""

    def before(self) -> str:
        """Return the text of the mark's line before the mark."""
        return self.text[self.start : self.index]

    def context_char(self) -> str:
        """Return the character at the context mark, or ''."""
        mark = self.context_mark
        return self.text[mark.index] if mark and mark.index < len(self.text) else ""

    def opened(self) -> str:
        """Say where the context mark is, from the problem mark's point of view."""
        mark, here = self.context_mark, self.mark
        if mark is None or (mark.line, mark.column) == (here.line, here.column):
            return "here"
        if mark.line == here.line:
            return f"at column {mark.column + 1}"
        if mark.line == here.line - 1:
            return f"on the line above (column {mark.column + 1})"
        return f"on line {mark.line + 1}, column {mark.column + 1}"


def explain(error: yaml.MarkedYAMLError, text: str) -> str:
    """Return what to fix, in plain words, then the parser's words: one line of text."""
    facts = Facts(error, text)
    plain = FALLBACK
    if facts.mark is not None:
        plain = next(filter(None, (rule(facts) for rule in RULES)), FALLBACK)
    return f"{plain} (the parser said: {parser_words(facts)})"


def parser_words(facts: Facts) -> str:
    """Return the parser's problem and context, with the context's position."""
    words = facts.problem or "not valid YAML"
    mark = facts.context_mark
    if mark is not None:
        words += f", {facts.context} at line {mark.line + 1}, column {mark.column + 1}"
    return words


def line_bounds(text: str, index: int) -> tuple[int, int]:
    """Return where the line holding ``index`` starts and ends, breaking as the parser does."""
    start = max(text.rfind(c, 0, index) for c in BREAKS) + 1
    ends = [i for i in (text.find(c, index) for c in BREAKS) if i != -1]
    return start, min(ends, default=len(text))


def indentation(line: str) -> int:
    """Return where a line's content starts, past its spaces and any '- ' list markers."""
    i = 0
    while i < len(line) and (line[i] == " " or (line[i] == "-" and line[i + 1 : i + 2] in " ")):
        i += 1
    return i


def line_above(facts: Facts) -> str | None:
    """Return the nearest line above the mark's that holds more than a comment, or None.

    Only the ``LOOK_BACK`` characters before the mark's line are read, so the cost is
    bounded whatever the file; valid YAML text has no line break ``splitlines`` adds.
    """
    begin = max(0, facts.start - LOOK_BACK)
    lines = facts.text[begin : facts.start].splitlines()
    for number in range(len(lines) - 1, -1, -1):
        line = lines[number]
        if line.strip() and not line.lstrip().startswith("#"):
            whole = number > 0 or begin == 0 or facts.text[begin - 1] in BREAKS
            return line if whole else None
    return None


# --- the rules, in the order they are tried -----------------------------------------------


def tab(facts: Facts) -> str | None:
    """A tab where YAML wants spaces."""
    if "tab character" in facts.problem or (
        "cannot start any token" in facts.problem and facts.char == "\t"
    ):
        return "a tab character: indent with spaces"
    return None


def cannot_start(facts: Facts) -> str | None:
    """A character YAML reserves, at the start of a value."""
    if "cannot start any token" in facts.problem or "node content" in facts.problem:
        if facts.char:
            return f"a value cannot start with '{facts.char}': put the text in quotes"
    return None


def second_colon(facts: Facts) -> str | None:
    """A ': ' inside a value, or a key that carries on from the line above."""
    if not facts.problem.startswith("mapping values are not allowed"):
        return None
    if _KEY_COLON.search(facts.before()):
        return "a second ':' on this line: put the text in quotes"
    above = line_above(facts)
    if above is None:
        return "a ':' where YAML does not expect one: put the text in quotes"
    if indentation(facts.line) > indentation(above):
        return (
            "this line is indented more than the one above, so it reads as part of that "
            "line's value: line it up with its siblings"
        )
    if not _KEY_COLON.search(above):
        if ":" in above:
            return "the line above has no space after its ':': write 'key: value'"
        return "the line above has no ':' after its key: write 'key: value'"
    return "a ':' where YAML does not expect one: put the text in quotes"


def list_after_key(facts: Facts) -> str | None:
    """A '- ' list item on the same line as its key."""
    if "sequence entries are not allowed" in facts.problem:
        return (
            "a list item ('- ') cannot start on the line of its key: start the list on the "
            "next line, indented, or put the text in quotes"
        )
    if "mapping keys are not allowed" in facts.problem:
        return "a value cannot start with '?': put the text in quotes"
    return None


def misplaced_line(facts: Facts) -> str | None:
    """A line that fits neither the mapping nor the list it stands in."""
    problem = facts.problem
    in_list = problem == "did not find expected '-' indicator" or (
        problem.startswith("expected <block end>") and "collection" in facts.context
    )
    if not (
        in_list or problem == "did not find expected key" or problem.startswith("expected <block")
    ):
        return None
    found = after_closing(facts)
    if found:
        return found
    char, mark = facts.char, facts.context_mark
    if char == ":":
        return "a ':' with no key before it: add the key, or remove the ':'"
    if char == "-" and not in_list:
        return "a list item ('- ') where a key is expected: indent the list under its key"
    if in_list and mark is not None:
        if char == "-" and facts.mark.column != mark.column:
            return (
                f"this '-' is not lined up with the first '-' of its list (line "
                f"{mark.line + 1}, column {mark.column + 1}): line them up"
            )
        if facts.mark.column == mark.column:
            return (
                "this line lines up with the '-' of the list above but is not a list item: "
                "start it with '- ', or line it up with the keys it belongs with"
            )
    return misaligned(facts)


def after_closing(facts: Facts) -> str | None:
    """Text after a closing quote or bracket on the same line."""
    last = facts.before().rstrip()[-1:]
    if facts.char and facts.char in "]}":
        return f"a closing '{facts.char}' with no opening one: remove it, or quote the value"
    if last in ("'", '"') and facts.before().count(last) % 2:
        return (
            f"a quote ({last}) opened on an earlier line closes only here: add the closing "
            "quote where that value ends"
        )
    if last in ("'", '"'):
        return (
            "text after a closing quote: put the whole value in quotes; to include a quote, "
            "use the other kind around the text (or write '' inside single quotes)"
        )
    if last in ("]", "}"):
        return (
            f"text after a closing '{last}': a value that starts with '[' or '{{' is read as "
            "a list or mapping, so put the whole text in quotes"
        )
    return None


def misaligned(facts: Facts) -> str:
    """Compare the mark's line with the line above it."""
    above = line_above(facts)
    here = indentation(facts.line)
    if above is not None and here < indentation(above):
        return "this line is indented less than the one above: line it up with its siblings"
    if above is not None and here > indentation(above):
        return "this line is indented more than the one above: line it up with its siblings"
    return "this line is not lined up with its siblings: check its indentation"


def unclosed_quote(facts: Facts) -> str | None:
    """A quoted value with no closing quote."""
    if "quoted scalar" not in facts.context:
        return None
    if "escape" in facts.problem or "hexdecimal" in facts.problem:
        return (
            "a backslash inside double quotes starts an escape like \\n: write \\\\ for a "
            "backslash, or use single quotes around the text"
        )
    quote = facts.context_char()
    quote = quote if quote in ("'", '"') else "quote"
    return f"a quote ({quote}) opened {facts.opened()} is never closed: add the closing {quote}"


def unclosed_bracket(facts: Facts) -> str | None:
    """A '[' or '{' that is not closed, or holds what it cannot."""
    if "flow sequence" not in facts.context and "flow mapping" not in facts.context:
        return None
    opener = "[" if "sequence" in facts.context else "{"
    closer = _CLOSERS[opener]
    other = "}" if closer == "]" else "]"
    mark = facts.context_mark
    if facts.char == other:
        return f"a '{opener}' opened {facts.opened()} is closed with '{other}': use '{closer}'"
    if mark is None or facts.mark.line != mark.line or not facts.char:
        return (
            f"a bracket '{opener}' opened {facts.opened()} is never closed: add '{closer}' "
            "after its last item"
        )
    if facts.char == ":":
        return (
            f"a ':' inside '{opener} {closer}' where YAML does not expect one: put the item "
            "in quotes"
        )
    return (
        f"the items inside '{opener} {closer}' need a ',' between them: add it, or put an "
        "item holding ',', ':' or brackets in quotes"
    )


def missing_colon(facts: Facts) -> str | None:
    """A key with no ':' after it."""
    if "simple key" not in facts.context:
        return None
    mark, here = facts.context_mark, facts.mark
    if mark is None or mark.line == here.line:
        where = "this line"
    elif mark.line == here.line - 1:
        where = "the line above"
    else:
        where = f"line {mark.line + 1}"
    start, end = line_bounds(facts.text, mark.index) if mark else (facts.start, facts.end)
    words = facts.text[start:end].lstrip(" -").split()
    if words and ":" in words[0]:  # 'key:value', not 'key https://...'
        return f"{where} has no space after its ':': write 'key: value'"
    return f"{where} has no ':' after its key: write 'key: value'"


def block_text(facts: Facts) -> str | None:
    """Text on the same line as a '|' or '>' that starts a block of text."""
    if "block scalar" not in facts.context:
        return None
    sign = facts.context_char() or "|"
    return (
        f"'{sign}' starts a block of text, so nothing may follow it on its line: start the "
        "text on the next line, indented, or put the whole value in quotes"
    )


def anchor_alias_tag(facts: Facts) -> str | None:
    """A value starting with '&', '*' or '!', which YAML reads as an anchor, alias or tag."""
    for kind, sign in (("an anchor", "&"), ("an alias", "*"), ("a tag", "!")):
        if kind in facts.context:
            return f"a value that starts with '{sign}' is read as {kind}: put the text in quotes"
    return None


def documents(facts: Facts) -> str | None:
    """More after the end of the document, a directive, or nesting past the parser's limit."""
    if "document start" in facts.problem:
        if re.search(r"^\.\.\.(?:[ \t]|$)", facts.text[: facts.start], re.MULTILINE):
            return "more text after the '...' that ends the document: remove the '...' line"
        return (
            "more text after what YAML read as the whole file: a scenario is one mapping of "
            "'key: value' lines, from its first line to its last"
        )
    if "directive" in facts.problem or "directive" in facts.context:
        return "a line that starts with '%' is read as a YAML directive: remove it"
    if "depth" in facts.problem:
        return "lists and mappings are nested too deep here: a scenario needs no more than 8"
    return None


def end_of_file(facts: Facts) -> str | None:
    """The file ends where more was expected."""
    if "end of stream" in facts.problem:
        return "the file ends in the middle of a value: check the last lines"
    return None


RULES = (
    tab,
    unclosed_quote,
    unclosed_bracket,
    missing_colon,
    block_text,
    anchor_alias_tag,
    documents,
    list_after_key,
    second_colon,
    misplaced_line,
    cannot_start,
    end_of_file,
)
