"""A scenario seen whole: its text outline, its map (Graphviz) and what changed between versions.

Pure: no Flask, no database. The outline is the primary, accessible view: the map draws
nothing the outline does not say, and every mark on the map is written in its labels too
(line style and shape as well, never colour alone). Both are built for a valid scenario
together with its report's problems (the `unreachable-node` warnings): the form of a file
must be sound to be drawn at all; a file whose only errors come from exploring it (a dead end,
a cycle with no ending) can still be drawn through `drawable_scenario`.
"""

import difflib
import os
import re
import selectors
import shutil
import subprocess
import time
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup, escape

from . import story
from .scenario.build import build
from .scenario.model import Choice, Node, Scenario
from .scenario.schema import REVISION
from .scenario.yamlsafe import YamlRefused, parse, plain

EXCERPT = 200  # characters of a node's text, a feedback or a debrief in the outline
LABEL_TEXT = 84  # characters of a node's text on the map
LABEL_WIDTH = 28  # characters per line of a map label
TOOLTIP = 160  # characters of text in a map tooltip
MAX_DOT_BYTES = 2_000_000  # bigger than any valid scenario's map (about 300 bytes a node)
MAX_SVG_BYTES = 8_000_000
KINDS = {"decision": "Decision", "step": "Step", "ending": "Ending"}
# Exploring a file gives these errors; its form is sound, so it can still be built and drawn.
EXPLORATION_ERRORS = frozenset({"dead-end", "no-ending", "score-cycle", "unpassable", "too-large"})
NODE_NAMED = re.compile(r"^node '([^']+)'")  # how exploration problems name their node
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FRAGMENT = re.compile(r"^#[A-Za-z][A-Za-z0-9_.%-]*$")  # a same-page anchor, percent-encoded


@dataclass(frozen=True, slots=True)
class Points:
    """Points a choice adds in one dimension (negative: taken away)."""

    dimension: str
    label: str
    points: int


@dataclass(frozen=True, slots=True)
class OutlineChoice:
    """One choice as the outline lists it; texts are plain, placeholders shown as [name]."""

    id: str
    text: str
    next: str
    next_exists: bool
    scores: tuple[Points, ...]
    sharing: str | None  # "appropriate", "inappropriate" or None
    critical: bool
    when_all: tuple[str, ...]
    when_any: tuple[str, ...]
    when_none: tuple[str, ...]
    sets: tuple[str, ...]
    clears: tuple[str, ...]
    feedback: str  # an excerpt, "" when there is none

    @property
    def conditional(self) -> bool:
        """Return whether the choice is offered only when its flags allow."""
        return bool(self.when_all or self.when_any or self.when_none)

    @property
    def marks(self) -> tuple[str, ...]:
        """Return the choice's marks in words, as the map labels its edge."""
        words = {"inappropriate": "inappropriate share", "appropriate": "appropriate share"}
        marks = [words[self.sharing]] if self.sharing in words else []
        return tuple(marks + ["critical"] * self.critical + ["conditional"] * self.conditional)


@dataclass(frozen=True, slots=True)
class OutlineNode:
    """One node as the outline lists it, with what is wrong with it in words.

    ``unreachable_by`` says how it was found: "graph" when no chain of choices leads to it
    from the start (plain reachability, flags ignored), "flags" when choices lead to it but
    the validator's exploration of flags found it never reached (its `unreachable-node`
    warning, in the problems given); None when it is reachable.
    """

    id: str
    kind: str  # "decision", "step" or "ending"
    speaker: str | None
    excerpt: str
    image_alt: str | None
    choices: tuple[OutlineChoice, ...]
    incoming: tuple[tuple[str, str], ...]  # (node id, choice id) of the choices leading here
    start: bool
    unreachable_by: str | None
    dead_end: bool
    no_ending: bool
    outcome: str | None
    debrief: str

    @property
    def unreachable(self) -> bool:
        """Return whether no attempt can ever reach this node."""
        return self.unreachable_by is not None

    @property
    def kind_word(self) -> str:
        """Return the node's kind as a capitalised word."""
        return KINDS.get(self.kind, self.kind.capitalize())


