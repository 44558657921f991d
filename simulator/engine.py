"""Play and score a loaded scenario: pure, deterministic functions over plain data.

An attempt is a seed (which draws the cast row and the order of choices) plus the list of
choice ids taken. Every screen and every result is derived from those two, so the step log
is the only record. The definitions every later feature reads (a choice's verdict, an
attempt's grade, time to decide) live here too, each with its rules in its docstring.
"""

import hashlib
import random
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .scenario.explore import STATE_LIMIT, Analysis, Graph
from .scenario.model import EMPTY, Choice, Scenario
from .scenario.passable import PassingSearch

# How an attempt orders the choices it shows, recorded on the attempt: attempts on versions
# stored before revision 2 of the format show file order; from revision 2, shuffled.
FILE_ORDER = "file"
SHUFFLED = "shuffled"
ORDER_RULES = (FILE_ORDER, SHUFFLED)


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
    critical_errors: tuple[tuple[str, str], ...] = ()
    grade: int = 0


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


def order_rule(scenario: Scenario) -> str:
    """Return the order rule a new attempt on ``scenario`` uses: shuffled from revision 2."""
    return SHUFFLED if scenario.revision >= 2 else FILE_ORDER


def shown_choices(scenario: Scenario, state: State, seed: int, rule: str) -> tuple[Choice, ...]:
    """Return the choices offered in ``state`` in the order the attempt shows them.

    Under the ``shuffled`` rule a decision whose ``order`` is not ``fixed`` shows its
    offered choices sorted by a SHA-256 hash of the attempt's seed, the node id and each
    choice id: a uniformly drawn order that is the same on every reload, resume and
    process, differs between attempts, and keeps any two choices in the same relative
    order whichever others ``when`` offers beside them. Under ``file`` (versions stored
    before revision 2), and on fixed decisions, the order is the file's.
    """
    offered = offered_choices(scenario, state)
    if rule == FILE_ORDER or scenario.nodes[state.node].order == "fixed" or len(offered) < 2:
        return offered
    return tuple(sorted(offered, key=lambda c: _order_key(seed, state.node, c.id)))


def _order_key(seed: int, node_id: str, choice_id: str) -> bytes:
    """Return the sort key of one choice in one attempt's order."""
    return hashlib.sha256(f"{seed}\x1f{node_id}\x1f{choice_id}".encode()).digest()


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
    global _latest_walk
    path = tuple(choice_ids)
    latest = _latest_walk  # a step's request replays the same path several times
    if latest is not None and latest[0] is scenario and latest[1] == path:
        return list(latest[2])
    state, taken, nodes = State(scenario.start), [], scenario.nodes
    for choice_id in path:
        # Choice ids are unique within a node: find the one taken, then ask if it was offered.
        choice = next((c for c in nodes[state.node].choices if c.id == choice_id), None)
        if choice is None or not (choice.when is None or choice.when.holds(state.flags)):
            raise ChoiceNotOffered(state.node, choice_id)
        taken.append((state, choice))
        state = State(choice.next, (state.flags | choice.set) - choice.clear)
    _latest_walk = (scenario, path, tuple(taken))  # one assignment: safe between threads
    return taken


# The latest walk (scenario, path, its states and choices), kept for `walk` to answer again.
_latest_walk = None


def replay(scenario: Scenario, choice_ids: Sequence[str]) -> State:
    """Return the state reached by taking ``choice_ids`` from the start."""
    taken = walk(scenario, choice_ids)
    if not taken:
        return State(scenario.start)
    last_state, last_choice = taken[-1]
    return State(last_choice.next, (last_state.flags | last_choice.set) - last_choice.clear)


# In a text to fill: a doubled brace, a placeholder (up to the next closing brace), or a
# brace left over, which is an error.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^}]*)\}|[{}]")


