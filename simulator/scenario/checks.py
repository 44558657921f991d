"""Checks of naming and text that relate one part of a scenario file to another.

They walk the positioned tree rather than the validated models, so they run even where
the schema found errors elsewhere in the file; a value of the wrong form is left to the
schema's error and not reported twice.
"""

import re
from collections.abc import Mapping as AbcMapping
from pathlib import Path

from markdown_it import MarkdownIt

from .problems import did_you_mean
from .schema import IMAGE_SUFFIXES, NODE_KINDS, SLUG_PATTERN
from .work import Work
from .yamlsafe import Mapping, Scalar, Sequence

_SLUG = re.compile(SLUG_PATTERN)
_PLACEHOLDER = re.compile(r"\{([a-z0-9]+(?:[-_][a-z0-9]+)*)\}")
_BRACE = re.compile(r"[{}]")
_LINK_SCHEMES = ("https://", "http://", "mailto:")
_markdown = MarkdownIt("commonmark")
_markdown.validateLink = lambda url: True  # let every target through, to be checked here


class Finder:
    """Collects problems as ``(code, severity, line, column, message)``."""

    def __init__(
        self,
        root: Mapping,
        base_dir: Path | None,
        text: str,
        revision: int,
        work: Work,
        pictures: AbcMapping[str, str | None] | None = None,
    ):
        self.root, self.base_dir, self.text, self.revision = root, base_dir, text, revision
        self.pictures = pictures
        self.work = work
        self.found: list[tuple] = []
        self.flags = declared_list(root, "flags")
        self.dimensions = declared(root, "dimensions")
        self.references = declared(root, "references")

    def error(self, code: str, at, message: str) -> None:
        """Record an error at the node ``at``."""
        self.found.append((code, "error", at.line, at.column, message))

    def warn(self, code: str, at, message: str) -> None:
        """Record a warning at the node ``at``."""
        self.found.append((code, "warning", at.line, at.column, message))


def pairs(node):
    """Yield ``(key node, value node)`` of a mapping (first of duplicate keys), else nothing."""
    if isinstance(node, Mapping):
        yield from node.index.values()


def items(node):
    """Yield the items of a sequence, else nothing."""
    if isinstance(node, Sequence):
        yield from node.items


def slug(node) -> str | None:
    """Return a scalar's value if it is a well-formed name, else None."""
    if isinstance(node, Scalar) and isinstance(node.value, str) and _SLUG.match(node.value):
        return node.value
    return None


def text(node) -> str | None:
    """Return a scalar's value if it is text, else None."""
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return node.value
    return None


def declared(root: Mapping, key: str) -> dict[str, object]:
    """Return the well-formed names declared under a top-level mapping key, with key nodes."""
    return {name: k for k, _ in pairs(root.get(key)) if (name := slug(k))}


def declared_list(root: Mapping, key: str) -> dict[str, object]:
    """Return the well-formed names declared in a top-level list, with their item nodes."""
    found = {}
    for item in items(root.get(key)):
        name = slug(item)
        if name and name not in found:
            found[name] = item
    return found


def nodes(root: Mapping):
    """Yield ``(name, key node, node mapping)`` for every node that is a mapping."""
    for key, value in pairs(root.get("nodes")):
        if isinstance(value, Mapping):
            yield key.value, key, value


def choices(node: Mapping):
    """Yield each choice mapping of a decision node."""
    for choice in items(node.get("choices")):
        if isinstance(choice, Mapping):
            yield choice


def run_checks(
    root: Mapping,
    base_dir: Path | None,
    source: str,
    revision: int,
    work: Work | None = None,
    pictures: AbcMapping[str, str | None] | None = None,
) -> list[tuple]:
    """Return every naming and text problem in the scenario rooted at ``root``.

    Each check is linear in the file, apart from suggestions, whose cost ``work`` counts
    and bounds (``problems.nearest``). ``pictures``, when given, are the pictures that came
    with the file (an upload's, or those its folder holds), each with the problem found when
    it was decoded or None; then an image is looked up there instead of in ``base_dir``.
    """
    if not isinstance(root, Mapping):
        return []
    finder = Finder(
        root, base_dir, source, revision, work if work is not None else Work(), pictures
    )
    check_nodes(finder)
    check_start(finder)
    check_cast(finder)
    check_pass_marks(finder)
    check_references(finder)
    check_usage(finder)
    return finder.found