def reading_order(scenario: Scenario) -> list[str]:
    """Return the node ids breadth first from the start (choices in file order), then the rest."""
    nodes = scenario.nodes
    order, seen = [], {scenario.start}
    queue = deque([scenario.start] if scenario.start in nodes else [])
    while queue:
        node_id = queue.popleft()
        order.append(node_id)
        for choice in nodes[node_id].choices:
            if choice.next in nodes and choice.next not in seen:
                seen.add(choice.next)
                queue.append(choice.next)
    return order + [node_id for node_id in nodes if node_id not in seen]


def named_nodes(problems: Iterable, code: str) -> set[str]:
    """Return the ids of the nodes that problems of ``code`` name."""
    found = (NODE_NAMED.match(p.message) for p in problems if p.code == code)
    return {match.group(1) for match in found if match}


def outline(scenario: Scenario, problems: Iterable = ()) -> list[OutlineNode]:
    """Return every node of ``scenario`` in reading order, with its choices and marks.

    ``problems`` (a report's) add what exploring the flags found: nodes never reached
    although choices lead to them, dead ends and cycles with no ending. Without them only
    what the plain graph shows is marked.
    """
    problems = list(problems)
    order = reading_order(scenario)
    reached = graph_reachable(scenario)
    flagged = named_nodes(problems, "unreachable-node")
    dead = named_nodes(problems, "dead-end")
    endless = named_nodes(problems, "no-ending")
    incoming = {node_id: [] for node_id in order}
    for node_id in order:
        for choice in scenario.nodes[node_id].choices:
            if choice.next in incoming:
                incoming[choice.next].append((node_id, choice.id))
    row = story.neutral_row(scenario)
    return [
        _outline_node(
            scenario,
            scenario.nodes[node_id],
            row,
            incoming=tuple(incoming[node_id]),
            unreachable_by=_unreachable_by(node_id, reached, flagged),
            dead_end=node_id in dead or _dead_in_graph(scenario.nodes[node_id]),
            no_ending=node_id in endless,
        )
        for node_id in order
    ]


def _unreachable_by(node_id: str, reached: set[str], flagged: set[str]) -> str | None:
    """Return how a node was found unreachable: "graph", "flags", or None if it is not."""
    if node_id not in reached:
        return "graph"
    return "flags" if node_id in flagged else None


def graph_reachable(scenario: Scenario) -> set[str]:
    """Return the ids of the nodes a chain of choices reaches from the start, flags ignored."""
    nodes, start = scenario.nodes, scenario.start
    seen, stack = ({start}, [start]) if start in nodes else (set(), [])
    while stack:
        for choice in nodes[stack.pop()].choices:
            if choice.next in nodes and choice.next not in seen:
                seen.add(choice.next)
                stack.append(choice.next)
    return seen


def _dead_in_graph(node: Node) -> bool:
    """Return whether a node that is not an ending offers nothing at all."""
    return not node.is_ending and not node.choices


def _outline_node(scenario: Scenario, node: Node, row: dict, **marks) -> OutlineNode:
    """Return one node of the outline."""
    return OutlineNode(
        id=node.id,
        kind=node.kind,
        speaker=_plain(node.speaker, row) or None,
        excerpt=story.excerpt(node.text, row, EXCERPT),
        image_alt=_plain(node.image.alt, row) if node.image else None,
        choices=tuple(_outline_choice(scenario, choice, row) for choice in node.choices),
        start=node.id == scenario.start,
        outcome=_plain(node.end.outcome, row) if node.end else None,
        debrief=story.excerpt(node.end.debrief, row, EXCERPT) if node.end else "",
        **marks,
    )


