"""Every error and warning code of the format, with the line and column it points at."""

import pytest

from simulator.scenario import load_bytes

from .helpers import BASE, check, codes, positions, replace


def test_base_scenario_is_valid():
    """The base scenario used by these tests has no problem."""
    assert check(BASE).problems == []


# --- yaml-syntax, too-large, unsafe-yaml: end the check of a file -----------------------


def test_yaml_syntax_points_at_the_parser_mark():
    """Invalid YAML is a yaml-syntax error at the parser's mark, and nothing else."""
    assert positions("format: 1\nid: [x\n") == [("yaml-syntax", 3, 1)]
    message = check("format: 1\nid: [x\n").problems[0].message
    assert message.startswith("a bracket '[' opened on the line above (column 5) is never closed")
    assert "(the parser said: " in message


def test_yaml_syntax_for_text_that_is_not_utf8():
    """A file that is not UTF-8 is a yaml-syntax error at the bad byte."""
    report = check_bytes(b"format: 1\nid: caf\xe9\n")
    assert [(p.code, p.line, p.column) for p in report.problems] == [("yaml-syntax", 2, 8)]
    assert "save it with UTF-8 encoding" in report.problems[0].message


def test_yaml_syntax_for_utf16_text():
    """A file saved as UTF-16, with or without its byte-order mark, is a yaml-syntax error."""
    for encoding in ("utf-16", "utf-16-le"):
        report = check_bytes(BASE.encode(encoding))
        assert [(p.code, p.line, p.column) for p in report.problems] == [("yaml-syntax", 1, 1)]
        assert "UTF-16" in report.problems[0].message


def test_byte_order_mark_is_allowed():
    """A UTF-8 byte-order mark is allowed."""
    assert check_bytes(b"\xef\xbb\xbf" + BASE.encode()).problems == []


def test_yaml_syntax_for_two_documents():
    """More than one document is a yaml-syntax error at the second."""
    assert codes(BASE + "---\nformat: 1\n") == [("yaml-syntax", 41)]
    message = check(BASE + "---\nformat: 1\n").problems[0].message
    assert message == "a second document ('---'): keep one scenario per file"


def test_too_large_file_is_refused_at_1_1(tmp_path):
    """A file over 1 MiB is too-large at 1:1, before it is parsed."""
    big = tmp_path / "big.yaml"
    big.write_bytes(BASE.encode() + b"#" * 1_048_576)
    from simulator.scenario import load_file

    assert [(p.code, p.line, p.column) for p in load_file(big).problems] == [("too-large", 1, 1)]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: &x 1\nb: *x\n", 1, 4),
        ("a: 1\nb: *x\n", 2, 4),
        ("a: !!str 1\n", 1, 4),
        ("a: !custom 1\n", 1, 4),
        ("!!python/object:os.system {}\n", 1, 1),
        ("a:\n  - ! x\n", 2, 5),
    ],
)
def test_unsafe_yaml_is_refused_at_the_first_one(text, line, column):
    """Anchors, aliases and explicit tags are unsafe-yaml at the first one."""
    assert positions(text) == [("unsafe-yaml", line, column)]


def test_billion_laughs_is_refused_before_expansion():
    """A billion-laughs file is refused at its first anchor."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    assert positions("\n".join(lines)) == [("unsafe-yaml", 1, 5)]


# --- schema -------------------------------------------------------------------------------


def test_empty_file_is_schema_at_1_1():
    """An empty file is a schema error at 1:1."""
    assert positions("") == [("schema", 1, 1)]


def test_top_level_not_a_mapping_is_schema_at_1_1():
    """A top level that is a list is a schema error at 1:1."""
    assert positions("- a\n- b\n") == [("schema", 1, 1)]


def test_missing_top_level_key_is_at_1_1():
    """A missing required top-level key is reported at 1:1."""
    report = check(replace("title: Sample\n", ""))
    assert [(p.code, p.line, p.column) for p in report.problems] == [("schema", 1, 1)]
    assert "'title'" in report.problems[0].message


def test_unknown_key_points_at_the_key_with_a_suggestion():
    """An unknown key is a schema error at the key, suggesting the allowed key."""
    report = check(
        replace("        next: done\n        score", "        nxt: done\n        score")
    )
    problems = [(p.code, p.line, p.column) for p in report.problems]
    assert ("schema", 21, 9) in problems
    assert any(p.message.endswith("did you mean 'next'?") for p in report.problems)


def test_missing_key_in_a_list_item_points_at_its_first_key():
    """A choice lacking 'text' is reported at the choice's first key."""
    assert positions(replace("        text: Good.\n", "")) == [("schema", 19, 9)]


