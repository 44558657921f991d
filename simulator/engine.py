"""Play and score a loaded scenario: pure, deterministic functions over plain data.

An attempt is a seed (which draws the cast row) plus the list of choice ids taken. Every
screen and every result is derived from those two, so the step log is the only record.
"""

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .scenario.model import EMPTY, Choice, Scenario


class ChoiceNotOffered(ValueError):
    """Raised when a choice is applied that the current state does not offer."""

    def __init__(self, node: str, choice_id: str):
        super().__init__(f"choice {choice_id!r} is not offered at node {node!r}")
        self.node = node
        self.choice_id = choice_id


class PlaceholderError(ValueError):
    """Raised when text has a stray brace or a placeholder the cast row lacks."""


@dataclass(frozen=True, slots=True)
class State:
    """Where an attempt stands: a node and the flags set."""

    node: str
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Start:
    """The beginning of an attempt: the cast row drawn and the start state."""

    cast_index: int | None
    state: State


@dataclass(frozen=True, slots=True)
class DimensionResult:
    """One scored dimension of a finished or partial path."""

    key: str
    label: str
    raw: int
    minimum: int
    maximum: int
    percent: int
    pass_mark: int | None
    reached: bool


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of a path, computed as the format's Scoring section defines."""

    passed: bool
    sharing_passed: bool
    failed_sharing: tuple[tuple[str, str], ...]
    dimensions: tuple[DimensionResult, ...]
    ending: str | None


def start(scenario: Scenario, seed: int) -> Start:
    """Begin an attempt: draw the cast row uniformly at random from ``seed``."""
    cast_index = random.Random(seed).randrange(len(scenario.cast)) if scenario.cast else None
    return Start(cast_index, State(scenario.start))


def cast_row(scenario: Scenario, cast_index: int | None) -> Mapping[str, str]:
    """Return the drawn cast row, or an empty mapping for a scenario without a cast."""
    return EMPTY if cast_index is None else scenario.cast[cast_index]


def offered_choices(scenario: Scenario, state: State) -> tuple[Choice, ...]:
    """Return the choices offered in ``state``, in file order."""
    node = scenario.nodes[state.node]
    return tuple(c for c in node.choices if c.when is None or c.when.holds(state.flags))


def apply_choice(scenario: Scenario, state: State, choice_id: str) -> State:
    """Take the offered choice ``choice_id``: set, then clear, flags and move on."""
    for choice in offered_choices(scenario, state):
        if choice.id == choice_id:
            return State(choice.next, (state.flags | choice.set) - choice.clear)
    raise ChoiceNotOffered(state.node, choice_id)


def is_ending(scenario: Scenario, state: State) -> bool:
    """Return whether ``state`` is at an ending."""
    return scenario.nodes[state.node].is_ending


def walk(scenario: Scenario, choice_ids: Iterable[str]) -> list[tuple[State, Choice]]:
    """Replay ``choice_ids`` from the start; return each state with the choice taken there."""
    state, taken = State(scenario.start), []
    for choice_id in choice_ids:
        choice = next((c for c in offered_choices(scenario, state) if c.id == choice_id), None)
        if choice is None:
            raise ChoiceNotOffered(state.node, choice_id)
        taken.append((state, choice))
        state = State(choice.next, (state.flags | choice.set) - choice.clear)
    return taken


def replay(scenario: Scenario, choice_ids: Sequence[str]) -> State:
    """Return the state reached by taking ``choice_ids`` from the start."""
    taken = walk(scenario, choice_ids)
    if not taken:
        return State(scenario.start)
    last_state, last_choice = taken[-1]
    return State(last_choice.next, (last_state.flags | last_choice.set) - last_choice.clear)


def fill(text: str, row: Mapping[str, str]) -> str:
    """Fill ``{key}`` placeholders from ``row``; ``{{`` and ``}}`` give literal braces."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            out.append("{")
            i += 2
        elif ch == "}" and text.startswith("}}", i):
            out.append("}")
            i += 2
        elif ch == "{":
            close = text.find("}", i)
            key = text[i + 1 : close] if close != -1 else None
            if key is None or key not in row:
                raise PlaceholderError(
                    f"no cast value for placeholder at {i}: {text[i : i + 20]!r}"
                )
            out.append(row[key])
            i = close + 1
        elif ch == "}":
            raise PlaceholderError(f"unmatched '}}' at {i}")
        else:
            j = min((k for k in (text.find("{", i), text.find("}", i)) if k != -1), default=n)
            out.append(text[i:j])
            i = j
    return "".join(out)


def percent(raw: int, minimum: int, maximum: int) -> int:
    """Return ``floor(100 * (raw - minimum) / (maximum - minimum))``, or 100 if they are equal."""
    if maximum == minimum:
        return 100
    return (100 * (raw - minimum)) // (maximum - minimum)


def result(scenario: Scenario, choice_ids: Sequence[str]) -> Result:
    """Score the path ``choice_ids`` as the format's Scoring section defines.

    Each dimension's raw score is the sum of its ``score`` along the path; its percent is
    placed between the minimum and maximum raw scores over all complete paths (the
    validator's ``score_bounds``). The sharing criterion passes when no choice on the path
    is ``inappropriate``; the attempt passes when that criterion passes and every
    dimension with a pass mark reaches it. A path that has not reached an ending is scored
    the same way, and its ``ending`` is None.
    """
    taken = walk(scenario, choice_ids)
    raw = dict.fromkeys(scenario.dimensions, 0)
    failed = []
    for state, choice in taken:
        for key, points in choice.score.items():
            raw[key] += points
        if choice.inappropriate:
            failed.append((state.node, choice.id))
    dimensions = tuple(_dimension(scenario, key, raw[key]) for key in scenario.dimensions)
    final = replay(scenario, choice_ids)
    sharing_passed = not failed
    return Result(
        passed=sharing_passed and all(d.reached for d in dimensions),
        sharing_passed=sharing_passed,
        failed_sharing=tuple(failed),
        dimensions=dimensions,
        ending=final.node if is_ending(scenario, final) else None,
    )


def _dimension(scenario: Scenario, key: str, raw: int) -> DimensionResult:
    """Score one dimension's raw total against its bounds and pass mark."""
    minimum, maximum = scenario.score_bounds.get(key, (0, 0))
    mark = scenario.pass_marks.get(key)
    pct = percent(raw, minimum, maximum)
    return DimensionResult(
        key=key,
        label=scenario.dimensions[key],
        raw=raw,
        minimum=minimum,
        maximum=maximum,
        percent=pct,
        pass_mark=mark,
        reached=mark is None or pct >= mark,
    )