def check_start(finder: Finder) -> None:
    """Check that ``start`` names a node that is not an ending."""
    start = finder.root.get("start")
    name = slug(start)
    if not name:
        return
    node_names = {n for n, _, _ in nodes(finder.root)}
    target = (
        finder.root.get("nodes").get(name)
        if isinstance(finder.root.get("nodes"), Mapping)
        else None
    )
    if target is None:
        finder.error(
            "unknown-node",
            start,
            f"start names no node '{name}'{did_you_mean(name, node_names, finder.work)}",
        )
    elif (
        isinstance(target, Mapping)
        and "end" in target.index
        and len([k for k in ("choices", "next", "end") if k in target.index]) == 1
    ):
        finder.error(
            "schema",
            start,
            f"the start node '{name}' is an ending: start at a node with choices or next",
        )


def check_nodes(finder: Finder) -> None:
    """Check the names and texts inside every node."""
    root = finder.root
    node_names = {n for n, _, _ in nodes(root)}
    cast_keys = cast_columns(root)
    for name, _key, node in nodes(root):
        step_next = node.get("next")
        check_next(finder, step_next, node_names)
        check_fields(finder, node, ("text",), ("text", "speaker"), cast_keys)
        image = node.get("image")
        if isinstance(image, Mapping):
            check_fields(finder, image, (), ("alt",), cast_keys)
            check_image(finder, image.get("src"))
        end = node.get("end")
        if isinstance(end, Mapping):
            check_fields(finder, end, ("debrief",), ("outcome", "debrief"), cast_keys)
        seen_ids: dict[str, object] = {}
        for choice in choices(node):
            check_choice(finder, name, choice, node_names, cast_keys, seen_ids)


def check_choice(finder, node_name, choice, node_names, cast_keys, seen_ids) -> None:
    """Check one choice's id, destination, flags, score keys, references and texts."""
    choice_id = choice.get("id")
    name = slug(choice_id)
    if name and name in seen_ids:
        first = seen_ids[name]
        finder.error(
            "duplicate-id",
            choice_id,
            f"choice id '{name}' is used twice in node "
            f"'{node_name}' (first on line {first.line}): give each choice its own id",
        )
    elif name:
        seen_ids[name] = choice_id
    check_next(finder, choice.get("next"), node_names)
    check_fields(finder, choice, ("feedback",), ("text", "feedback"), cast_keys)
    flags = finder.flags
    when = choice.get("when")
    for part in ("all", "any", "none"):
        for item in items(when.get(part) if isinstance(when, Mapping) else None):
            check_name(finder, "unknown-flag", item, flags, "flag", "flags")
    set_names = set()
    for item in items(choice.get("set")):
        check_name(finder, "unknown-flag", item, flags, "flag", "flags")
        set_names.add(slug(item))
    for item in items(choice.get("clear")):
        check_name(finder, "unknown-flag", item, flags, "flag", "flags")
        if slug(item) and slug(item) in set_names:
            finder.error(
                "schema",
                item,
                f"flag '{item.value}' is both set and cleared by this "
                "choice: keep it in one of the two",
            )
    dimensions = finder.dimensions
    for key, _ in pairs(choice.get("score")):
        check_name(finder, "unknown-dimension", key, dimensions, "dimension", "dimensions")
    references = finder.references
    for item in items(choice.get("refs")):
        check_name(finder, "unknown-reference", item, references, "reference", "references")
    check_error_choice(finder, choice)


def check_error_choice(finder: Finder, choice: Mapping) -> None:
    """Warn about an inappropriate or critical choice without feedback, or with points."""
    inappropriate = text(choice.get("sharing")) == "inappropriate"
    critical = _is_true(choice.get("critical"))
    if not (inappropriate or critical):
        return
    what = "inappropriate share" if inappropriate else "critical choice"
    if choice.get("feedback") is None:
        finder.warn(
            "no-feedback",
            choice.key_node("sharing" if inappropriate else "critical"),
            f"this {what} has no feedback: explain why it is wrong, so the trainee learns from it",
        )
    for key, value in pairs(choice.get("score")):
        if _is_positive(value):
            finder.warn(
                "rewarded-error",
                value,
                f"this {what} earns {value.value} point{'s' if value.value != 1 else ''} of "
                f"'{key.value}': an error should "
                "earn nothing, or lose points, so the score never teaches that it helps",
            )


def _is_true(node) -> bool:
    """Return whether a scalar is the boolean true."""
    return isinstance(node, Scalar) and node.value is True


def _is_positive(node) -> bool:
    """Return whether a scalar is a positive whole number."""
    value = node.value if isinstance(node, Scalar) else None
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_next(finder: Finder, target, node_names) -> None:
    """Check that a ``next`` names a node."""
    name = slug(target)
    if name and name not in node_names:
        finder.error(
            "unknown-node",
            target,
            f"no node named '{name}'{did_you_mean(name, node_names, finder.work)}",
        )


