"""The scenario's outline, map (DOT and SVG) and version diffs: pure, with no app."""

import re
import shutil
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from simulator import maps
from simulator.scenario import load_bytes, load_file
from simulator.scenario.model import Choice, Node, Scenario, frozen_mapping

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

SMALL = """\
format: 1
id: small
title: A small map
summary: A scenario for the map tests.
version: 1
dimensions:
  safety: Safety
flags: [checked]
start: first
nodes:
  first:
    text: She opens the door.
    choices:
      - id: good
        text: Speak to her alone.
        next: done
        score: {safety: 2}
      - id: check
        text: Check her status.
        next: second
        set: [checked]
        sharing: inappropriate
        feedback: Doubts are no reason to check.
      - id: promise
        text: Promise nothing will be shared.
        next: done
        critical: true
        feedback: A promise you cannot keep.
  second:
    text: She goes quiet.
    choices:
      - id: go
        text: Leave.
        next: done
      - id: back
        text: Ask again.
        next: hidden
        when: {none: [checked]}
  hidden:
    text: Only reached without the check, which never happens.
    next: done
  orphan:
    text: Nothing leads here.
    next: done
  done:
    end:
      outcome: Done
      debrief: Over.
"""

DEAD_END = """\
format: 1
id: dead
title: A dead end
summary: A scenario with a dead end.
version: 1
flags: [asked]
start: first
nodes:
  first:
    text: Start.
    choices:
      - id: go-on
        text: Go on.
        next: stuck
      - id: ask
        text: Ask first.
        next: stuck
        set: [asked]
  stuck:
    text: Only offered after asking.
    choices:
      - id: finish
        text: Finish.
        next: done
        when: {all: [asked]}
  done:
    end:
      outcome: Done
      debrief: Over.
"""

HOSTILE = 'He said "run" \\ <script>alert(1)</script> &lt; & \\N\nnext line'


def report(text):
    """Return the validator's report for the YAML ``text``."""
    return load_bytes(textwrap.dedent(text).encode(), "t.yaml")


def small():
    """Return the small scenario and its problems."""
    found = report(SMALL)
    assert found.scenario is not None, found.problems
    return found.scenario, found.problems


def hostile_scenario():
    """Return a scenario whose texts and ids carry quotes, backslashes and markup."""
    end = Node("done", "ending", text=HOSTILE, end=None)
    start = Node(
        'a"b\\c',
        "decision",
        text=HOSTILE,
        choices=(Choice('x"y', HOSTILE, "done", sharing="inappropriate", critical=True),),
    )
    return Scenario(
        id="hostile",
        title=HOSTILE,
        summary="s",
        version=1,
        start=start.id,
        nodes=frozen_mapping([(start.id, start), ("done", end)]),
    )


def by_id(nodes):
    """Return outline nodes by id."""
    return {node.id: node for node in nodes}


def node_line(dot, node_id):
    """Return the DOT line that declares a node."""
    return next(line for line in dot.splitlines() if line.startswith(f'  "{node_id}" ['))


def edge_line(dot, choice_id):
    """Return the DOT line of the arrow of a choice."""
    return next(line for line in dot.splitlines() if f'label="{choice_id}' in line)


@pytest.fixture
def dot_installed():
    """Require Graphviz, as `make test` installs it (make graph-deps)."""
    assert shutil.which("dot"), "Graphviz is needed for these tests: run `make graph-deps`"


def fake_dot(tmp_path, monkeypatch, script):
    """Put a fake `dot` running the shell ``script`` first on PATH."""
    program = tmp_path / "dot"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))


# --- outline ---------------------------------------------------------------------------


