"""Read YAML safely into a tree that keeps the line and column of every key and value.

PyYAML's loaders build values without positions, keep the last of two duplicate keys,
and expand aliases (a "billion laughs" file exhausts memory). This reader works on the
parser's event stream instead: it refuses the first anchor, alias or explicit tag before
any value is built, reports duplicate keys, and resolves plain scalars to their implicit
YAML 1.1 types exactly as PyYAML's safe loader does.
"""

from dataclasses import dataclass

import yaml
from yaml import events
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from .work import Work
from .yamlwords import explain

# libyaml's parser when PyYAML has it; only the event stream is used, never its constructor.
_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 1_048_576
# A scenario nests at most eight levels (nodes, node, choices, choice, when, all, item);
# deeper files are refused as libyaml refuses any past 1,000, before recursion is at risk.
MAX_DEPTH = 64
# Parser events one file may produce: every event takes at least one byte of a 1 MiB file,
# so this bound is reached only by a file the byte limit would refuse; it is enforced anyway.
MAX_EVENTS = MAX_BYTES
STR_TAG = "tag:yaml.org,2002:str"


class YamlRefused(Exception):
    """A file that cannot be read at all: the code, 1-based position and message."""

    def __init__(self, code: str, line: int, column: int, message: str):
        super().__init__(message)
        self.code, self.line, self.column, self.message = code, line, column, message


class Scalar:
    """A scalar value with where it stands in the file."""

    __slots__ = ("value", "raw", "style", "line", "column", "start", "end")

    def __init__(self, value, raw, style, line, column, start, end):
        self.value, self.raw, self.style = value, raw, style
        self.line, self.column, self.start, self.end = line, column, start, end


class Sequence:
    """A YAML sequence with where it starts."""

    __slots__ = ("items", "line", "column")

    def __init__(self, line, column):
        self.items, self.line, self.column = [], line, column


class Mapping:
    """A YAML mapping: its pairs in order, and the first pair for each key."""

    __slots__ = ("pairs", "index", "line", "column")

    def __init__(self, line, column):
        self.pairs, self.index, self.line, self.column = [], {}, line, column

    def get(self, key):
        """Return the value node for ``key``, or None."""
        pair = self.index.get(key)
        return pair[1] if pair else None

    def key_node(self, key):
        """Return the key node for ``key``, or None."""
        pair = self.index.get(key)
        return pair[0] if pair else None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A key that a mapping has more than once: the later key node."""

    key: Scalar


@dataclass(frozen=True, slots=True)
class Document:
    """The root node of a file, its text, and the duplicate keys found."""

    root: object
    text: str
    duplicates: tuple[Duplicate, ...]
    complex_keys: tuple[object, ...]


_resolver = Resolver()
_constructor = SafeConstructor()


def decode(data: bytes) -> str:
    """Decode UTF-8 (a byte-order mark allowed), or refuse with the bad byte's position."""
    if len(data) > MAX_BYTES:
        raise YamlRefused(
            "too-large",
            1,
            1,
            f"the file is {len(data):,} bytes; the limit is "
            f"{MAX_BYTES:,} bytes (1 MiB): split it into smaller scenarios",
        )
    if looks_utf16(data):
        raise YamlRefused(
            "yaml-syntax", 1, 1, "the file is UTF-16 text, not UTF-8: save it with UTF-8 encoding"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise YamlRefused(
            "yaml-syntax",
            line,
            column,
            "the file is not UTF-8 text (perhaps Windows-1252 or Latin-1): save it with UTF-8 "
            f"encoding (the decoder said: byte 0x{data[exc.start]:02X}: {exc.reason})",
        ) from None


def looks_utf16(data: bytes) -> bool:
    """Return whether ``data`` has a UTF-16 byte-order mark, or zero bytes between letters.

    A zero byte is never valid in YAML text, so a file whose first bytes are a quarter or
    more zeros is taken to be UTF-16 (or UTF-32) without its byte-order mark.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    sample = data[:512]
    return sample.count(0) * 4 >= len(sample) > 0


def scalar_value(event: events.ScalarEvent):
    """Return the value of a scalar as PyYAML's safe loader would construct it."""
    if not event.implicit[0]:
        return event.value
    tag = _resolver.resolve(ScalarNode, event.value, event.implicit)
    if tag == STR_TAG or tag not in _constructor.yaml_constructors:
        return event.value  # the merge key '<<' is kept as text, an unknown key
    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark)
    try:
        return _constructor.yaml_constructors[tag](_constructor, node)
    except (ValueError, OverflowError) as exc:  # PyYAML's loaders stop here with a traceback
        line, column = _position(event.start_mark)
        kind = tag.rsplit(":", 1)[-1]
        raise YamlRefused(
            "yaml-syntax",
            line,
            column,
            f"YAML reads '{event.value}' as a "
            f"{kind} but it is not a valid one ({exc}): put it in quotes",
        ) from None