def _outline_choice(scenario: Scenario, choice: Choice, row: dict) -> OutlineChoice:
    """Return one choice of the outline."""
    when = choice.when
    return OutlineChoice(
        id=choice.id,
        text=_plain(choice.text, row),
        next=choice.next,
        next_exists=choice.next in scenario.nodes,
        scores=_points(scenario, choice),
        sharing=choice.sharing,
        critical=choice.critical,
        when_all=tuple(sorted(when.all)) if when else (),
        when_any=tuple(sorted(when.any)) if when else (),
        when_none=tuple(sorted(when.none)) if when else (),
        sets=tuple(sorted(choice.set)),
        clears=tuple(sorted(choice.clear)),
        feedback=story.excerpt(choice.feedback, row, EXCERPT) if choice.feedback else "",
    )


def _points(scenario: Scenario, choice: Choice) -> tuple[Points, ...]:
    """Return a choice's points in the order the scenario declares its dimensions."""
    order = {dimension: i for i, dimension in enumerate(scenario.dimensions)}
    return tuple(
        Points(dimension, scenario.dimensions.get(dimension, dimension), points)
        for dimension, points in sorted(
            choice.score.items(), key=lambda item: (order.get(item[0], len(order)), item[0])
        )
    )


def _plain(text: str | None, row: dict) -> str:
    """Return plain text with its placeholders shown by name, on one line."""
    return " ".join(story.filled(text, row).split()) if text else ""


# The map: DOT source ------------------------------------------------------------------

GRAPH_DEFAULTS = (
    'graph [rankdir="TB", fontname="Arial", bgcolor="white", nodesep="0.3", ranksep="0.45"];',
    'node [fontname="Arial", fontsize="12", color="#0b0c0c", fontcolor="#0b0c0c", '
    'fillcolor="white", margin="0.12,0.06"];',
    'edge [fontname="Arial", fontsize="10", color="#0b0c0c", fontcolor="#0b0c0c", '
    'arrowsize="0.7"];',
)
# Kind -> (shape, extra style, peripheries): a dead end is an octagon whatever its kind.
SHAPES = {
    "decision": ("box", (), 1),
    "step": ("ellipse", (), 1),
    "ending": ("box", ("rounded",), 2),
}


def node_href(node_id: str) -> str:
    """Return the outline's anchor for a node."""
    return f"#node-{node_id}"


def dot_source(
    scenario: Scenario, problems: Iterable = (), href: Callable[[str], str] = node_href
) -> str:
    """Return the DOT source of the scenario's map: one box per node, one arrow per choice.

    ``href`` gives each node's link, which must be a same-page anchor ("#..."):
    `render_svg` keeps no other link.
    """
    nodes = outline(scenario, problems)
    lines = [f"digraph {_quoted('Map of the scenario: ' + scenario.title)} {{"]
    lines += [f"  {line}" for line in GRAPH_DEFAULTS]
    lines += [
        f"  {_quoted(node.id)} [{_attributes(_node_attributes(node, href))}];" for node in nodes
    ]
    lines += [
        f"  {_quoted(node.id)} -> {_quoted(choice.next)} "
        f"[{_attributes(_edge_attributes(choice))}];"
        for node in nodes
        for choice in node.choices
        if choice.next_exists
    ]
    return "\n".join(lines + ["}", ""])


def node_marks(node: OutlineNode) -> list[str]:
    """Return what is wrong with a node, in the words the map writes under its label."""
    return (
        ["(unreachable)"] * node.unreachable
        + ["(dead end)"] * node.dead_end
        + ["(no way to an ending)"] * node.no_ending
    )


def _node_attributes(node: OutlineNode, href: Callable[[str], str]) -> dict:
    """Return the DOT attributes of a node: its shape, outline, label, link and tooltip."""
    shape, style, peripheries = SHAPES.get(node.kind, SHAPES["decision"])
    if node.dead_end:
        shape = "octagon"
    style = ("filled", *style) + ("dotted",) * node.unreachable + ("bold",) * node.start
    heading = f"{'Start. ' if node.start else ''}{node.kind_word}: {node.id}"
    text = f"Outcome: {node.outcome}. {node.excerpt}" if node.outcome else node.excerpt
    tooltip = " ".join([heading + ".", *node_marks(node), _cut(text, TOOLTIP)])
    return {
        "shape": shape,
        "style": ",".join(style),
        "peripheries": str(peripheries),
        "label": [heading, *_wrapped(text, LABEL_TEXT), *node_marks(node)],
        "tooltip": tooltip.strip(),
        "URL": href(node.id),
    }