def test_missing_key_in_a_node_points_at_the_node_key():
    """A decision lacking 'text' is reported at the node's key."""
    assert positions(replace("    text: Hello.\n", "")) == [("schema", 16, 3)]


def test_merge_key_is_an_unknown_key():
    """YAML's merge key '<<' is an unknown key."""
    report = check(replace("title: Sample\n", "title: Sample\n<<: {x: 1}\n"))
    assert [(p.code, p.line) for p in report.problems] == [("schema", 4)]


@pytest.mark.parametrize(
    ("old", "new", "line", "hint"),
    [
        ("title: Sample", "title: No", 3, "quote"),
        ("title: Sample", "title: 2020", 3, "quote"),
        ("title: Sample", "title: 2020-12-17", 3, "quote"),
        ("title: Sample", "title: ''", 3, "empty"),
        ("title: Sample", "title:", 3, "null"),
        ("version: 1", "version: '1'", 5, "whole number"),
        ("version: 1", "version: 1.0", 5, "whole number"),
        ("version: 1", "version: true", 5, "whole number"),
        ("version: 1", "version: 0", 5, "positive"),
        ("format: 1", "format: 2", 1, "must be 1"),
        ("format: 1", "format: true", 1, "whole number"),
        ("id: sample", "id: Sample", 2, "lower-case"),
        ("id: sample", "id: sam_ple", 2, "no underscores"),
        ("  safety: 50", "  safety: 101", 9, "0 to 100"),
        ("title: Sample", "title: Sample\nobjectives: []", 4, "must not be empty"),
        ("        refs: [r1]", "        refs: [r1, r1]", 23, "twice"),
        (
            "    text: Hello.",
            "    text: Hello.\n    rationale: requried",
            18,
            "did you mean 'required'?",
        ),
    ],
)
def test_values_of_the_wrong_form_are_schema_errors_at_the_value(old, new, line, hint):
    """A value of the wrong type or form is a schema error at the value, saying how to fix it."""
    report = check(replace(old, new))
    assert [(p.code, p.line) for p in report.problems] == [("schema", line)]
    assert hint in report.problems[0].message


def test_repeated_list_item_points_at_the_repeat():
    """A repeated list item is reported at the repeated item."""
    assert positions(replace("        refs: [r1]", "        refs: [r1, r1]")) == [
        ("schema", 23, 20)
    ]


def test_rationale_on_a_step_is_not_allowed():
    """A step may not ask for a rationale."""
    text = replace("  second:\n    text: Again.\n", "  second:\n    text: Again.\n")
    text = text.replace(
        "    choices:\n      - id: go\n        text: Go.\n        next: done\n"
        "        when: {all: [checked]}\n",
        "    next: done\n    rationale: required\n",
    )
    report = check(text)
    assert ("schema", 33) in [(p.code, p.line) for p in report.problems]
    assert any("not allowed on a step" in p.message for p in report.problems)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Meet {victim}}", "lone"),
        ("Meet {Victim}", "lone"),
        ("Meet { victim }", "lone"),
        ("Meet victim}", "lone"),
    ],
)
def test_stray_braces_are_schema_errors(text, message):
    """A brace that is neither doubled nor a placeholder is a schema error."""
    report = check(replace("text: Hello.", f"text: '{text}'"))
    assert [(p.code, p.line) for p in report.problems] == [("schema", 17)]
    assert message in report.problems[0].message


def test_doubled_braces_are_literal_and_allowed():
    """'{{' and '}}' are literal braces, with or without a cast."""
    assert check(replace("text: Hello.", "text: 'Use {{braces}} freely'")).problems == []


