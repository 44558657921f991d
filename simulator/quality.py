"""How well a scenario measures judgement rather than position or length: pure functions.

Used by ``tests/test_library.py`` and ``scripts/library_report.py``. A decision's options
fall into classes, per reachable state where they are offered together: ``share`` (an
inappropriate share), ``critical``, ``dominated`` (another option offered with it that
fails nothing scores at least as well in every dimension and better in one) and ``best``
(the rest). These classes need no path, unlike ``engine.Judge``'s verdicts.
"""

import dataclasses
import random
from collections.abc import Callable

from . import engine
from .scenario.explore import Graph, analyse
from .scenario.model import Choice, Scenario

STRATEGIES = ("first", "last", "longest", "shortest")


def shown_length(scenario: Scenario, choice: Choice) -> int:
    """Return the length of a choice's text with the longest cast values filled in."""
    rows = scenario.cast or ({},)
    return max(len(engine.fill(choice.text, row)) for row in rows)


def option_class(choice: Choice, offered, dimensions) -> str:
    """Return the class of one option among those offered with it (see the module)."""
    if choice.inappropriate:
        return "share"
    if choice.critical:
        return "critical"
    for other in offered:
        if other is not choice and not other.fails:
            pairs = [(other.score.get(d, 0), choice.score.get(d, 0)) for d in dimensions]
            if all(o >= c for o, c in pairs) and any(o > c for o, c in pairs):
                return "dominated"
    return "best"


def decision_offers(scenario: Scenario) -> dict[str, list[tuple[Choice, ...]]]:
    """Return, per decision node, each distinct set of choices offered there (file order)."""
    return {
        node_id: [offered for _, offered in states]
        for node_id, states in decision_states(scenario).items()
    }


def decision_states(scenario: Scenario) -> dict[str, list[tuple[engine.State, tuple]]]:
    """Return, per decision node, a reachable state for each distinct set of choices offered."""
    graph = Graph(scenario)
    graph.explore()
    found: dict[str, list[tuple[engine.State, tuple]]] = {}
    node_ids = graph.node_ids
    for number, node_index in enumerate(graph.state_node):
        node_id = node_ids[node_index]
        if scenario.nodes[node_id].kind != "decision":
            continue
        state = engine.State(node_id, _flags(graph, graph.state_flags[number]))
        offered = engine.offered_choices(scenario, state)
        known = found.setdefault(node_id, [])
        if all(offered != other for _, other in known):
            known.append((state, offered))
    return found


def _flags(graph: Graph, mask: int) -> frozenset[str]:
    """Return the flag names set in a state's bit mask."""
    return frozenset(name for name, bit in graph.flag_bits.items() if mask & bit)


def option_classes(scenario: Scenario) -> dict[str, list[tuple[Choice, str, int]]]:
    """Return, per decision node, each choice with its class and its length rank (1 longest).

    Where a node offers different sets in different states, a choice's class is its best
    over them.
    """
    order = ("best", "dominated", "critical", "share")
    result = {}
    for node_id, offers in decision_offers(scenario).items():
        classes: dict[str, str] = {}
        for offered in offers:
            for choice in offered:
                kind = option_class(choice, offered, scenario.dimensions)
                old = classes.get(choice.id, "share")
                classes[choice.id] = min(kind, old, key=order.index)
        choices = scenario.nodes[node_id].choices
        lengths = sorted({shown_length(scenario, c) for c in choices}, reverse=True)
        result[node_id] = [
            (c, classes[c.id], lengths.index(shown_length(scenario, c)) + 1)
            for c in choices
            if c.id in classes
        ]
    return result


def best_is_longest(scenario: Scenario) -> tuple[int, int]:
    """Return in how many decisions the longest option is a best one, and how many there are.

    A decision counts when, in some set of options it offers that is not all best, the
    single longest option (cast values filled in, longest row) is a best option.
    """
    offers = decision_offers(scenario)
    count = 0
    for offered in offers.values():
        for options in offered:
            classes = [option_class(c, options, scenario.dimensions) for c in options]
            if all(k == "best" for k in classes):
                continue
            lengths = [shown_length(scenario, c) for c in options]
            longest = max(lengths)
            if lengths.count(longest) == 1 and classes[lengths.index(longest)] == "best":
                count += 1
                break
    return count, len(offers)