def _edge_attributes(choice: OutlineChoice) -> dict:
    """Return the DOT attributes of a choice's arrow: dashed when it shares inappropriately,
    bold when it is critical, and both written in its label."""
    style = ["dashed"] * (choice.sharing == "inappropriate") + ["bold"] * choice.critical
    attributes = {
        "label": [choice.id, *choice.marks],
        "tooltip": " ".join(
            [_cut(f"{choice.id}: {choice.text}", TOOLTIP), *(f"({m})" for m in choice.marks)]
        ),
    }
    if style:
        attributes["style"] = ",".join(style)
    return attributes


def _attributes(attributes: dict) -> str:
    """Return DOT attributes, each value quoted; a list is a label of several lines.

    Graphviz 2.43 reads backslash escapes twice in a tooltip (`\\\\N` still becomes the
    node's name), so a tooltip's backslashes are shown as a look-alike (U+29F5); and it
    writes a link as it is, quotes included, so a link is percent-encoded.
    """
    values = dict(attributes)
    if "tooltip" in values:
        values["tooltip"] = values["tooltip"].replace("\\", "\u29f5")
    if "URL" in values:
        values["URL"] = quote(values["URL"], safe="#/:?=&-_.~%")
    return ", ".join(f"{key}={_quoted(value)}" for key, value in values.items())


def _quoted(value: str | list[str]) -> str:
    """Return a value as a DOT string, escaped; the lines of a list are joined by breaks.

    Graphviz reads `\\` escapes (`\\N`, `\\n`...) and HTML entities (`&amp;`) in labels,
    tooltips and links, so backslashes, quotes, `&`, `<` and `>` are all escaped, and control
    characters (newlines included) become spaces.
    """
    lines = value if isinstance(value, list) else [value]
    return '"' + "\\n".join(_dot_text(line) for line in lines) + '"'


def _dot_text(text: str) -> str:
    """Return one line of text escaped for a DOT string."""
    text = CONTROL.sub(" ", text)
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\\", "\\\\")):
        text = text.replace(raw, escaped)
    return text.replace('"', '\\"')