@pytest.mark.parametrize(
    "markdown",
    [
        "Hello <b>there</b>",
        "<div>\nblock\n</div>",
        "Hi <!-- note -->",
        "[x](javascript:alert(1))",
        "[x](/relative)",
        "![a picture](data:image/png;base64,AAAA)",
    ],
)
def test_raw_html_and_bad_link_targets_in_markdown_are_schema_errors(markdown):
    """Raw HTML and links that are not web or mail addresses are refused in Markdown."""
    text = replace("    text: Hello.", "    text: |\n      " + markdown.replace("\n", "\n      "))
    assert [p.code for p in check(text).problems] == ["schema"]


def test_autolinks_and_web_links_are_allowed():
    """Autolinks and https links are fine in Markdown."""
    text = replace("text: Hello.", "text: 'See <https://example.org> and [a](https://a.org).'")
    assert check(text).problems == []


def test_set_and_clear_of_the_same_flag_is_a_schema_error():
    """A choice may not set and clear the same flag."""
    text = replace(
        "        set: [checked]\n", "        set: [checked]\n        clear: [checked]\n"
    )
    assert positions(text) == [("schema", 28, 17)]


def test_start_at_an_ending_is_a_schema_error():
    """The start node may not be an ending."""
    assert ("schema", 14) in codes(replace("start: first", "start: done"))


def test_cast_rows_must_share_keys():
    """Every cast row has the same keys as the first."""
    text = replace("flags:", "cast:\n  - victim: A\n    language: X\n  - victim: B\nflags:")
    assert codes(text) == [("schema", 16)]


def test_missing_image_file_is_a_schema_error(tmp_path):
    """An image must name an existing file in the scenario's folder."""
    text = replace(
        "    text: Hello.\n", "    text: Hello.\n    image: {src: door.png, alt: A door}\n"
    )
    assert codes(text, base_dir=tmp_path) == [("schema", 18)]
    (tmp_path / "door.png").write_bytes(b"\x89PNG")
    assert codes(text, base_dir=tmp_path) == []


@pytest.mark.parametrize("src", ["/etc/door.png", "../door.png", "https://x.org/a.png", "a.svg"])
def test_image_paths_must_be_relative_pictures(src, tmp_path):
    """An image path is relative, stays in the folder and names a picture file."""
    text = replace(
        "    text: Hello.\n", f"    text: Hello.\n    image: {{src: '{src}', alt: A}}\n"
    )
    assert [p.code for p in check(text, base_dir=tmp_path).problems] == ["schema"]


# --- duplicate-key, duplicate-id ----------------------------------------------------------


def test_duplicate_key_points_at_the_later_key():
    """A key repeated in a mapping is a duplicate-key error at the later key."""
    assert positions(replace("title: Sample\n", "title: Sample\ntitle: Again\n")) == [
        ("duplicate-key", 4, 1)
    ]


def test_duplicate_choice_id_points_at_the_later_id():
    """Two choices in a node with one id is a duplicate-id error at the later id value."""
    report = check(replace("      - id: check", "      - id: good"))
    assert [(p.code, p.line, p.column) for p in report.problems] == [("duplicate-id", 24, 13)]


