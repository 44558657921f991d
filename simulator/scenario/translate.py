"""Translate pydantic's validation errors into the format's codes and positions."""

import datetime

from pydantic import ValidationError

from . import schema
from .problems import did_you_mean
from .work import Work
from .yamlsafe import Mapping, Scalar, Sequence

# The model that checks the mapping found at each shape of path (ints are list indices,
# "*" any key); node paths have their kind's tag in third place.
_MODELS = {
    (): schema.ScenarioFile,
    ("references", "*"): schema.Reference,
    ("nodes", "*", "decision"): schema.Decision,
    ("nodes", "*", "step"): schema.Step,
    ("nodes", "*", "ending"): schema.EndingNode,
    ("nodes", "*", "*", "image"): schema.Image,
    ("nodes", "*", "ending", "end"): schema.Ending,
    ("nodes", "*", "decision", "choices", 0): schema.Choice,
    ("nodes", "*", "decision", "choices", 0, "when"): schema.Condition,
}
_KIND_NAMES = {
    "decision": "a decision",
    "step": "a step (a node with 'next')",
    "ending": "an ending",
}


def translate(error: ValidationError, root, work: Work | None = None) -> list[tuple]:
    """Return ``(code, line, column, message)`` for each of pydantic's errors."""
    work = work if work is not None else Work()
    found = []
    for detail in error.errors(include_url=False):
        if detail["type"] == "bad_node":
            found += _bad_node(detail["input"], _strip_tag(tuple(detail["loc"])), root, work)
        else:
            found.append(_one(detail, root, work))
    return found


def _one(detail: dict, root, work: Work) -> tuple:
    """Translate one error detail."""
    loc, kind = tuple(detail["loc"]), detail["type"]
    path = _strip_tag(loc)
    if kind == "missing":
        line, column = _missing_position(path[:-1], root)
        return ("schema", line, column, f"missing required key '{path[-1]}'")
    if kind == "extra_forbidden":
        key = _key_node(path, root)
        return ("schema", key.line, key.column, _unknown_key_message(loc, work))
    if path and path[-1] == "[key]":
        key = _key_node(path[:-1], root)
        return ("schema", key.line, key.column, "key " + _value_message(detail, key, work))
    node = _value_node(path, root)
    if kind == "repeated_item":
        node = node.items[detail["ctx"]["index"]]
    return ("schema", node.line, node.column, _value_message(detail, node, work))


def _strip_tag(loc: tuple) -> tuple:
    """Drop the node kind pydantic puts in the path of an error inside a node."""
    if len(loc) > 2 and loc[0] == "nodes" and loc[2] in schema.NODE_TAGS:
        return loc[:2] + loc[3:]
    return loc


def _bad_node(value, path, root, work: Work) -> list[tuple]:
    """Explain why a node is not exactly one of decision, step or ending.

    A key that no kind of node allows (a misspelt ``choises:``, say) is also reported as
    unknown, with the allowed key it is nearest to: it is usually why the node is bad.
    """
    key = _key_node(path, root)
    if not isinstance(value, dict):
        message = "a node must be a mapping with one of 'choices', 'next' or 'end'"
        return [("schema", key.line, key.column, message)]
    present = [f"'{k}'" for k in schema.NODE_KINDS if k in value]
    has = " and ".join(present) if present else "none of them"
    found = [
        (
            "bad-node",
            key.line,
            key.column,
            f"node '{path[-1]}' must have exactly one of 'choices' (a decision), 'next' (a "
            f"step) or 'end' (an ending); it has {has}",
        )
    ]
    allowed = sorted({k for tag in schema.NODE_TAGS for k in _node_keys(tag)})
    for name in value:
        if name not in allowed:
            unknown = _key_node((*path, name), root)
            message = f"unknown key '{name}'{did_you_mean(name, allowed, work)}"
            if name == "<<":
                message = _unknown_key_message((*path, name), work)
            found.append(("schema", unknown.line, unknown.column, message))
    return found


def _node_keys(tag: str) -> list[str]:
    """Return the keys a node of one kind may have."""
    return schema.allowed_keys(_MODELS[("nodes", "*", tag)])


def _unknown_key_message(loc: tuple, work: Work) -> str:
    """Say that a key is unknown, suggesting the allowed key it is nearest to."""
    name, shape = loc[-1], _shape(loc[:-1])
    if name == "<<":
        return "unknown key '<<': YAML merge keys are not allowed; write the keys out in full"
    model = _MODELS.get(shape)
    if model is None:
        return f"unknown key '{name}'"
    allowed = schema.allowed_keys(model)
    if shape[:1] == ("nodes",) and len(shape) == 3 and shape[2] != "decision":
        for other in ("decision", "step", "ending"):
            if name in schema.allowed_keys(_MODELS[("nodes", "*", other)]):
                return f"'{name}' is not allowed on {_KIND_NAMES[shape[2]]}"
    return f"unknown key '{name}'{did_you_mean(name, allowed, work)}"