def test_outline_is_breadth_first_then_unreachable():
    """Nodes come breadth first from the start, choices in file order, then the rest."""
    scenario, problems = small()
    assert [n.id for n in maps.outline(scenario, problems)] == [
        "first",
        "done",
        "second",
        "hidden",
        "orphan",
    ]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_outline_lists_every_bundled_node_once_from_the_start(path):
    """Each bundled scenario's outline has every node once, the start first and marked."""
    found = load_file(path)
    nodes = maps.outline(found.scenario, found.problems)
    assert sorted(n.id for n in nodes) == sorted(found.scenario.nodes)
    assert nodes[0].id == found.scenario.start and nodes[0].start
    assert not any(n.start for n in nodes[1:])
    assert not any(n.unreachable or n.dead_end or n.no_ending for n in nodes)


def test_outline_says_how_a_node_is_unreachable():
    """A node nothing leads to is unreachable by the graph; one the flags bar, by the flags."""
    scenario, problems = small()
    nodes = by_id(maps.outline(scenario, problems))
    assert nodes["orphan"].unreachable_by == "graph"
    assert nodes["hidden"].unreachable_by == "flags"
    assert nodes["second"].unreachable_by is None and not nodes["second"].unreachable


def test_outline_without_problems_marks_only_what_the_graph_shows():
    """Without the report's problems, only graph reachability marks a node unreachable."""
    scenario, _ = small()
    nodes = by_id(maps.outline(scenario))
    assert nodes["orphan"].unreachable and not nodes["hidden"].unreachable


def test_outline_choice_details():
    """A choice carries its target, points, tags, conditions and feedback."""
    scenario, problems = small()
    nodes = by_id(maps.outline(scenario, problems))
    good, check, promise = nodes["first"].choices
    assert (good.next, good.scores) == ("done", (maps.Points("safety", "Safety", 2),))
    assert check.sharing == "inappropriate" and check.sets == ("checked",)
    assert check.feedback == "Doubts are no reason to check."
    assert promise.critical and promise.marks == ("critical",)
    back = nodes["second"].choices[1]
    assert back.conditional and back.when_none == ("checked",)
    assert back.marks == ("conditional",)


def test_outline_node_details():
    """A node has its kind, excerpt, the choices leading to it and its ending's outcome."""
    scenario, problems = small()
    nodes = by_id(maps.outline(scenario, problems))
    assert nodes["done"].outcome == "Done" and nodes["done"].kind == "ending"
    assert nodes["done"].incoming[:2] == (("first", "good"), ("first", "promise"))
    assert nodes["hidden"].kind == "step" and nodes["hidden"].excerpt.startswith("Only")


def test_outline_excerpt_is_plain_and_cut():
    """A long Markdown text becomes plain text of at most about 200 characters."""
    long_text = "'**Bold** " + "word " * 100 + "'"
    found = report(SMALL.replace("She opens the door.", long_text))
    excerpt = maps.outline(found.scenario)[0].excerpt
    assert excerpt.startswith("Bold word") and len(excerpt) <= 201 and excerpt.endswith("…")


def test_dead_end_is_marked_from_the_report():
    """A file whose only error is a dead end can still be outlined, the node marked."""
    found = report(DEAD_END)
    assert found.scenario is None and [p.code for p in found.problems] == ["dead-end"]
    scenario = maps.drawable_scenario(DEAD_END.encode(), found.problems)
    nodes = by_id(maps.outline(scenario, found.problems))
    assert nodes["stuck"].dead_end and not nodes["first"].dead_end


def test_a_file_with_form_errors_is_not_drawable():
    """A file with a schema error is not built for a map."""
    broken = SMALL.replace("version: 1", "version: one")
    assert maps.drawable_scenario(broken.encode(), report(broken).problems) is None


# --- DOT -------------------------------------------------------------------------------


def test_dot_escapes_a_hostile_label():
    """Quotes, backslashes, markup, entities and newlines in texts and ids are escaped."""
    dot = maps.dot_source(hostile_scenario())
    assert '\\"run\\"' in dot and "\\\\ " in dot and "\\\\N" in dot
    assert "<script>" not in dot and "&lt;script&gt;" in dot and "&amp;lt;" in dot
    assert '"a\\"b\\\\c" [' in dot
    assert "\nnext line" not in dot