def test_duplicate_scenario_id_in_a_library(tmp_path):
    """Two files with one scenario id: every file after the first in path order is reported."""
    from simulator.scenario import validate_paths

    for name in ("a.yaml", "b.yaml", "sub/c.yml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(BASE)
    report = validate_paths([tmp_path])
    found = [(p.file, p.code, p.line, p.column) for p in report.problems]
    assert found == [
        (str(tmp_path / "b.yaml"), "duplicate-id", 2, 5),
        (str(tmp_path / "sub/c.yml"), "duplicate-id", 2, 5),
    ]
    assert "a.yaml" in report.problems[0].message
    assert report.exit_code() == 1


# --- unknown-* ----------------------------------------------------------------------------


def test_unknown_node_in_next_suggests_the_nearest():
    """A next naming no node is unknown-node at the name, with a suggestion."""
    report = check(replace("        next: second", "        next: secnod"))
    assert [(p.code, p.line, p.column) for p in report.problems] == [("unknown-node", 26, 15)]
    assert report.problems[0].message.endswith("did you mean 'second'?")


def test_unknown_node_in_start():
    """A start naming no node is unknown-node."""
    assert codes(replace("start: first", "start: nowhere")) == [("unknown-node", 14)]


def test_unknown_flag():
    """A flag used but not declared is unknown-flag at the name."""
    found = positions(replace("when: {all: [checked]}", "when: {all: [chekced]}"))
    assert ("unknown-flag", 36, 22) in found


def test_unknown_dimension_in_score_and_pass_marks():
    """A score or pass mark naming an undeclared dimension is unknown-dimension at the key."""
    found = positions(replace("score: {safety: 2}", "score: {safty: 2}"))
    assert ("unknown-dimension", 22, 17) in found
    assert codes(replace("  safety: 50", "  saftey: 50")) == [("unknown-dimension", 9)]


def test_unknown_reference():
    """A refs item naming an undeclared reference is unknown-reference."""
    found = positions(replace("refs: [r1]", "refs: [r2]"))
    assert found == [("unused-reference", 11, 3), ("unknown-reference", 23, 16)]


def test_unknown_placeholder_points_at_its_brace():
    """A placeholder with no cast key is unknown-placeholder at its '{'."""
    text = replace("flags:", "cast:\n  - victim: A\n  - victim: B\nflags:")
    text = replace("    text: Hello.", "    text: |\n      Hello.\n      Meet {victm} now.", text)
    report = check(text)
    assert [(p.code, p.line, p.column) for p in report.problems] == [
        ("unknown-placeholder", 22, 12)
    ]
    assert report.problems[0].message.endswith("did you mean 'victim'?")


def test_placeholder_without_a_cast_is_unknown():
    """A placeholder in a scenario without a cast is unknown-placeholder."""
    assert positions(replace("text: Good.", "text: Call {victim}.")) == [
        ("unknown-placeholder", 20, 20)
    ]


def test_placeholder_in_escaped_double_quotes_points_at_the_value():
    """For a double-quoted value with escapes, the position is the value's start."""
    assert positions(replace("text: Good.", 'text: "Call\\t{victim}."')) == [
        ("unknown-placeholder", 20, 15)
    ]


# --- bad-node -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "    text: Again.\n    next: done\n    end: {outcome: A, debrief: B}\n",
        "    text: Again.\n",
    ],
)
def test_bad_node_when_not_exactly_one_kind(body):
    """A node with two of choices/next/end, or none, is bad-node at its key."""
    text = BASE.replace(
        "  second:\n    text: Again.\n    choices:\n      - id: go\n        text: Go.\n"
        "        next: done\n        when: {all: [checked]}\n",
        "  second:\n" + body,
    )
    assert ("bad-node", 30) in codes(text)


# --- exploration: dead-end, no-ending, score-cycle, unpassable, too-large -------------------


def test_dead_end_once_per_node():
    """A reachable state with no offered choice that is not an ending is dead-end at the node."""
    text = replace("when: {all: [checked]}", "when: {none: [checked]}")
    assert ("dead-end", 30) in codes(text)


def test_exploration_waits_for_form_errors():
    """States are not explored while the file has an error of form."""
    text = replace("when: {all: [checked]}", "when: {none: [checked]}")
    text = replace("title: Sample", "title: 12", text)
    assert codes(text) == [("schema", 3)]


LOOP = BASE.replace(
    "  done:\n",
    "  loop:\n    text: Round.\n    choices:\n      - id: again\n        text: Again.\n"
    "        next: loop\n  done:\n",
)


def test_no_ending_for_a_cycle_that_cannot_end():
    """States on a cycle from which no ending can be reached are no-ending, once per node."""
    text = LOOP.replace("        next: done\n        when", "        next: loop\n        when")
    assert codes(text) == [("no-ending", 37)]


def looping(keys: str = "") -> str:
    """Return LOOP with a choice back to its own state carrying ``keys``, and a way out."""
    text = LOOP.replace("        next: done\n        when", "        next: loop\n        when")
    return text.replace(
        "        next: loop\n  done:",
        "        next: loop\n" + keys + "      - id: out\n        text: Out.\n"
        "        next: done\n  done:",
    )


def test_score_cycle_points_at_the_score_key():
    """A scoring choice on a cycle of states is score-cycle at its score key."""
    text = looping("        score: {safety: 1}\n")
    report = check(text)
    assert [(p.code, p.line, p.column) for p in report.problems] == [("score-cycle", 43, 9)]
    assert report.stats.paths is None and report.stats.bounds is None