def _cut(text: str, limit: int) -> str:
    """Return ``text`` cut at a word to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def _wrapped(text: str, limit: int) -> list[str]:
    """Return ``text`` cut to ``limit`` characters and wrapped into label lines."""
    lines, line = [], ""
    for word in _cut(text, limit).split():
        if line and len(line) + 1 + len(word) > LABEL_WIDTH:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line] * bool(line)


# The map: SVG -------------------------------------------------------------------------

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
# Elements kept (any other is dropped with all it holds) and the attributes kept on them:
# presentation attributes only, never `style`, `id`, event handlers or links elsewhere.
ELEMENTS = {"g", "desc", "a", "polygon", "polyline", "path", "ellipse", "text"}
ELEMENTS |= {"circle", "rect", "line", "tspan"}
ATTRIBUTES = {
    "fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity",
    "points", "d", "cx", "cy", "rx", "ry", "r", "x", "y", "x1", "y1", "x2", "y2", "width",
    "height", "transform", "text-anchor", "font-family", "font-size", "font-weight",
    "font-style", "text-decoration", "class",
}  # fmt: skip
TEXT_ELEMENTS = {"desc", "text", "tspan"}
VIEW_BOX = re.compile(r"^[-0-9. ]+$")


def render_svg(
    dot: str, timeout: float = 10, title_id: str = "scenario-map-title"
) -> Markup | None:
    """Return the map drawn by Graphviz as SVG markup to inline in a page, or None.

    None when `dot` is not installed, the source is over ``MAX_DOT_BYTES``, Graphviz fails,
    takes more than ``timeout`` seconds or writes more than ``MAX_SVG_BYTES``. The markup
    has no prolog, comment, script, style attribute or id but ``title_id`` (the <title> that
    names it), links only to same-page anchors, and scales to its container's width.
    """
    program = shutil.which("dot")
    data = dot.encode()
    if program is None or len(data) > MAX_DOT_BYTES:
        return None
    output = _run(program, data, timeout)
    return _clean_svg(output, title_id) if output is not None else None


def _run(program: str, data: bytes, timeout: float) -> bytes | None:
    """Return what `dot -Tsvg` writes for ``data``, or None on failure, timeout or excess."""
    # SERVER_NAME puts Graphviz in its web-server mode: with GV_FILE_PATH unset it reads no
    # file (images, shape files) whatever the source asks.
    env = {key: value for key, value in os.environ.items() if key != "GV_FILE_PATH"}
    env["SERVER_NAME"] = "safe-to-report"
    deadline = time.monotonic() + timeout
    with subprocess.Popen(
        [program, "-Tsvg"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as process:
        output = _exchange(process, data, deadline)
        if output is None:
            process.kill()
            return None
        try:
            code = process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            return None
    return output if code == 0 else None


def _exchange(process: subprocess.Popen, data: bytes, deadline: float) -> bytes | None:
    """Write ``data`` to the process and read its output until it ends, within bounds."""
    pending, chunks, size = memoryview(data), [], 0
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdin, selectors.EVENT_WRITE)
        selector.register(process.stdout, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            for key, _ in selector.select(remaining):
                if key.fileobj is process.stdin:
                    try:
                        pending = pending[os.write(process.stdin.fileno(), pending[:4096]) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(process.stdin)
                        process.stdin.close()
                    continue
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    selector.unregister(process.stdout)
                    continue
                size += len(chunk)
                if size > MAX_SVG_BYTES:
                    return None
                chunks.append(chunk)
    return b"".join(chunks)


def _clean_svg(output: bytes, title_id: str) -> Markup | None:
    """Return Graphviz's SVG rebuilt from allowed elements and attributes, or None.

    Graphviz's own <title>s (the graph's, each node's and edge's ids) are dropped: the
    graph's names the whole picture instead, and each tooltip (`xlink:title`) becomes the
    <title> of its link or group, which browsers show and screen readers read.
    """
    try:
        root = ElementTree.fromstring(output)
    except (ElementTree.ParseError, RecursionError):
        return None
    view_box = root.get("viewBox", "")
    if root.tag != f"{{{SVG}}}svg" or not VIEW_BOX.match(view_box):
        return None
    graph = root.find(f"{{{SVG}}}g")
    title = graph.find(f"{{{SVG}}}title") if graph is not None else None
    # Graphviz writes ids as the DOT source spells them, so undo the doubled backslashes.
    name = title.text.replace("\\\\", "\\") if title is not None and title.text else ""
    parts = [
        f'<svg xmlns="{SVG}" xmlns:xlink="{XLINK}" viewBox="{escape(view_box)}" width="100%" '
        f'class="app-map__svg" role="group" aria-labelledby="{escape(title_id)}">\n',
        f'<title id="{escape(title_id)}">{escape(name or "Map of the scenario")}</title>\n',
    ]
    try:
        for child in root:
            _element(child, parts)
    except RecursionError:
        return None
    return Markup("".join(parts + ["</svg>"]))


def _element(element, parts: list[str]) -> None:
    """Append the allowed markup of ``element`` and its children to ``parts``."""
    name = element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""
    if name not in ELEMENTS or not element.tag.startswith(f"{{{SVG}}}"):
        return
    kept = {key: value for key, value in element.attrib.items() if key in ATTRIBUTES}
    link = ""
    if name == "a":
        href = element.get(f"{{{XLINK}}}href") or element.get("href") or ""
        if FRAGMENT.match(href):
            link = f' xlink:href="{escape(href)}"'
        else:
            name = "g"  # a tooltip without a link, or a link elsewhere: a plain group
    attributes = "".join(f' {key}="{escape(value)}"' for key, value in kept.items())
    parts.append(f"<{name}{attributes}{link}>" + ("" if name in TEXT_ELEMENTS else "\n"))
    tooltip = element.get(f"{{{XLINK}}}title")
    if tooltip and name in ("a", "g"):
        parts.append(f"<title>{escape(tooltip)}</title>\n")
    if name in TEXT_ELEMENTS and element.text:
        parts.append(str(escape(element.text)))
    for child in element:
        _element(child, parts)
        if name in TEXT_ELEMENTS and child.tail:
            parts.append(str(escape(child.tail)))
    parts.append(f"</{name}>\n")


def drawable_scenario(
    data: bytes, problems: Iterable, base_dir: Path | None = None, revision: int = REVISION
) -> Scenario | None:
    """Return the scenario in a file whose only errors come from exploring it, else None.

    Such a file (a dead end, a cycle with no ending, no passing path) has no scenario in its
    report, yet its form is sound: this builds it so that its map can show what is wrong.
    ``problems`` are the file's report's; pass them to `outline` and `dot_source` too.
    """
    if any(p.is_error and p.code not in EXPLORATION_ERRORS for p in problems):
        return None
    try:
        document = parse(data)
    except YamlRefused:
        return None
    return build(plain(document.root), base_dir, "", revision)


# What changed between two versions ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Marks:
    """What a choice scores and how it is judged."""

    score: tuple[tuple[str, int], ...]  # (dimension, points), non-zero, by dimension
    sharing: str | None
    critical: bool

    @classmethod
    def of(cls, choice: Choice) -> "Marks":
        """Return the marks of ``choice``."""
        score = tuple(sorted((d, p) for d, p in choice.score.items() if p))
        return cls(score, choice.sharing, choice.critical)

    @property
    def words(self) -> str:
        """Return the marks in words, e.g. "safety +2; inappropriate share; critical"."""
        score = ", ".join(f"{dimension} {points:+d}" for dimension, points in self.score)
        sharing = f"{self.sharing} share" if self.sharing else ""
        parts = [score or "no points", sharing, "critical" if self.critical else ""]
        return "; ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class ChoiceChange:
    """A choice of one node whose marks, target or conditions changed: before and after."""

    node_id: str
    choice_id: str
    before: "Marks | str"  # Marks when rescored, the target node's id when retargeted
    after: "Marks | str"


@dataclass(frozen=True, slots=True)
class KindChange:
    """A node that became another kind (say, a step that became a decision)."""

    node_id: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class GraphChanges:
    """What changed in the graph from one version to another; choices are (node, choice)."""

    start: tuple[str, str] | None  # (before, after) when the start moved
    nodes_added: tuple[str, ...]
    nodes_removed: tuple[str, ...]
    kinds_changed: tuple[KindChange, ...]
    choices_added: tuple[tuple[str, str], ...]
    choices_removed: tuple[tuple[str, str], ...]
    rescored: tuple[ChoiceChange, ...]  # score, sharing or critical changed
    retargeted: tuple[ChoiceChange, ...]  # next changed
    conditions_changed: tuple[tuple[str, str], ...]  # when, set or clear changed
    text_changed: tuple[str, ...]  # node ids whose texts or picture changed

    def __bool__(self) -> bool:
        return any(getattr(self, field.name) for field in fields(self))


def graph_changes(old: Scenario, new: Scenario) -> GraphChanges:
    """Return what changed in the graph from ``old`` to ``new``, nodes in file order."""
    both = [node_id for node_id in new.nodes if node_id in old.nodes]
    pairs = [(old.nodes[node_id], new.nodes[node_id]) for node_id in both]
    choices = [(a.id, before, after) for a, b in pairs for before, after in _common_choices(a, b)]
    return GraphChanges(
        start=(old.start, new.start) if old.start != new.start else None,
        nodes_added=tuple(n for n in new.nodes if n not in old.nodes),
        nodes_removed=tuple(n for n in old.nodes if n not in new.nodes),
        kinds_changed=tuple(
            KindChange(a.id, a.kind, b.kind) for a, b in pairs if a.kind != b.kind
        ),
        choices_added=tuple((b.id, c) for a, b in pairs for c in _choice_ids(b, a)),
        choices_removed=tuple((a.id, c) for a, b in pairs for c in _choice_ids(a, b)),
        rescored=tuple(
            ChoiceChange(n, c.id, Marks.of(c), Marks.of(d))
            for n, c, d in choices
            if Marks.of(c) != Marks.of(d)
        ),
        retargeted=tuple(
            ChoiceChange(n, c.id, c.next, d.next) for n, c, d in choices if c.next != d.next
        ),
        conditions_changed=tuple(
            (n, c.id)
            for n, c, d in choices
            if (c.when, c.set, c.clear) != (d.when, d.set, d.clear)
        ),
        text_changed=tuple(a.id for a, b in pairs if _wording(a) != _wording(b)),
    )


def _choice_ids(node: Node, other: Node) -> list[str]:
    """Return the ids of the choices of ``node`` that ``other`` lacks."""
    ids = {choice.id for choice in other.choices}
    return [choice.id for choice in node.choices if choice.id not in ids]


def _common_choices(old: Node, new: Node) -> list[tuple[Choice, Choice]]:
    """Return the pairs of choices (old, new) that share an id, in the new file's order."""
    before = {choice.id: choice for choice in old.choices}
    return [(before[choice.id], choice) for choice in new.choices if choice.id in before]