def _shape(loc: tuple) -> tuple:
    """Return the shape of a path: list indices become 0, node and reference names "*"."""
    shape = [0 if isinstance(part, int) and not isinstance(part, bool) else part for part in loc]
    if len(shape) > 1 and shape[0] in ("references", "nodes"):
        shape[1] = "*"
    if len(shape) == 4 and shape[0] == "nodes" and shape[3] == "image":
        shape[2] = "*"
    return tuple(shape)


def _value_message(detail: dict, node, work: Work) -> str:
    """Say what is wrong with a value, in the author's terms."""
    kind, value, ctx = detail["type"], detail.get("input"), detail.get("ctx") or {}
    if kind == "string_type":
        return _not_text(value, node)
    if kind in ("int_type", "int_parsing"):
        return f"expected a whole number, not {_described(value, node)}"
    if kind == "string_pattern_mismatch":
        return _pattern_message(value, ctx.get("pattern", ""))
    if kind == "string_too_long":
        return f"'{value}' is longer than 64 characters"
    if kind == "literal_error":
        allowed = [
            a.strip().strip("'") for a in ctx.get("expected", "").replace(" or ", ", ").split(",")
        ]
        choices = ", ".join(f"'{a}'" for a in allowed)
        suggestion = did_you_mean(value, allowed, work)
        return f"{_described(value, node)} is not one of {choices}{suggestion}"
    if kind == "greater_than":
        return f"expected a positive whole number, not {_described(value, node)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"expected a percentage from 0 to 100, not {_described(value, node)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys to values, not {_described(value, node)}"
    if kind == "list_type":
        return f"expected a list, not {_described(value, node)}"
    return detail["msg"]


def _not_text(value, node) -> str:
    """Explain that YAML read a value as something other than text."""
    if isinstance(value, (bool, int, float, datetime.date)) or value is None:
        return (
            f"expected text, but YAML reads {_described(value, node)}: put it in quotes, "
            f'for example "{_source(node)}"'
        )
    return f"expected text, not {_described(value, node)}"


def _described(value, node) -> str:
    """Describe a value as YAML read it, naming its type."""
    if isinstance(node, Mapping) or isinstance(value, dict):
        return "a mapping"
    if isinstance(node, Sequence) or isinstance(value, list):
        return "a list"
    source = _source(node)
    if value is None:
        return f"'{source}' as empty (null)" if source else "an empty value (null)"
    names = {bool: "a true/false value", int: "a number", float: "a number", str: "text"}
    type_name = names.get(type(value), "a date" if isinstance(value, datetime.date) else "")
    if isinstance(value, str):
        return f"the text '{value}'"
    return f"'{source}' as {type_name}"


def _source(node) -> str:
    """Return a scalar's value as the author typed it."""
    return node.raw if isinstance(node, Scalar) else ""


def _pattern_message(value, pattern: str) -> str:
    """Explain a name or address that does not have the required form."""
    if pattern == schema.URL_PATTERN:
        return f"'{value}' must start with https://, http:// or mailto:"
    if pattern == schema.SCENARIO_ID_PATTERN:
        return (
            f"'{value}' is not a valid scenario id: use lower-case letters and digits, "
            "with single hyphens between them (no underscores)"
        )
    return (
        f"'{value}' is not a valid name: use lower-case letters and digits, with single "
        "'-' or '_' between them, at most 64 characters"
    )


def locate(path: tuple, root):
    """Return ``(key node, value node)`` at ``path``; the key is None for the root or an item."""
    key, node = None, root
    for part in path:
        if isinstance(node, Mapping):
            pair = node.index.get(part)
            if pair is None:
                break
            key, node = pair
        elif isinstance(node, Sequence) and isinstance(part, int) and part < len(node.items):
            key, node = None, node.items[part]
        else:
            break
    return key, node


def _key_node(path: tuple, root):
    """Return the key node at ``path`` (the value node if it has no key)."""
    key, node = locate(path, root)
    return key or node


def _value_node(path: tuple, root):
    """Return the value node at ``path``."""
    return locate(path, root)[1]


def _missing_position(path: tuple, root) -> tuple[int, int]:
    """Position of a missing key: the key the mapping stands under, or a list item's first key."""
    if not path:
        return 1, 1
    key, node = locate(path, root)
    if key is None and isinstance(node, Mapping) and node.pairs:
        first = node.pairs[0][0]
        return first.line, first.column
    target = key or node
    return target.line, target.column