def test_score_cycle_for_an_inappropriate_share_points_at_sharing():
    """An inappropriate share on a cycle is score-cycle at its sharing key."""
    text = looping("        sharing: inappropriate\n        feedback: No.\n")
    assert positions(text) == [("score-cycle", 43, 9)]


def test_cycles_without_scores_are_allowed_and_paths_unbounded():
    """A cycle with no score is allowed; its path count and longest path are unbounded."""
    text = looping()
    report = check(text)
    assert report.problems == []
    assert report.stats.paths is None and report.stats.longest is None
    assert report.stats.shortest == 1


def test_loop_of_nodes_whose_flags_change_is_not_a_cycle():
    """A node revisited with different flags is not a cycle of states."""
    text = BASE.replace("flags: [checked]", "flags: [checked, twice]")
    text = text.replace(
        "        next: done\n        when: {all: [checked]}\n",
        "        next: second\n        when: {all: [checked], none: [twice]}\n"
        "        set: [twice]\n        score: {safety: 1}\n"
        "      - id: leave\n        text: Leave.\n        next: done\n"
        "        when: {all: [twice]}\n",
    )
    report = check(text)
    assert report.problems == []
    assert report.stats.paths == 2


def test_unpassable_at_the_start_key():
    """When no complete path passes, the file is unpassable at its start key."""
    text = replace(
        "        score: {safety: 2}\n",
        "        score: {safety: 2}\n        sharing: inappropriate\n        feedback: No.\n",
    )
    assert positions(text) == [("unpassable", 14, 1), ("rewarded-error", 22, 25)]


def test_too_large_at_the_start_key_beyond_the_state_limit():
    """Past the state limit, the file gets too-large at its start key and no state checks."""
    report = check(BASE, limit=3)
    assert [(p.code, p.line, p.column) for p in report.problems] == [("too-large", 14, 1)]
    assert report.scenario is None


# --- warnings -----------------------------------------------------------------------------


def test_unreachable_node():
    """A node no reachable state is at is unreachable-node at its key."""
    text = replace("  done:\n", "  lost:\n    text: Lost.\n    next: done\n  done:\n")
    assert positions(text) == [("unreachable-node", 37, 3)]


def test_never_offered_points_at_when():
    """A conditional choice offered in no reachable state is never-offered at its when key."""
    text = replace(
        "        when: {all: [checked]}\n",
        "        when: {all: [checked]}\n      - id: never\n        text: Never.\n"
        "        next: done\n        when: {none: [checked]}\n",
    )
    assert positions(text) == [("never-offered", 40, 9)]


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("        set: [checked]\n", "", "no choice sets it"),
        ("        when: {all: [checked]}\n", "", "no choice tests it"),
    ],
)
def test_unused_flag_says_which_use_is_missing(old, new, why):
    """A flag never set, or never tested, is unused-flag at its item, saying which."""
    report = check(replace(old, new))
    unused = [p for p in report.problems if p.code == "unused-flag"]
    assert [(p.line, p.column) for p in unused] == [(13, 9)]
    assert why in unused[0].message


def test_unused_reference():
    """A reference nobody cites is unused-reference at its key."""
    assert positions(replace("        refs: [r1]\n", "")) == [("unused-reference", 11, 3)]


def test_unused_dimension():
    """A dimension that no choice scores with a non-zero value is unused-dimension."""
    text = replace("score: {safety: 2}", "score: {safety: 0}")
    assert ("unused-dimension", 7) in codes(text)


def test_no_feedback_on_an_inappropriate_share():
    """An inappropriate choice without feedback is no-feedback at its sharing key."""
    assert positions(replace("        feedback: No.\n", "")) == [("no-feedback", 28, 9)]


# --- ordering and exit status -------------------------------------------------------------


def test_all_problems_in_one_run_sorted_by_line():
    """Every problem of form and naming is reported at once, sorted by line."""
    text = replace("title: Sample", "title: 12")
    text = replace("next: second", "next: secnod", text)
    text = replace("refs: [r1]", "refs: [r9]", text)
    assert codes(text) == [
        ("schema", 3),
        ("unused-reference", 11),
        ("unknown-reference", 23),
        ("unknown-node", 26),
    ]


def check_bytes(data: bytes):
    """Return the report for raw bytes."""
    from simulator.scenario import load_bytes

    return load_bytes(data, "t.yaml")