def fill(text: str, row: Mapping[str, str]) -> str:
    """Fill ``{key}`` placeholders from ``row``; ``{{`` and ``}}`` give literal braces."""
    if "{" not in text and "}" not in text:
        return text

    def replace(match):
        token, at = match.group(0), match.start()
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if token == "}":
            raise PlaceholderError(f"unmatched '}}' at {at}")
        key = match.group(1)
        if key is None or key not in row:  # no closing brace, or no such cast value
            raise PlaceholderError(
                f"no cast value for placeholder at {at}: {text[at : at + 20]!r}"
            )
        return row[key]

    return PLACEHOLDER.sub(replace, text)


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
    is ``inappropriate``; the critical errors are its ``critical`` choices that are not
    inappropriate (those the sharing criterion already reports). The attempt passes when
    the sharing criterion passes, there is no critical error, and every dimension with a
    pass mark reaches it. The grade is ``grade``'s. A path that has not reached an ending
    is scored the same way, and its ``ending`` is None.
    """
    taken = walk(scenario, choice_ids)
    raw = dict.fromkeys(scenario.dimensions, 0)
    failed, critical = [], []
    for state, choice in taken:
        for key, points in choice.score.items():
            raw[key] += points
        if choice.inappropriate:
            failed.append((state.node, choice.id))
        elif choice.critical:
            critical.append((state.node, choice.id))
    dimensions = tuple(_dimension(scenario, key, raw[key]) for key in scenario.dimensions)
    final = replay(scenario, choice_ids)
    sharing_passed = not failed
    return Result(
        passed=sharing_passed and not critical and all(d.reached for d in dimensions),
        sharing_passed=sharing_passed,
        failed_sharing=tuple(failed),
        dimensions=dimensions,
        ending=final.node if is_ending(scenario, final) else None,
        critical_errors=tuple(critical),
        grade=grade(sharing_passed, bool(critical), dimensions),
    )


def grade(sharing_passed: bool, critical: bool, dimensions: Sequence[DimensionResult]) -> int:
    """Return an attempt's grade: one number from 0 to 100, for ranking and for LMS grades.

    It is 0 when the sharing criterion fails or a critical error was taken; otherwise the
    lowest dimension percent, or 100 when the scenario scores no dimension. Whether the
    attempt passed is ``Result.passed``: a grade of 90 can fail a mark of 95.
    """
    if not sharing_passed or critical:
        return 0
    return min((d.percent for d in dimensions), default=100)


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


def time_to_decide(chosen_at: datetime, shown_at: datetime | None, before: datetime) -> int:
    """Return the milliseconds a person took over one step, never less than 0.

    It runs from when the node was first shown for that step (``shown_at``) to the
    choice, so reading the previous step's feedback is not counted. Where the showing was
    not recorded, it runs from ``before``: the previous choice, or the attempt's start.
    """
    since = shown_at if shown_at is not None and shown_at <= chosen_at else before
    return max(0, int((chosen_at - since).total_seconds() * 1000))


# --------------------------------------------------------------------------- verdicts

INAPPROPRIATE_SHARE = "inappropriate share"
CRITICAL = "critical"
COSTS_THE_PASS = "costs the pass"
BETTER_AVAILABLE = "better available"
GOOD = "good"
VERDICTS = (INAPPROPRIATE_SHARE, CRITICAL, COSTS_THE_PASS, BETTER_AVAILABLE, GOOD)


@dataclass(frozen=True, slots=True)
class Judged:
    """One choice of a path with its verdict, and the verdict of each option offered there."""

    state: State
    choice: Choice
    verdict: str
    offered: tuple[tuple[Choice, str], ...]  # file order; what each option would have been


class Judge:
    """Knows, for a scenario, from which states and points a passing ending can be reached.

    Built once per scenario (``judge_for`` keeps them): it explores the states and
    computes, per strongly connected component, the capped Pareto front of the scores
    still to come over ways that take no failing choice (``PassingSearch.fronts``).
    """

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        graph = Graph(scenario)
        graph.explore(STATE_LIMIT)  # a playable scenario passed validation under this limit
        self.analysis = Analysis(graph)
        search = PassingSearch(self.analysis, dict(scenario.score_bounds))
        needs = search.needs()
        self.dims = list(needs)
        self.need = tuple(needs[d] for d in self.dims)
        self.fronts = search.fronts(self.dims, self.need)
        self._steps = None
        self._latest = None  # (path, its last choice judged), for `judge_last`

    def steps_left(self, state: State) -> tuple[int, int | None]:
        """Return the fewest and most steps from ``state`` to an ending (most None: unbounded)."""
        if self._steps is None:
            self._steps = self._steps_to_end()
        number = self.analysis.state_of(state.node, state.flags)
        if number is None:
            return 0, 0
        return self._steps[self.analysis.component[number]]

    def _steps_to_end(self) -> list[tuple[int, int | None]]:
        """Return, per component, the fewest and most steps to an ending."""
        analysis = self.analysis
        steps: list = [None] * analysis.count
        for comp in range(analysis.count):
            if not analysis.can_end[comp] or analysis.is_ending_comp(comp):
                steps[comp] = (0, 0)
                continue
            ways = [steps[target] for target, _ in analysis.successors(comp)]
            fewest = 1 + min(w[0] for w in ways)
            longest = [w[1] for w in ways]
            unbounded = analysis.cyclic[comp] or None in longest
            steps[comp] = (fewest, None if unbounded else 1 + max(longest))
        return steps

    def can_pass(self, state: State, raw: Mapping[str, int]) -> bool:
        """Return whether, at ``state`` with the raw scores ``raw`` so far, a pass is reachable.

        The path so far must take no failing choice; the caller knows that.
        """
        number = self.analysis.state_of(state.node, state.flags)
        if number is None:
            return False
        front = self.fronts[self.analysis.component[number]]
        acc = tuple(raw.get(d, 0) for d in self.dims)
        return any(
            all(a + v >= n for a, v, n in zip(acc, vector, self.need, strict=True))
            for vector in front or ()
        )

    def judge(self, choice_ids: Sequence[str]) -> list[Judged]:
        """Return the verdict of each choice on the path, and of the options beside it.

        A choice's verdict, in the state where it was taken and given the points so far,
        is the first that applies of:

        - ``inappropriate share``: it is ``sharing: inappropriate``;
        - ``critical``: it is ``critical: true``;
        - ``costs the pass``: before it a passing ending could still be reached, and after
          it none can (a search from that state with the points so far);
        - ``better available``: another option offered there that fails nothing scores
          higher in some dimension and no lower in any;
        - ``good``: otherwise.

        Steps (a single Continue) are judged too, and are always good unless they cost
        the pass, which a step never does on its own.
        """
        raw = dict.fromkeys(self.scenario.dimensions, 0)
        failed = False
        judged = []
        for state, choice in walk(self.scenario, choice_ids):
            judged.append(self._judged(state, raw, failed, choice))
            for key, points in choice.score.items():
                raw[key] += points
            failed = failed or choice.fails
        return judged

    def judge_last(self, choice_ids: Sequence[str]) -> Judged:
        """Return the last choice of a path judged: ``judge(choice_ids)[-1]``, without
        judging the choices before it (their points and failures still count).

        A step's request judges only the choice just taken, so its cost grows with the
        path's length by a replay alone, not by a search at every step.
        """
        path = tuple(choice_ids)
        latest = self._latest  # a step's request asks twice: to record it, to describe it
        if latest is not None and latest[0] == path:
            return latest[1]
        taken = walk(self.scenario, path)
        if not taken:
            raise ValueError("an empty path has no last choice to judge")
        raw = dict.fromkeys(self.scenario.dimensions, 0)
        failed = False
        for _state, choice in taken[:-1]:
            for key, points in choice.score.items():
                raw[key] += points
            failed = failed or choice.fails
        state, choice = taken[-1]
        judged = self._judged(state, raw, failed, choice)
        self._latest = (path, judged)  # one assignment: safe between threads
        return judged

    def _judged(self, state, raw, failed, choice) -> Judged:
        """Judge one choice taken at ``state`` with the points ``raw`` so far, and the
        options beside it; ``failed`` says whether the path before it took a failing choice."""
        offered = offered_choices(self.scenario, state)
        could = not failed and self.can_pass(state, raw)
        options = tuple(
            (option, self._verdict(state, raw, could, option, offered)) for option in offered
        )
        verdict = next(v for option, v in options if option.id == choice.id)
        return Judged(state, choice, verdict, options)

    def _verdict(self, state, raw, could, choice, offered) -> str:
        """Return one option's verdict (see ``judge``)."""
        if choice.inappropriate:
            return INAPPROPRIATE_SHARE
        if choice.critical:
            return CRITICAL
        if could:
            after = State(choice.next, (state.flags | choice.set) - choice.clear)
            gained = {k: raw.get(k, 0) + choice.score.get(k, 0) for k in raw}
            if not self.can_pass(after, gained):
                return COSTS_THE_PASS
        dims = self.scenario.dimensions
        if any(not other.fails and _dominates(other, choice, dims) for other in offered):
            return BETTER_AVAILABLE
        return GOOD