def test_dot_marks_inappropriate_shares_dashed_and_labelled():
    """An inappropriate share is a dashed arrow labelled "inappropriate share"."""
    dot = maps.dot_source(*small())
    line = edge_line(dot, "check")
    assert 'style="dashed"' in line and "inappropriate share" in line


def test_dot_marks_critical_choices_bold_and_labelled():
    """A critical choice is a bold arrow labelled "critical"."""
    dot = maps.dot_source(*small())
    line = edge_line(dot, "promise")
    assert 'style="bold"' in line and "critical" in line
    assert "style=" not in edge_line(dot, "good")


def test_dot_marks_unreachable_nodes_dotted_and_labelled():
    """An unreachable node has a dotted outline and "(unreachable)" in its label."""
    dot = maps.dot_source(*small())
    for node_id in ("orphan", "hidden"):
        line = node_line(dot, node_id)
        assert "dotted" in line and "(unreachable)" in line
    assert "dotted" not in node_line(dot, "second")


def test_dot_marks_dead_ends_by_shape_and_label():
    """A dead end is an octagon with "(dead end)" in its label."""
    found = report(DEAD_END)
    scenario = maps.drawable_scenario(DEAD_END.encode(), found.problems)
    line = node_line(maps.dot_source(scenario, found.problems), "stuck")
    assert 'shape="octagon"' in line and "(dead end)" in line


def test_dot_kinds_have_different_shapes_and_links():
    """Decisions, steps and endings differ in shape; each node links to its anchor."""
    dot = maps.dot_source(*small())
    kinds = ("first", "hidden", "done")  # a decision, a step and an ending
    outlines = {
        re.search(r'shape="(\w+)".*peripheries="(\d)"', node_line(dot, n)).groups() for n in kinds
    }
    assert len(outlines) == 3
    assert 'URL="#node-first"' in node_line(dot, "first") and "tooltip=" in node_line(dot, "first")
    linked = maps.dot_source(small()[0], href=lambda node_id: f"#step-{node_id}")
    assert 'URL="#step-done"' in node_line(linked, "done")


def test_dot_truncates_long_text():
    """A node's label shows only the start of a long text."""
    found = report(SMALL.replace("She opens the door.", "word " * 300))
    assert len(node_line(maps.dot_source(found.scenario), "first")) < 800


# --- SVG -------------------------------------------------------------------------------


def test_svg_has_one_same_page_link_per_node(dot_installed):
    """The map links each node, and nothing else, to its anchor in the outline."""
    scenario, problems = small()
    svg = maps.render_svg(maps.dot_source(scenario, problems))
    links = [a.get(XLINK_HREF) for a in ET.fromstring(str(svg)).iter(f"{SVG}a")]
    assert sorted(links) == sorted(f"#node-{n}" for n in scenario.nodes)


def test_svg_is_ready_to_inline(dot_installed):
    """No prolog, doctype, comment, script, style or id but the title's; it names itself."""
    svg = str(maps.render_svg(maps.dot_source(*small()), title_id="map-t"))
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    for absent in ("<?xml", "<!DOCTYPE", "<!--", "<script", "style=", "height=", "target="):
        assert absent not in svg
    assert re.findall(r'\bid="([^"]*)"', svg) == ["map-t"]
    root = ET.fromstring(svg)
    assert root.get("aria-labelledby") == "map-t" and root.get("role")
    assert root.find(f"{SVG}title").text == "Map of the scenario: A small map"
    assert root.get("viewBox") and root.get("width") == "100%"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_svg_of_every_bundled_scenario(dot_installed, path):
    """Every bundled scenario draws, with one link per node and each anchor in the outline."""
    found = load_file(path)
    svg = maps.render_svg(maps.dot_source(found.scenario, found.problems))
    links = [a.get(XLINK_HREF) for a in ET.fromstring(str(svg)).iter(f"{SVG}a")]
    assert len(links) == len(found.scenario.nodes)
    assert set(links) == {f"#node-{n}" for n in found.scenario.nodes}