def test_placeholder_in_single_quotes_with_escapes_points_at_the_value():
    """For a single-quoted value with a '' escape, the position is the value's start."""
    assert positions(replace("text: Good.", "text: 'It''s {victim}.'")) == [
        ("unknown-placeholder", 20, 15)
    ]


def test_library_file_names_join_the_given_folder(tmp_path, monkeypatch):
    """A file found in a folder is named as the given folder joined with its path inside."""
    from simulator.scenario import validate_paths

    (tmp_path / "lib" / "sub").mkdir(parents=True)
    (tmp_path / "lib" / "sub" / "a.yaml").write_text(replace("title: Sample", "title: 1"))
    monkeypatch.chdir(tmp_path)
    report = validate_paths(["./lib/"])
    assert [p.file for p in report.problems] == ["./lib/sub/a.yaml"]


def test_python_field_names_are_not_keys():
    """Only the format's spelling of a key is accepted ('set', never 'set_')."""
    report = check(replace("        set: [checked]", "        set_: [checked]"))
    assert ("schema", 27) in [(p.code, p.line) for p in report.problems]


TRADE_OFF = """\
format: 1
id: trade-off
title: Trade-off
summary: Three ways, each scored in two dimensions.
version: 1
dimensions: {a: A, b: B}
pass_marks: {a: 50, b: 50}
start: pick
nodes:
  pick:
    text: Which way?
    choices:
      - {id: x, text: X., next: done, score: {a: 10}}
      - {id: y, text: Y., next: done, score: {b: 10}}
      - {id: z, text: Z., next: done, score: {a: MIDDLE, b: MIDDLE}}
  done:
    end: {outcome: Done, debrief: Over.}
"""


def test_balanced_path_passes_where_best_weighted_paths_do_not():
    """A path that reaches both marks is found even when every weighted best path misses one."""
    report = check(TRADE_OFF.replace("MIDDLE", "5"))
    assert report.problems == [] and report.stats.passable


def test_unpassable_when_each_mark_is_reachable_but_not_both():
    """Reaching each mark on some path is not enough: one path must reach both."""
    assert positions(TRADE_OFF.replace("MIDDLE", "4")) == [("unpassable", 8, 1)]


def test_an_impossible_date_is_reported_not_raised():
    """A value YAML reads as a date that does not exist is a yaml-syntax error, not a crash."""
    report = check(replace("title: Sample", "title: 2020-13-45"))
    assert [(p.code, p.line, p.column) for p in report.problems] == [("yaml-syntax", 3, 8)]
    assert "put it in quotes" in report.problems[0].message


def test_deep_nesting_is_refused_before_recursion():
    """Lists nested far deeper than any scenario needs are refused with a clear error."""
    report = check("format: 1\nnodes: " + "[" * 500 + "]" * 500 + "\n")
    assert [(p.code, p.line) for p in report.problems] == [("yaml-syntax", 2)]


def test_a_repeated_cast_row_is_a_schema_error():
    """The cast is a list, and a list never repeats an item."""
    text = replace("flags:", "cast:\n  - victim: A\n  - victim: B\n  - victim: A\nflags:")
    assert positions(text) == [("schema", 16, 5)]


# --- revision 2: critical, order, rewarded-error, images, text length, misspelt node keys ---


def test_critical_on_a_cycle_is_score_cycle_at_its_critical_key():
    """A critical choice on a cycle of states is score-cycle at its critical key."""
    text = looping("        critical: true\n        feedback: No.\n")
    assert positions(text) == [("score-cycle", 43, 9)]


def test_critical_false_on_a_cycle_is_allowed():
    """critical: false is the default, and is no reason for score-cycle."""
    text = looping("        critical: false\n")
    assert positions(text) == []


def test_no_feedback_on_a_critical_choice_points_at_critical():
    """A critical choice without feedback is no-feedback at its critical key."""
    text = replace(
        "        refs: [r1]\n",
        "        refs: [r1]\n      - id: promise\n"
        "        text: Promise.\n        next: done\n        critical: true\n",
    )
    assert positions(text) == [("no-feedback", 27, 9)]