def _wording(node: Node) -> tuple:
    """Return everything a node says or shows: text, speaker, picture, choices, ending."""
    choices = tuple((c.id, c.text, c.feedback) for c in node.choices)
    return (node.text, node.speaker, node.image, node.end, choices)


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One row of a line diff: a line kept, added or removed, or a run of unchanged lines."""

    kind: str  # "same", "added", "removed" or "skipped"
    old_line: int | None
    new_line: int | None
    text: str  # the line, or "N unchanged lines" for a skipped run
    count: int = 1  # lines the row stands for

    @property
    def sign(self) -> str:
        """Return the diff's sign for the row: "+", "-" or nothing."""
        return {"added": "+", "removed": "-"}.get(self.kind, "")


def line_diff(old_text: str, new_text: str, context: int = 3) -> list[DiffRow]:
    """Return the rows of a line diff, unchanged runs longer than twice ``context`` folded."""
    old, new = old_text.splitlines(), new_text.splitlines()
    rows = []
    matcher = difflib.SequenceMatcher(None, old, new)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += _unchanged(old, i1, i2, j1, context, first=i1 == 0, last=i2 == len(old))
            continue
        rows += [DiffRow("removed", i + 1, None, old[i]) for i in range(i1, i2)]
        rows += [DiffRow("added", None, j + 1, new[j]) for j in range(j1, j2)]
    return rows


def _unchanged(lines, i1, i2, j1, context, first, last) -> list[DiffRow]:
    """Return the rows of a run of unchanged lines, its middle folded into one row."""
    head = 0 if first else context
    tail = 0 if last else context
    if i2 - i1 - head - tail < 2:
        head, tail = i2 - i1, 0
    rows = [DiffRow("same", i + 1, j1 + i - i1 + 1, lines[i]) for i in range(i1, i1 + head)]
    hidden = i2 - i1 - head - tail
    if hidden > 0:
        word = "line" if hidden == 1 else "lines"
        rows.append(
            DiffRow("skipped", i1 + head + 1, j1 + head + 1, f"{hidden} unchanged {word}", hidden)
        )
    rows += [DiffRow("same", i + 1, j1 + i - i1 + 1, lines[i]) for i in range(i2 - tail, i2)]
    return rows