def _dominates(other: Choice, choice: Choice, dimensions) -> bool:
    """Return whether ``other`` scores at least as well everywhere and better somewhere."""
    pairs = [(other.score.get(d, 0), choice.score.get(d, 0)) for d in dimensions]
    return all(o >= c for o, c in pairs) and any(o > c for o, c in pairs)


_judges: dict[int, tuple[Scenario, Judge]] = {}
_judges_lock = threading.Lock()
JUDGES_KEPT = 64


def judge_for(scenario: Scenario) -> Judge:
    """Return the scenario's Judge, building it once per process for each scenario kept."""
    key = id(scenario)
    with _judges_lock:
        kept = _judges.get(key)
        if kept is not None and kept[0] is scenario:
            return kept[1]
    judge = Judge(scenario)
    with _judges_lock:
        if len(_judges) >= JUDGES_KEPT:
            _judges.pop(next(iter(_judges)))
        _judges[key] = (scenario, judge)
    return judge


def verdicts(scenario: Scenario, choice_ids: Sequence[str]) -> list[Judged]:
    """Return the verdict of each choice on the path ``choice_ids`` (see ``Judge.judge``)."""
    return judge_for(scenario).judge(choice_ids)


def last_verdict(scenario: Scenario, choice_ids: Sequence[str]) -> Judged:
    """Return the last choice of a non-empty path judged (see ``Judge.judge_last``)."""
    return judge_for(scenario).judge_last(choice_ids)


def steps_left(scenario: Scenario, state: State) -> tuple[int, int | None]:
    """Return the fewest and most steps still to take from ``state`` to an ending.

    The most is None where a cycle of states can be repeated on the way.
    """
    return judge_for(scenario).steps_left(state)