def play(scenario: Scenario, pick: Callable, limit: int = 10_000) -> engine.Result | None:
    """Play from the start, picking each choice with ``pick(offered)``; None if it never ends."""
    state, ids = engine.State(scenario.start), []
    while not engine.is_ending(scenario, state):
        if len(ids) >= limit:
            return None
        choice = pick(engine.offered_choices(scenario, state), state)
        ids.append(choice.id)
        state = engine.apply_choice(scenario, state, choice.id)
    return engine.result(scenario, ids)


def strategy_results(scenario: Scenario) -> dict[str, bool]:
    """Return, per fixed-position strategy in file order, whether it passes for some cast row.

    Ties in length go to the option first in the file.
    """
    rows = scenario.cast or ({},)
    results = {}
    for name in STRATEGIES:
        passed = False
        for row in rows if name in ("longest", "shortest") else rows[:1]:
            played = play(scenario, _picker(name, row))
            passed = passed or (played is not None and played.passed)
        results[name] = passed
    return results


def _picker(name: str, row) -> Callable:
    """Return the choosing function of one fixed-position strategy."""
    if name == "first":
        return lambda offered, _state: offered[0]
    if name == "last":
        return lambda offered, _state: offered[-1]

    def length(choice):
        return len(engine.fill(choice.text, row))

    if name == "longest":
        return lambda offered, _state: max(offered, key=length)
    return lambda offered, _state: min(offered, key=length)


def always_first_shuffled(scenario: Scenario, seed: int) -> bool:
    """Return whether always taking the first option shown, in the attempt ``seed``, passes."""

    def first(offered, state):
        return engine.shown_choices(scenario, state, seed, engine.SHUFFLED)[0]

    played = play(scenario, first)
    return played is not None and played.passed


def uniform_pass_rate(scenario: Scenario) -> float:
    """Return the exact probability that uniformly random play passes.

    Each offered choice is taken with equal probability; a memo over (state, raw scores
    so far) keeps it exact without enumerating paths. Scenarios with cycles of states
    fall back to 20,000 seeded random walks.
    """
    dims = list(scenario.dimensions)
    memo: dict = {}

    def chance(state, raw, depth):
        if depth > 4 * len(scenario.nodes) * (1 << len(scenario.flags)):
            raise RecursionError
        if engine.is_ending(scenario, state):
            return float(_reaches_marks(scenario, dict(zip(dims, raw, strict=True))))
        key = (state, raw)
        if key not in memo:
            offered = engine.offered_choices(scenario, state)
            total = 0.0
            for choice in offered:
                if choice.fails:
                    continue  # no path through a failing choice passes: it adds nothing
                after = engine.apply_choice(scenario, state, choice.id)
                gained = tuple(r + choice.score.get(d, 0) for r, d in zip(raw, dims, strict=True))
                total += chance(after, gained, depth + 1)
            memo[key] = total / len(offered)
        return memo[key]

    try:
        return chance(engine.State(scenario.start), (0,) * len(dims), 0)
    except RecursionError:
        rng = random.Random(0)
        walks = 20_000
        wins = 0
        for _ in range(walks):
            played = play(scenario, lambda offered, _state: rng.choice(offered))
            wins += played is not None and played.passed
        return wins / walks


def _reaches_marks(scenario: Scenario, raw: dict[str, int]) -> bool:
    """Return whether raw scores reach every pass mark."""
    for dim, mark in scenario.pass_marks.items():
        low, high = scenario.score_bounds[dim]
        if engine.percent(raw[dim], low, high) < mark:
            return False
    return True


def passes_avoiding_proper_shares(scenario: Scenario) -> bool | None:
    """Return whether a passing path avoids every proper share; None if there is none.

    The proper shares (``sharing: appropriate``) are made failing choices, and the
    validator's own passability search is asked again.
    """
    proper = [c for n in scenario.nodes.values() for c in n.choices if c.sharing == "appropriate"]
    if not proper:
        return None
    nodes = {
        key: dataclasses.replace(
            node,
            choices=tuple(
                dataclasses.replace(c, critical=True) if c.sharing == "appropriate" else c
                for c in node.choices
            ),
        )
        for key, node in scenario.nodes.items()
    }
    stats, _ = analyse(dataclasses.replace(scenario, nodes=nodes))
    return bool(stats.passable)