def test_svg_shows_hostile_text_as_text(dot_installed):
    """Markup, entities, quotes and backslashes come out as literal text, links encoded."""
    svg = str(maps.render_svg(maps.dot_source(hostile_scenario())))
    assert "<script" not in svg
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "Map of the scenario: " + " ".join(HOSTILE.split())
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert 'Start. Decision: a"b\\c' in texts and "& \\N next line" in texts
    tooltips = [t.text for t in root.iter(f"{SVG}title")]
    assert any("<script>alert(1)</script> &lt; &" in tip for tip in tooltips)
    links = {a.get(XLINK_HREF) for a in root.iter(f"{SVG}a")}
    assert links == {"#node-a%22b%5Cc", "#node-done"}


def test_svg_keeps_only_safe_markup(tmp_path, monkeypatch):
    """Scripts, styles, handlers, images and links elsewhere are dropped from dot's output."""
    evil = tmp_path / "evil.svg"
    evil.write_text(
        '<?xml version="1.0"?><!-- c --><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" height="10pt" '
        'viewBox="0 0 10 10" onload="alert(1)"><g id="graph0" class="graph"><title>T</title>'
        '<script>alert(2)</script><style>*{}</style><image xlink:href="file:///etc/passwd"/>'
        '<a xlink:href="javascript:alert(3)" xlink:title="tip"><text style="x" onclick="y" '
        'x="1">hi</text></a><a xlink:href="#node-a" target="_blank"><path d="M0,0"/></a>'
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'
        "</g></svg>"
    )
    fake_dot(tmp_path, monkeypatch, f"/bin/cat >/dev/null; /bin/cat {evil}")
    svg = str(maps.render_svg("digraph {}"))
    for absent in ("script", "style", "onload", "onclick", "image", "javascript", "_blank"):
        assert absent not in svg
    assert "foreignObject" not in svg and "<div" not in svg
    assert 'xlink:href="#node-a"' in svg and "<title>tip</title>" in svg and ">hi</text>" in svg


