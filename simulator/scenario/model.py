"""The loaded scenario: plain, immutable data that knows nothing of Flask or YAML."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

EMPTY: Mapping = MappingProxyType({})


def frozen_mapping(items) -> Mapping:
    """Return a read-only mapping of ``items``, keeping their order."""
    return MappingProxyType(dict(items))


@dataclass(frozen=True, slots=True)
class Reference:
    """A piece of guidance that feedback cites."""

    key: str
    title: str
    source: str | None = None
    url: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Image:
    """A picture shown with a node; ``src`` is relative to the scenario's folder."""

    src: str
    alt: str


@dataclass(frozen=True, slots=True)
class Condition:
    """When a choice is offered: all of ``all``, one of ``any`` (if given), none of ``none``."""

    all: frozenset[str] = frozenset()
    any: frozenset[str] = frozenset()
    none: frozenset[str] = frozenset()

    def holds(self, flags: frozenset[str] | set[str]) -> bool:
        """Return whether the condition holds for the set ``flags``."""
        return (
            self.all <= flags
            and (not self.any or not self.any.isdisjoint(flags))
            and self.none.isdisjoint(flags)
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """An option offered at a decision (or the Continue of a step)."""

    id: str
    text: str
    next: str
    when: Condition | None = None
    set: frozenset[str] = frozenset()
    clear: frozenset[str] = frozenset()
    score: Mapping[str, int] = field(default_factory=lambda: EMPTY)
    sharing: str | None = None
    critical: bool = False
    feedback: str | None = None
    refs: tuple[str, ...] = ()

    @property
    def inappropriate(self) -> bool:
        """Return whether this choice shares immigration information inappropriately."""
        return self.sharing == "inappropriate"

    @property
    def fails(self) -> bool:
        """Return whether taking this choice fails the attempt whatever the points."""
        return self.critical or self.inappropriate


@dataclass(frozen=True, slots=True)
class Ending:
    """How an ending is labelled and debriefed."""

    outcome: str
    debrief: str


@dataclass(frozen=True, slots=True)
class Node:
    """A decision, a step or an ending."""

    id: str
    kind: str  # "decision", "step" or "ending"
    text: str | None = None
    speaker: str | None = None
    image: Image | None = None
    rationale: str = "none"
    ndm: str | None = None
    order: str = "shuffled"  # "shuffled" or "fixed"; steps and endings have one or no choice
    choices: tuple[Choice, ...] = ()
    end: Ending | None = None

    @property
    def is_ending(self) -> bool:
        """Return whether reaching this node ends play."""
        return self.kind == "ending"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole scenario, as loaded from one valid file."""

    id: str
    title: str
    summary: str
    version: int
    start: str
    nodes: Mapping[str, Node]
    minutes: int | None = None
    audience: tuple[str, ...] = ("recruit", "cpd")
    objectives: tuple[str, ...] = ()
    dimensions: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    pass_marks: Mapping[str, int] = field(default_factory=lambda: EMPTY)
    references: Mapping[str, Reference] = field(default_factory=lambda: EMPTY)
    cast: tuple[Mapping[str, str], ...] = ()
    flags: tuple[str, ...] = ()
    score_bounds: Mapping[str, tuple[int, int]] = field(default_factory=lambda: EMPTY)
    base_dir: Path | None = None
    digest: str = field(default="", compare=False)
    revision: int = 2  # the revision of format 1 whose rules it was accepted by