def check_name(finder, code, item, names: dict, kind: str, where: str) -> None:
    """Check that a used name is declared."""
    name = slug(item)
    if name and name not in names:
        suggestion = did_you_mean(name, names, finder.work)
        finder.error(code, item, f"{kind} '{name}' is not declared in '{where}'{suggestion}")


def cast_columns(root: Mapping) -> list[str]:
    """Return the cast's keys (those of its first row)."""
    rows = [row for row in items(root.get("cast")) if isinstance(row, Mapping)]
    return [key.value for key, _ in pairs(rows[0]) if slug(key)] if rows else []


def check_cast(finder: Finder) -> None:
    """Check that every cast row has the same keys as the first."""
    rows = [row for row in items(finder.root.get("cast")) if isinstance(row, Mapping)]
    if not rows:
        return
    columns = set(rows[0].index)
    seen = set()  # a set, not a list: a cast of many rows stays linear
    for row in rows:
        values = frozenset(plain_row(row).items())
        if values in seen:
            finder.error(
                "schema",
                row.pairs[0][0],
                "this cast row repeats an earlier one: a list never repeats an item",
            )
        seen.add(values)
    for row in rows[1:]:
        for key, _ in pairs(row):
            if key.value not in columns:
                finder.error(
                    "schema",
                    key,
                    f"cast key '{key.value}' is not in the first row: "
                    "every row needs the same keys",
                )
        missing = sorted(str(c) for c in columns - set(row.index))
        if missing and row.pairs:
            first = row.pairs[0][0]
            finder.error(
                "schema",
                first,
                "this cast row lacks "
                + ", ".join(f"'{m}'" for m in missing)
                + ": every row needs the same keys",
            )


def plain_row(row: Mapping) -> dict:
    """Return a cast row's keys and values, for comparing rows."""
    return {key.value: getattr(value, "value", None) for key, value in pairs(row)}


def check_pass_marks(finder: Finder) -> None:
    """Check that pass marks name declared dimensions."""
    dimensions = declared(finder.root, "dimensions")
    for key, _ in pairs(finder.root.get("pass_marks")):
        check_name(finder, "unknown-dimension", key, dimensions, "dimension", "dimensions")


def check_references(finder: Finder) -> None:
    """Check the Markdown of every reference's detail."""
    for _, reference in pairs(finder.root.get("references")):
        if isinstance(reference, Mapping):
            check_fields(finder, reference, ("detail",), (), [])


def check_usage(finder: Finder) -> None:
    """Warn about declared flags, references and dimensions that nothing uses.

    A node with none of 'choices', 'next' and 'end' (a misspelt key, say) hides what it
    uses, so no usage warning is given while one exists: it would only mislead.
    """
    root = finder.root
    if any(not any(k in node.index for k in NODE_KINDS) for _, _, node in nodes(root)):
        return
    tested, set_, cited, scored = set(), set(), set(), set()
    for _, _, node in nodes(root):
        for choice in choices(node):
            when = choice.get("when")
            for part in ("all", "any", "none"):
                tested.update(
                    map(slug, items(when.get(part) if isinstance(when, Mapping) else None))
                )
            set_.update(map(slug, items(choice.get("set"))))
            cited.update(map(slug, items(choice.get("refs"))))
            scored.update(
                key.value
                for key, value in pairs(choice.get("score"))
                if isinstance(value, Scalar) and value.value not in (0, None, False)
            )
    for name, item in declared_list(root, "flags").items():
        missing = [word for word, used in (("set", set_), ("when", tested)) if name not in used]
        if missing:
            why = {
                ("set",): "no choice sets it",
                ("when",): "no choice tests it in 'when'",
                ("set", "when"): "no choice sets it or tests it in 'when'",
            }[tuple(missing)]
            finder.warn("unused-flag", item, f"flag '{name}' is declared but {why}")
    for name, key in declared(root, "references").items():
        if name not in cited:
            finder.warn("unused-reference", key, f"reference '{name}' is never cited in 'refs'")
    for name, key in declared(root, "dimensions").items():
        if name not in scored:
            finder.warn(
                "unused-dimension",
                key,
                f"dimension '{name}' is never scored by a choice with a non-zero value",
            )


def check_fields(finder, mapping, markdown_keys, placeholder_keys, cast_keys) -> None:
    """Check Markdown and placeholders in the named text fields of ``mapping``."""
    for key in set(markdown_keys) | set(placeholder_keys):
        node = mapping.get(key)
        value = text(node)
        if value is None:
            continue
        if key in markdown_keys:
            check_markdown(finder, node, value)
        if key in placeholder_keys:
            check_placeholders(finder, node, value, cast_keys)