def test_svg_is_none_without_graphviz(tmp_path, monkeypatch):
    """Without `dot` on the PATH there is no map."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert maps.render_svg("digraph { a }") is None


def test_svg_is_none_on_timeout(tmp_path, monkeypatch):
    """A `dot` that takes too long is stopped, and there is no map."""
    fake_dot(tmp_path, monkeypatch, "exec /bin/sleep 30")
    began = time.monotonic()
    assert maps.render_svg("digraph { a }", timeout=0.5) is None
    assert time.monotonic() - began < 5


def test_svg_is_none_when_dot_fails(tmp_path, monkeypatch):
    """A `dot` that exits with an error gives no map."""
    fake_dot(tmp_path, monkeypatch, "/bin/cat >/dev/null; echo '<svg/>'; exit 3")
    assert maps.render_svg("digraph { a }") is None


def test_svg_is_none_for_invalid_dot(dot_installed):
    """Source that Graphviz cannot read gives no map."""
    assert maps.render_svg("digraph { a -> }") is None


def test_svg_is_none_past_the_output_bound(tmp_path, monkeypatch):
    """Output past the bound is cut off, the process stopped, and there is no map."""
    monkeypatch.setattr(maps, "MAX_SVG_BYTES", 100_000)
    fake_dot(tmp_path, monkeypatch, "exec /usr/bin/yes")
    began = time.monotonic()
    assert maps.render_svg("digraph { a }") is None
    assert time.monotonic() - began < 5


def test_svg_is_none_past_the_input_bound(monkeypatch):
    """Source past the bound is not drawn."""
    monkeypatch.setattr(maps, "MAX_DOT_BYTES", 1000)
    assert maps.render_svg("digraph { " + "a; " * 400 + "}") is None


# --- graph changes and line diffs ------------------------------------------------------


def changed(old, new):
    """Return the graph changes between two scenario texts."""
    return maps.graph_changes(report(old).scenario, report(new).scenario)


def test_graph_changes_none_for_the_same_scenario():
    """A scenario compared with itself has no changes."""
    changes = changed(SMALL, SMALL)
    assert not changes and changes.rescored == ()


def test_graph_changes_nodes_added_and_removed():
    """A new node is added, a node gone is removed."""
    new = SMALL.replace("  orphan:", "  stray:")
    changes = changed(SMALL, new)
    assert (changes.nodes_added, changes.nodes_removed) == (("stray",), ("orphan",))


def test_graph_changes_rescored_with_before_and_after():
    """A choice whose points, sharing or critical mark changed is rescored, before and after."""
    new = SMALL.replace("score: {safety: 2}", "score: {safety: 1}").replace(
        "        critical: true\n", ""
    )
    changes = changed(SMALL, new)
    good, promise = changes.rescored
    assert (good.node_id, good.choice_id) == ("first", "good")
    assert (good.before.words, good.after.words) == ("safety +2", "safety +1")
    assert (promise.before.critical, promise.after.critical) == (True, False)
    assert promise.before.words == "no points; critical"


def test_graph_changes_choices_targets_kinds_and_texts():
    """Choices added and removed, targets, conditions, kinds and texts changed are found."""
    new = (
        SMALL.replace("id: go\n", "id: leave\n")
        .replace("        next: hidden\n        when: {none: [checked]}", "        next: orphan")
        .replace("She goes quiet.", "She says nothing.")
        .replace(
            "  orphan:\n    text: Nothing leads here.\n    next: done",
            "  orphan:\n    text: Nothing leads here.\n    end: {outcome: Gone, debrief: Gone.}",
        )
    )
    changes = changed(SMALL, new)
    assert changes.choices_added == (("second", "leave"),)
    assert changes.choices_removed == (("second", "go"), ("orphan", "continue"))
    assert [(c.choice_id, c.before, c.after) for c in changes.retargeted] == [
        ("back", "hidden", "orphan")
    ]
    assert changes.conditions_changed == (("second", "back"),)
    assert [(k.node_id, k.before, k.after) for k in changes.kinds_changed] == [
        ("orphan", "step", "ending")
    ]
    assert "second" in changes.text_changed and "first" not in changes.text_changed


def lines(count, changed_at=()):
    """Return ``count`` numbered lines, those in ``changed_at`` edited."""
    return "\n".join(f"line {i}{' edited' * (i in changed_at)}" for i in range(1, count + 1))


def test_line_diff_rows_of_a_change():
    """An edited line is a removed row then an added row, with their line numbers."""
    rows = maps.line_diff("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(r.kind, r.old_line, r.new_line, r.text) for r in rows] == [
        ("same", 1, 1, "a"),
        ("removed", 2, None, "b"),
        ("added", None, 2, "B"),
        ("same", 3, 3, "c"),
        ("added", None, 4, "d"),
    ]
    assert [r.sign for r in rows] == ["", "-", "+", "", "+"]


def test_line_diff_folds_long_unchanged_runs():
    """Unchanged runs keep three lines of context each side; the rest is one row."""
    rows = maps.line_diff(lines(20), lines(20, changed_at={10}))
    summary = [(r.kind, r.old_line, r.new_line, r.count) for r in rows]
    assert summary == [
        ("skipped", 1, 1, 6),
        ("same", 7, 7, 1),
        ("same", 8, 8, 1),
        ("same", 9, 9, 1),
        ("removed", 10, None, 1),
        ("added", None, 10, 1),
        ("same", 11, 11, 1),
        ("same", 12, 12, 1),
        ("same", 13, 13, 1),
        ("skipped", 14, 14, 7),
    ]
    assert rows[0].text == "6 unchanged lines"


def test_line_diff_shows_one_hidden_line_rather_than_folding_it():
    """A run only one line longer than the context is shown whole."""
    rows = maps.line_diff(lines(5), lines(5, changed_at={5}))
    assert [r.kind for r in rows] == ["same"] * 4 + ["removed", "added"]


def test_line_diff_of_equal_texts_is_one_folded_row():
    """Two equal texts are one row of unchanged lines."""
    rows = maps.line_diff(lines(10), lines(10))
    assert [(r.kind, r.text) for r in rows] == [("skipped", "10 unchanged lines")]


# --- the partials ----------------------------------------------------------------------


@pytest.fixture
def jinja():
    """Return a bare Jinja environment over templates/, autoescaping, strict on names."""
    return Environment(
        loader=FileSystemLoader(ROOT / "templates"), autoescape=True, undefined=StrictUndefined
    )


def test_outline_partial_has_an_anchor_and_words_for_each_mark(jinja):
    """Each node has its anchor; tags are words; texts are escaped."""
    scenario, problems = small()
    html = jinja.get_template("author/_outline.html").render(
        outline=maps.outline(scenario, problems)
    )
    for node_id in scenario.nodes:
        assert f'id="node-{node_id}"' in html
    for words in ("Start", "Ending: Done", "Unreachable", "Inappropriate share", "Critical"):
        assert f">{words}</strong>" in html
    assert "Safety +2" in html and 'href="#node-second"' in html
    assert "style=" not in html and "<script" not in html


def test_outline_partial_escapes_hostile_text(jinja):
    """A hostile text shows as text in the outline."""
    html = jinja.get_template("author/_outline.html").render(
        outline=maps.outline(hostile_scenario())
    )
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_outline_partial_marks_dead_ends(jinja):
    """A dead end is tagged in words."""
    found = report(DEAD_END)
    scenario = maps.drawable_scenario(DEAD_END.encode(), found.problems)
    html = jinja.get_template("author/_outline.html").render(
        outline=maps.outline(scenario, found.problems)
    )
    assert ">Dead end</strong>" in html


def test_map_partial_with_a_map(jinja, dot_installed):
    """The map is a figure with a caption, a skip link and every link in the outline."""
    scenario, problems = small()
    svg = maps.render_svg(maps.dot_source(scenario, problems))
    html = jinja.get_template("author/_map.html").render(map_svg=svg)
    outline = jinja.get_template("author/_outline.html").render(
        outline=maps.outline(scenario, problems)
    )
    assert "<figure" in html and "<figcaption" in html and "<svg " in html
    assert 'href="#scenario-outline">Skip the map</a>' in html
    assert 'id="scenario-outline"' in outline
    for anchor in re.findall(r'xlink:href="#([^"]+)"', html):
        assert f'id="{anchor}"' in outline
    assert "everything the map shows" in html and "style=" not in html


def test_map_partial_without_a_map(jinja):
    """Without a map the page says so and points to the outline."""
    html = jinja.get_template("author/_map.html").render(map_svg=None)
    assert "not available" in html and "<svg" not in html and "outline" in html


def test_diff_partial(jinja):
    """Graph changes are summary lists; added and removed lines say so in words and signs."""
    new = SMALL.replace("score: {safety: 2}", "score: {safety: 1}")
    html = jinja.get_template("author/_diff.html").render(
        changes=changed(SMALL, new), rows=maps.line_diff(SMALL, new)
    )
    assert "govuk-summary-list" in html and "was safety +2; now safety +1" in html
    assert '<span aria-hidden="true">+</span> <span class="govuk-visually-hidden">added' in html
    assert '<span aria-hidden="true">-</span> <span class="govuk-visually-hidden">removed' in html
    assert "unchanged lines" in html and "style=" not in html


def test_diff_partial_without_changes(jinja):
    """Two equal versions say nothing changed."""
    html = jinja.get_template("author/_diff.html").render(
        changes=changed(SMALL, SMALL), rows=maps.line_diff(SMALL, SMALL)
    )
    assert "Nothing in the graph changed" in html
