"""Build the immutable ``Scenario`` from a file's validated plain data."""

from pathlib import Path

from .model import (
    Choice,
    Condition,
    Ending,
    Image,
    Node,
    Reference,
    Scenario,
    frozen_mapping,
)
from .schema import REVISION


def build(data: dict, base_dir: Path | None, digest: str, revision: int = REVISION) -> Scenario:
    """Return the scenario described by ``data``, which has passed every form check."""
    return Scenario(
        id=data["id"],
        title=data["title"],
        summary=data["summary"],
        version=data["version"],
        start=data["start"],
        nodes=frozen_mapping((key, _node(key, value)) for key, value in data["nodes"].items()),
        minutes=data.get("minutes"),
        audience=tuple(data.get("audience", ("recruit", "cpd"))),
        objectives=tuple(data.get("objectives", ())),
        dimensions=frozen_mapping(data.get("dimensions", {})),
        pass_marks=frozen_mapping(data.get("pass_marks", {})),
        references=frozen_mapping(
            (key, Reference(key=key, **value)) for key, value in data.get("references", {}).items()
        ),
        cast=tuple(frozen_mapping(row) for row in data.get("cast", ())),
        flags=tuple(data.get("flags", ())),
        base_dir=base_dir,
        digest=digest,
        revision=revision,
    )


def _node(key: str, data: dict) -> Node:
    """Return one node; a step gets its single Continue choice."""
    image = Image(**data["image"]) if "image" in data else None
    common = {"id": key, "text": data.get("text"), "speaker": data.get("speaker"), "image": image}
    if "end" in data:
        return Node(kind="ending", end=Ending(**data["end"]), **common)
    if "next" in data:
        return Node(kind="step", choices=(Choice("continue", "Continue", data["next"]),), **common)
    return Node(
        kind="decision",
        rationale=data.get("rationale", "none"),
        ndm=data.get("ndm"),
        order=data.get("order", "shuffled"),
        choices=tuple(_choice(c) for c in data["choices"]),
        **common,
    )


def _choice(data: dict) -> Choice:
    """Return one choice."""
    when = data.get("when")
    return Choice(
        id=data["id"],
        text=data["text"],
        next=data["next"],
        when=Condition(
            frozenset(when.get("all", ())),
            frozenset(when.get("any", ())),
            frozenset(when.get("none", ())),
        )
        if when
        else None,
        set=frozenset(data.get("set", ())),
        clear=frozenset(data.get("clear", ())),
        score=frozen_mapping(data.get("score", {})),
        sharing=data.get("sharing"),
        critical=data.get("critical", False),
        feedback=data.get("feedback"),
        refs=tuple(data.get("refs", ())),
    )
