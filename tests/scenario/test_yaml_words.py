"""YAML syntax errors in plain words: each translation, met with a real broken file.

Every case is the valid base scenario with one mistake a person writing it could make. It
is checked with libyaml's parser (the one in use) and with PyYAML's own (used where libyaml
is missing), whose words differ but whose translations must not.
"""

import pytest
import yaml
from yaml.error import Mark

from simulator.scenario import load_bytes, yamlsafe
from simulator.scenario.yamlwords import FALLBACK, LOOK_BACK, explain

from .helpers import BASE, check, replace

PARSERS = {"pyyaml": yaml.SafeLoader}
if hasattr(yaml, "CSafeLoader"):
    PARSERS["libyaml"] = yaml.CSafeLoader


@pytest.fixture(params=sorted(PARSERS))
def parser(request, monkeypatch):
    """Check with each of PyYAML's parsers in turn."""
    monkeypatch.setattr(yamlsafe, "_Parser", PARSERS[request.param])
    return request.param


def only_problem(text: str):
    """Return the one problem of ``text``, which must be a yaml-syntax error on one line."""
    problems = check(text).problems
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.code == "yaml-syntax"
    assert "\n" not in str(problem) and "\r" not in str(problem)
    return problem


# (name, text in the base scenario, the mistake, line, column, the plain words)
CASES = [
    (
        "second-colon",
        "title: Sample",
        "title: Sample: a test",
        3,
        14,
        "a second ':' on this line: put the text in quotes",
    ),
    (
        "indented-less",
        "    text: Again.\n    choices:",
        "    text: Again.\n   choices:",
        32,
        4,
        "this line is indented less than the one above: line it up with its siblings",
    ),
    (
        "indented-more",
        "    text: Again.\n    choices:",
        "    text: Again.\n      choices:",
        32,
        14,
        "this line is indented more than the one above, so it reads as part of that line's "
        "value: line it up with its siblings",
    ),
    (
        "key-of-an-item-indented-less",
        "      - id: good\n        text: Good.",
        "      - id: good\n       text: Good.",
        20,
        8,
        "this line is indented less than the one above: line it up with its siblings",
    ),
    (
        "dash-not-lined-up",
        "      - id: check",
        "       - id: check",
        24,
        8,
        "this '-' is not lined up with the first '-' of its list (line 19, column 7): line "
        "them up",
    ),
    (
        "missing-dash",
        "      - id: go\n        text: Go.\n",
        "      - id: go\n      text: Go.\n",
        34,
        7,
        "this line lines up with the '-' of the list above but is not a list item: start it "
        "with '- ', or line it up with the keys it belongs with",
    ),
    (
        "list-item-among-keys",
        "dimensions:\n  safety: Safety\n",
        "dimensions:\n  safety: Safety\n- extra\n",
        8,
        1,
        "a list item ('- ') where a key is expected: indent the list under its key",
    ),
    (
        "unclosed-double-quote",
        "title: Sample",
        'title: "Sample',
        41,
        1,
        'a quote (") opened on line 3, column 8 is never closed: add the closing "',
    ),
    (
        "unclosed-single-quote",
        "title: Sample",
        "title: 'Sample",
        41,
        1,
        "a quote (') opened on line 3, column 8 is never closed: add the closing '",
    ),
    (
        "quote-closed-on-a-later-line",
        "title: Sample",
        "title: 'Sample\nsubtitle: 'x'",
        4,
        12,
        "a quote (') opened on an earlier line closes only here: add the closing quote where "
        "that value ends",
    ),
    (
        "text-after-a-closing-quote",
        "summary: A short scenario for tests.",
        'summary: "A short" scenario for tests.',
        4,
        20,
        "text after a closing quote: put the whole value in quotes; to include a quote, use "
        "the other kind around the text (or write '' inside single quotes)",
    ),
    (
        "tab-indenting-a-key",
        "    text: Hello.",
        "\ttext: Hello.",
        17,
        1,
        "a tab character: indent with spaces",
    ),
    (
        "tab-indenting-a-list-item",
        "      - id: go\n",
        "\t- id: go\n",
        33,
        1,
        "a tab character: indent with spaces",
    ),
    (
        "unclosed-bracket",
        "flags: [checked]",
        "flags: [checked",
        14,
        6,
        "a bracket '[' opened on the line above (column 8) is never closed: add ']' after its "
        "last item",
    ),
    (
        "unclosed-brace",
        "        score: {safety: 2}",
        "        score: {safety: 2",
        23,
        13,
        "a bracket '{' opened on the line above (column 16) is never closed: add '}' after "
        "its last item",
    ),
    (
        "wrong-closing-bracket",
        "flags: [checked]",
        "flags: [checked}",
        13,
        16,
        "a '[' opened at column 8 is closed with '}': use ']'",
    ),
    (
        "stray-closing-bracket",
        "flags: [checked]",
        "flags: [checked]]",
        13,
        17,
        "a closing ']' with no opening one: remove it, or quote the value",
    ),
    (
        "colon-inside-brackets",
        "flags: [checked]",
        "flags: [checked: yes: no]",
        13,
        21,
        "a ':' inside '[ ]' where YAML does not expect one: put the item in quotes",
    ),
    (
        "key-without-colon",
        "id: sample",
        "id sample",
        3,
        1,
        "the line above has no ':' after its key: write 'key: value'",
    ),
    (
        "colon-without-space",
        "id: sample",
        "id:sample",
        3,
        1,
        "the line above has no space after its ':': write 'key: value'",
    ),
    (
        "markdown-link-first",
        "    text: Hello.",
        "    text: [Guidance](https://example.org) says hello.",
        17,
        21,
        "text after a closing ']': a value that starts with '[' or '{' is read as a list or "
        "mapping, so put the whole text in quotes",
    ),
    (
        "placeholder-first",
        "    text: Hello.",
        "    text: {victim} says hello.",
        17,
        20,
        "text after a closing '}': a value that starts with '[' or '{' is read as a list or "
        "mapping, so put the whole text in quotes",
    ),
    (
        "markdown-emphasis-first",
        "    text: Hello.",
        "    text: *Hello* there.",
        17,
        17,
        "a value that starts with '*' is read as an alias: put the text in quotes",
    ),
    (
        "ampersand-first",
        "    text: Hello.",
        "    text: & then hello.",
        17,
        12,
        "a value that starts with '&' is read as an anchor: put the text in quotes",
    ),
    (
        "text-after-a-bar",
        "    text: Hello.",
        "    text: | Hello.",
        17,
        13,
        "'|' starts a block of text, so nothing may follow it on its line: start the text on "
        "the next line, indented, or put the whole value in quotes",
    ),
    (
        "markdown-quote-first",
        "    text: Hello.",
        "    text: > Hello.",
        17,
        13,
        "'>' starts a block of text, so nothing may follow it on its line: start the text on "
        "the next line, indented, or put the whole value in quotes",
    ),
    (
        "list-item-after-its-key",
        "    text: Hello.",
        "    text: - Hello.",
        17,
        11,
        "a list item ('- ') cannot start on the line of its key: start the list on the next "
        "line, indented, or put the text in quotes",
    ),
    (
        "at-sign-first",
        "    text: Hello.",
        "    text: @Hello",
        17,
        11,
        "a value cannot start with '@': put the text in quotes",
    ),
    (
        "backtick-first",
        "    text: Hello.",
        "    text: `Hello`",
        17,
        11,
        "a value cannot start with '`': put the text in quotes",
    ),
    (
        "comma-first",
        "    text: Hello.",
        "    text: , hello",
        17,
        11,
        "a value cannot start with ',': put the text in quotes",
    ),
    (
        "question-mark-first",
        "    text: Hello.",
        "    text: ? hello",
        17,
        11,
        "a value cannot start with '?': put the text in quotes",
    ),
    (
        "backslash-in-double-quotes",
        "    text: Hello.",
        '    text: "C:\\Users\\me"',
        17,
        16,
        "a backslash inside double quotes starts an escape like \\n: write \\\\ for a "
        "backslash, or use single quotes around the text",
    ),
    (
        "percent-first-on-a-line",
        "format: 1",
        "%format: 1",
        1,
        8,
        "a line that starts with '%' is read as a YAML directive: remove it",
    ),
    (
        "text-after-the-end-of-the-document",
        "format: 1",
        "format: 1\n...\nmore: 2",
        3,
        1,
        "more text after the '...' that ends the document: remove the '...' line",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "line", "column", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_mistake_is_said_in_plain_words(parser, old, new, line, column, words):
    """The message says what to fix, then what the parser said, at the parser's mark."""
    problem = only_problem(replace(old, new))
    assert (problem.line, problem.column) == (line, column)
    assert problem.message.startswith(words + " (the parser said: ")
    assert problem.message.endswith(")")


def test_the_parsers_own_words_are_kept(parser):
    """The detail is the parser's problem and context, with where the context starts."""
    message = only_problem(replace("flags: [checked]", "flags: [checked")).message
    detail = message.split(" (the parser said: ", 1)[1]
    assert ", while parsing a flow sequence at line 13, column 8)" in detail
    expected = {"libyaml": "did not find expected ',' or ']'", "pyyaml": "expected ',' or ']'"}
    assert detail.startswith(expected[parser])


def test_a_second_document():
    """A second '---' document says to keep one scenario per file, at the '---'."""
    problem = only_problem(BASE + "---\nformat: 1\n")
    assert (problem.line, problem.column) == (41, 1)
    assert problem.message == "a second document ('---'): keep one scenario per file"


@pytest.mark.parametrize(
    ("data", "line", "column", "message"),
    [
        (
            "format: 1\nid: café\n".encode("latin-1"),
            2,
            8,
            "the file is not UTF-8 text (perhaps Windows-1252 or Latin-1): save it with UTF-8 "
            "encoding (the decoder said: byte 0xE9: invalid continuation byte)",
        ),
        (
            BASE.encode("utf-16"),
            1,
            1,
            "the file is UTF-16 text, not UTF-8: save it with UTF-8 encoding",
        ),
        (
            BASE.encode("utf-16-le"),
            1,
            1,
            "the file is UTF-16 text, not UTF-8: save it with UTF-8 encoding",
        ),
        (
            BASE.encode("utf-16-be"),
            1,
            1,
            "the file is UTF-16 text, not UTF-8: save it with UTF-8 encoding",
        ),
        (
            b"format: 1\nid: a\x07b\n",
            2,
            6,
            "the control character U+0007 is not allowed in YAML: delete it (the parser said: "
            "unacceptable character #x0007: ",
        ),
    ],
    ids=["windows-1252", "utf-16-with-bom", "utf-16-le", "utf-16-be", "control-character"],
)
def test_text_that_is_not_utf8(parser, data, line, column, message):
    """Bytes that are not UTF-8 text are named, with what to do about them."""
    problems = load_bytes(data, "t.yaml").problems
    assert [(p.code, p.line, p.column) for p in problems] == [("yaml-syntax", line, column)]
    assert problems[0].message.startswith(message)


def test_a_mistake_no_rule_knows_keeps_the_parsers_words():
    """A problem no translation recognises gets the general hint and the parser's words."""
    mark = Mark("t.yaml", 4, 0, 2, "abcd\n", 4)
    error = yaml.MarkedYAMLError(problem="found something new", problem_mark=mark)
    assert explain(error, "abcd\n") == f"{FALLBACK} (the parser said: found something new)"


def test_an_error_with_no_mark_is_still_explained():
    """A parser error that carries no mark at all still reads as the fallback and its words."""
    error = yaml.MarkedYAMLError(problem="lost")
    assert explain(error, "") == f"{FALLBACK} (the parser said: lost)"


def test_looking_above_the_mark_is_bounded():
    """Only ``LOOK_BACK`` characters above the mark's line are read for the line above it."""
    near = only_problem("a: b\n" + "#\n" * 10 + "  c: d\n")
    assert near.message.startswith("this line is indented more than the one above")
    far = only_problem("a: b\n" + "#\n" * LOOK_BACK + "  c: d\n")
    assert far.message.startswith("this line is not lined up with its siblings")