def test_rewarded_error_once_per_positive_value():
    """An inappropriate or critical choice earns a warning at each positive score value."""
    text = replace(
        "        sharing: inappropriate\n",
        "        sharing: inappropriate\n        score: {safety: 1}\n",
    )
    text = replace(
        "        refs: [r1]\n",
        "        refs: [r1]\n      - id: promise\n        text: Promise.\n        next: done\n"
        "        critical: true\n        feedback: No.\n        score: {safety: 2}\n",
        text,
    )
    found = check(text).problems
    assert [(p.code, p.line, p.column, p.severity) for p in found] == [
        ("rewarded-error", 29, 25, "warning"),
        ("rewarded-error", 35, 25, "warning"),
    ]
    assert "critical choice earns 2 points of 'safety'" in found[0].message


def test_a_non_positive_score_on_an_error_is_not_rewarded():
    """Zero or negative points on an error earn no warning."""
    text = replace(
        "        sharing: inappropriate\n",
        "        sharing: inappropriate\n        score: {safety: -1}\n",
    )
    assert positions(text) == []


def test_a_critical_choice_makes_an_otherwise_passing_path_fail():
    """When the only path reaching the mark is critical, the file is unpassable."""
    text = replace(
        "        score: {safety: 2}\n",
        "        score: {safety: 2}\n        critical: true\n        feedback: No.\n",
    )
    report = check(text)
    assert [(p.code, p.line) for p in report.problems] == [
        ("unpassable", 14),
        ("rewarded-error", 22),
    ]
    assert report.stats.passable is False


@pytest.mark.parametrize(
    ("old", "new", "hint"),
    [
        ("    text: Hello.\n", "    text: Hello.\n    order: shufled\n", "did you mean"),
        (
            "        next: done\n        score",
            "        next: done\n        critical: 'yes'\n        score",
            "true/false",
        ),
    ],
)
def test_order_and_critical_take_only_their_values(old, new, hint):
    """order is shuffled or fixed; critical is a YAML boolean."""
    found = check(replace(old, new)).problems
    assert [p.code for p in found] == ["schema"]
    assert hint in found[0].message or "boolean" in found[0].message


def test_markdown_images_are_refused_from_revision_2():
    """A Markdown image is a schema error under revision 2 and allowed under revision 1."""
    text = replace(
        "    text: Hello.\n", "    text: 'Hello ![a door](https://example.org/a.png)'\n"
    )
    assert positions(text) == [("schema", 17, 11)]
    assert "Markdown images are not allowed" in check(text).problems[0].message
    old = load_bytes(text.encode(), "t.yaml", revision=1)
    assert old.problems == [] and old.scenario.revision == 1


def test_reference_style_markdown_images_are_refused_too():
    """An image written by reference is refused like an inline one."""
    text = replace(
        "        feedback: No.\n",
        "        feedback: |\n          See ![plan][p].\n\n          [p]: https://example.org/p.png\n",
    )
    assert [p.code for p in check(text).problems] == ["schema"]


def test_text_over_20000_characters_is_refused_from_revision_2():
    """A text value longer than 20,000 characters is a schema error at the value."""
    long = "x" * 20_001
    text = replace("    text: Hello.\n", f"    text: {long}\n")
    found = check(text).problems
    assert [(p.code, p.line, p.column) for p in found] == [("schema", 17, 11)]
    assert "20,001 characters" in found[0].message and "20,000" in found[0].message
    assert check(replace("    text: Hello.\n", f"    text: {'x' * 20_000}\n")).problems == []
    assert load_bytes(text.encode(), "t.yaml", revision=1).problems == []


@pytest.mark.parametrize(
    ("key", "suggestion"), [("choises", "choices"), ("nxt", "next"), ("ending", None)]
)
def test_a_misspelt_node_key_is_an_unknown_key_beside_bad_node(key, suggestion):
    """A misspelt kind key is reported as unknown, with the key meant, and no knock-on warning."""
    text = replace(
        "  second:\n    text: Again.\n    choices:\n", f"  second:\n    text: Again.\n    {key}:\n"
    )
    found = check(text).problems
    assert [(p.code, p.line) for p in found] == [("bad-node", 30), ("schema", 32)]
    assert found[1].message.startswith(f"unknown key '{key}'")
    if suggestion:  # 'ending' is 3 edits from 'end', beyond the format's max(2, len / 3)
        assert found[1].message.endswith(f"did you mean '{suggestion}'?")