def line_column(text: str, index: int) -> tuple[int, int]:
    """Return the 1-based line and column of the character at ``index`` in ``text``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _position(mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _refuse_unsafe(event) -> None:
    """Refuse an anchor, alias or explicit tag at the event that carries it."""
    line, column = _position(event.start_mark)
    if isinstance(event, events.AliasEvent):
        raise YamlRefused(
            "unsafe-yaml",
            line,
            column,
            f"alias '*{event.anchor}' is not allowed: write the value out in full",
        )
    if getattr(event, "anchor", None) is not None:
        raise YamlRefused(
            "unsafe-yaml", line, column, f"anchor '&{event.anchor}' is not allowed: remove it"
        )
    tag = getattr(event, "tag", None)
    if tag is not None and not (isinstance(event, events.CollectionStartEvent) and event.implicit):
        tag = tag.replace("tag:yaml.org,2002:", "!!")
        raise YamlRefused(
            "unsafe-yaml",
            line,
            column,
            f"explicit tag '{tag}' is not allowed: remove it and quote the value "
            "if it must be text",
        )


def parse(data: bytes, work: Work | None = None) -> Document:
    """Parse one YAML document into positioned nodes, refusing what is unsafe.

    Bounded: at most ``MAX_BYTES`` bytes, ``MAX_EVENTS`` parser events (counted in
    ``work``) and ``MAX_DEPTH`` levels of nesting; no anchor or alias is ever expanded.
    """
    text = decode(data)
    parser = None
    try:
        parser = _Parser(text)  # PyYAML's own reader checks the characters here
        return _build(parser, text, work if work is not None else Work())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = _position(mark) if mark else (1, 1)
        raise YamlRefused("yaml-syntax", line, column, explain(exc, text)) from None
    except yaml.reader.ReaderError as exc:
        line, column = line_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlRefused(
            "yaml-syntax",
            line,
            column,
            f"the control character U+{code:04X} is not allowed in YAML: delete it "
            f"(the parser said: unacceptable character #x{code:04x}: {exc.reason})",
        ) from None
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose:
            dispose()


def _build(parser, text: str, work: Work) -> Document:
    """Build the tree from the event stream of ``parser``."""
    stack: list = []  # open collections; for mappings, a pending key is kept beside them
    pending: list = []
    root = None
    documents = 0
    duplicates, complex_keys = [], []
    while True:
        event = parser.get_event()
        if event is None or isinstance(event, events.StreamEndEvent):
            break
        work.yaml_events += 1
        if work.yaml_events > MAX_EVENTS:
            line, column = _position(event.start_mark)
            raise YamlRefused(
                "too-large",
                line,
                column,
                f"the file has more than {MAX_EVENTS:,} YAML values and collections: "
                "split it into smaller scenarios",
            )
        if isinstance(event, events.DocumentStartEvent):
            documents += 1
            if documents > 1:
                line, column = _position(event.start_mark)
                raise YamlRefused(
                    "yaml-syntax",
                    line,
                    column,
                    "a second document ('---'): keep one scenario per file",
                )
            continue
        if isinstance(event, (events.DocumentEndEvent, events.StreamStartEvent)):
            continue
        if isinstance(event, events.CollectionEndEvent):
            node = stack.pop()
            pending.pop()
            _attach(node, stack, pending, duplicates, complex_keys)
            if not stack:
                root = node
            continue
        _refuse_unsafe(event)
        line, column = _position(event.start_mark)
        if isinstance(event, events.ScalarEvent):
            node = Scalar(
                scalar_value(event),
                event.value,
                event.style or None,
                line,
                column,
                event.start_mark.index,
                event.end_mark.index,
            )
            _attach(node, stack, pending, duplicates, complex_keys)
            if not stack:
                root = node
        elif len(stack) >= MAX_DEPTH:
            raise YamlRefused(
                "yaml-syntax",
                line,
                column,
                f"lists and mappings are nested more "
                f"than {MAX_DEPTH} deep here; a scenario needs no more than 8",
            )
        elif isinstance(event, events.MappingStartEvent):
            stack.append(Mapping(line, column))
            pending.append(None)
        elif isinstance(event, events.SequenceStartEvent):
            stack.append(Sequence(line, column))
            pending.append(None)
    return Document(root, text, tuple(duplicates), tuple(complex_keys))


_NO_KEY = object()


def _attach(node, stack, pending, duplicates, complex_keys) -> None:
    """Add a finished node to the collection open on top of the stack."""
    if not stack:
        return
    parent = stack[-1]
    if isinstance(parent, Sequence):
        parent.items.append(node)
        return
    key = pending[-1]
    if key is None:
        pending[-1] = node
        return
    pending[-1] = None
    parent.pairs.append((key, node))
    if not isinstance(key, Scalar):
        complex_keys.append(key)
        return
    try:
        if key.value in parent.index:
            duplicates.append(Duplicate(key))
        else:
            parent.index[key.value] = (key, node)
    except TypeError:  # an unhashable value cannot be a key
        complex_keys.append(key)


def plain(node):
    """Return the plain Python value of a node (the first of duplicate keys wins)."""
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Sequence):
        return [plain(item) for item in node.items]
    if isinstance(node, Mapping):
        return {key: plain(value) for key, (_, value) in node.index.items()}
    return None