def check_markdown(finder: Finder, node: Scalar, value: str) -> None:
    """Refuse raw HTML and links that are not web or mail addresses."""
    if "<" not in value and "[" not in value:
        return  # neither HTML, an autolink nor a link can be written without these
    for token in _tokens(_markdown.parse(value)):
        if token.type in ("html_block", "html_inline"):
            finder.error(
                "schema",
                node,
                f"raw HTML {token.content.strip()[:40]!r} is not "
                "allowed in Markdown: write it as plain Markdown",
            )
            return
        if token.type == "image" and finder.revision >= 2:
            finder.error(
                "schema",
                node,
                "Markdown images are not allowed: show a picture with the node's 'image' "
                "key, which needs alternative text",
            )
            return
        target = {"link_open": "href", "image": "src"}.get(token.type)
        target = token.attrGet(target) if target else None
        if target is not None and not target.startswith(_LINK_SCHEMES):
            finder.error(
                "schema",
                node,
                f"link target '{target}' must start with https://, http:// or mailto:",
            )
            return


def _tokens(tokens):
    """Yield tokens and their inline children."""
    for token in tokens:
        yield token
        if token.children:
            yield from _tokens(token.children)


def check_placeholders(finder: Finder, node: Scalar, value: str, cast_keys) -> None:
    """Check braces and placeholders, reading left to right."""
    position = 0
    placeholders = []
    positions = None
    while True:
        brace = _next_brace(value, position)
        if brace == -1:
            break
        if value.startswith(("{{", "}}"), brace):
            position = brace + 2
            continue
        match = _PLACEHOLDER.match(value, brace)
        if not match:
            char = value[brace]
            finder.error(
                "schema",
                node,
                f"a lone '{char}' must be written '{char}{char}'; "
                "'{name}' is a placeholder for a cast value",
            )
            return
        placeholders.append((len(placeholders), match.group(1)))
        position = match.end()
    for ordinal, key in placeholders:
        if key not in cast_keys:
            if positions is None:
                positions = _placeholder_positions(finder.text, node)
            line, column = (
                positions[ordinal] if ordinal < len(positions) else (node.line, node.column)
            )
            at = Scalar(None, "", None, line, column, 0, 0)
            known = f"{did_you_mean(key, cast_keys, finder.work)}" if cast_keys else ""
            where = "the cast" if cast_keys else "a cast (this scenario has none)"
            finder.error(
                "unknown-placeholder", at, f"placeholder '{{{key}}}' has no key in {where}{known}"
            )


def _next_brace(value: str, position: int) -> int:
    """Return the index of the next brace at or after ``position``, or -1."""
    match = _BRACE.search(value, position)
    return match.start() if match else -1


def _placeholder_positions(source: str, node: Scalar) -> list[tuple[int, int]]:
    """Return where each placeholder of a scalar starts in the file, in one pass.

    A scalar with escapes gives none: its placeholders are placed at the value's start, as
    the format says.
    """
    raw = source[node.start : node.end]
    if (node.style == '"' and "\\" in raw) or (node.style == "'" and "''" in raw[1:-1]):
        return []
    positions = []
    line, line_start = node.line, -(node.column - 1)  # line start, relative to ``raw``
    counted = position = 0
    while True:
        brace = _next_brace(raw, position)
        if brace == -1:
            return positions
        if raw.startswith(("{{", "}}"), brace):
            position = brace + 2
            continue
        match = _PLACEHOLDER.match(raw, brace)
        if match:
            newlines = raw.count("\n", counted, brace)
            if newlines:
                line += newlines
                line_start = raw.rfind("\n", counted, brace) + 1
            counted = brace
            positions.append((line, brace - line_start + 1))
        position = match.end() if match else brace + 1


def check_image(finder: Finder, src) -> None:
    """Check that an image's file came with the scenario (or exists beside it), and decodes."""
    path = text(src)
    if path is None or not path.lower().endswith(IMAGE_SUFFIXES):
        return
    if path.startswith("/") or ".." in path.split("/") or ":" in path:
        return
    if finder.pictures is not None:
        if path not in finder.pictures:
            finder.error("schema", src, f"image '{path}' did not come with the scenario")
        elif problem := finder.pictures[path]:
            finder.error("schema", src, problem)
        return
    if finder.base_dir is None:
        return
    if not (finder.base_dir / path).is_file():
        finder.error("schema", src, f"image '{path}' not found in the scenario's folder")
