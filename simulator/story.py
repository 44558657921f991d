"""A scenario read for analytics: its story order, its texts, its best path, an attempt.

Pure: no Flask, no database. Decisions are listed in story order (each node after every
node that leads to it), their texts as plain excerpts with placeholders by name, and
one attempt is set beside the best option at each decision and its cohort's choice.
"""

import heapq
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import partial

from . import engine

EXCERPT_LENGTH = 160
SEVERITY = list(engine.VERDICTS)  # most serious first


MARKUP = re.compile(r"[*_`#>]+")


@dataclass(frozen=True)
class Outline:
    """What analytics reads of a scenario, worked out once per scenario (`outline`)."""

    order: tuple[str, ...]  # story order
    decisions: tuple[str, ...]  # the decision nodes, in story order
    loop: bool
    excerpts: dict  # node id -> excerpt, placeholders by name
    options: dict  # (node id, choice id) -> text, placeholders by name
    outcomes: dict  # ending id -> outcome, placeholders by name


def outline(scenario):
    """Return the scenario's outline, kept while the scenario lives."""
    return kept(_outlines, id(scenario), scenario, partial(_outline, scenario))


def _outline(scenario):
    """Work out a scenario's outline."""
    order = _story_order(scenario)
    row = neutral_row(scenario)
    nodes = scenario.nodes
    return Outline(
        order=tuple(order),
        decisions=tuple(n for n in order if nodes[n].kind == "decision"),
        loop=_has_loop(scenario, order),
        excerpts={n: excerpt(node.text, row) for n, node in nodes.items()},
        options={
            (n, c.id): " ".join(filled(c.text, row).split())
            for n, node in nodes.items()
            for c in node.choices
        },
        outcomes={n: filled(node.end.outcome, row) for n, node in nodes.items() if node.end},
    )


def story_order(scenario):
    """Return the node ids reachable from the start, each after every node leading to it.

    Ties keep the file's order; where a loop makes that impossible, the earliest node
    in the file not yet placed comes next.
    """
    return list(outline(scenario).order)


def _story_order(scenario):
    """Work out the story order (see `story_order`)."""
    nodes = scenario.nodes
    position = {node_id: i for i, node_id in enumerate(nodes)}
    reachable = _reachable(scenario)
    waiting = Counter(c.next for n in reachable for c in nodes[n].choices if c.next in reachable)
    ready = [(position[scenario.start], scenario.start)]
    placed, order = set(), []
    while len(order) < len(reachable):
        if not ready:
            rest = min((n for n in reachable if n not in placed), key=position.get)
            ready.append((position[rest], rest))
        _, node_id = heapq.heappop(ready)
        if node_id in placed:
            continue
        placed.add(node_id)
        order.append(node_id)
        for choice in nodes[node_id].choices:
            waiting[choice.next] -= 1
            if waiting[choice.next] <= 0 and choice.next not in placed:
                heapq.heappush(ready, (position[choice.next], choice.next))
    return order


def _reachable(scenario):
    """Return the ids of the nodes reachable from the start."""
    seen, stack = {scenario.start}, [scenario.start]
    while stack:
        for choice in scenario.nodes[stack.pop()].choices:
            if choice.next not in seen:
                seen.add(choice.next)
                stack.append(choice.next)
    return seen


def has_loop(scenario):
    """Say whether some node can be reached again after leaving it."""
    return outline(scenario).loop


def _has_loop(scenario, story):
    """Say whether a choice leads back in the story order."""
    order = {node_id: i for i, node_id in enumerate(story)}
    return any(
        order[choice.next] <= order[node_id]
        for node_id in order
        for choice in scenario.nodes[node_id].choices
    )


def neutral_row(scenario):
    """Return a cast row that shows each placeholder by its name, e.g. '[victim]'."""
    keys = {key for row in scenario.cast for key in row}
    return {key: f"[{key}]" for key in keys}


def filled(text, row):
    """Fill a text's placeholders from a row; one the row lacks shows by its name."""
    try:
        return engine.fill(text or "", row)
    except engine.PlaceholderError:
        return text or ""


def excerpt(text, row, limit=EXCERPT_LENGTH):
    """Return plain text from scenario Markdown, filled from a row, cut at a word."""
    plain = " ".join(MARKUP.sub("", filled(text, row)).split())
    if len(plain) <= limit:
        return plain
    return plain[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def choice_text(scenario, node_id, choice_id, row):
    """Return the text of one choice, filled from a row (its id if it no longer exists)."""
    for choice in scenario.nodes[node_id].choices if node_id in scenario.nodes else ():
        if choice.id == choice_id:
            return " ".join(filled(choice.text, row).split())
    return choice_id


def decision_ids(scenario):
    """Return the decision nodes in story order."""
    return list(outline(scenario).decisions)


def pairs_of(path):
    """Return the (node, choice) pairs of a stored path."""
    return [tuple(pair.split(":", 1)) for pair in (path or "").split()]


@dataclass(frozen=True)
class CohortChoice:
    """What most of a cohort chose at one decision node."""

    node_id: str
    choice_ids: tuple[str, ...]  # the most common choice, or those tied for it
    count: int  # people who took it
    people: int  # people who decided here


@dataclass(frozen=True)
class Comparison:
    """One decision of an attempt beside the best option there and the cohort's choice."""

    ordinal: int
    node_id: str
    excerpt: str
    chosen: str
    verdict: str
    best: str
    best_verdict: str
    cohort: tuple[str, ...] = ()  # the cohort's most common choice (texts), if known
    cohort_count: int | None = None
    cohort_people: int | None = None
    same_as_best: bool = False


@dataclass(frozen=True)
class BestStep:
    """One decision of the best path."""

    ordinal: int
    excerpt: str
    text: str
    verdict: str


def best_option(options):
    """Return the best of (choice, verdict) options: the least serious verdict, then the
    most points over all dimensions, then the file's order."""
    return max(
        enumerate(options),
        key=lambda pair: (SEVERITY.index(pair[1][1]), sum(pair[1][0].score.values()), -pair[0]),
    )[1]


def best_path(scenario, limit=1000):
    """Return the best path as (node, choice) pairs: at each node, the best option there.

    The best option is the engine's least serious verdict, then the most points; taking
    it each time keeps a pass in reach wherever one was, so the path passes whenever the
    scenario can be passed. It stops at an ending, or after `limit` steps in a loop.
    Worked out once per scenario.
    """
    return kept(_best_paths, id(scenario), scenario, partial(_best_path, scenario, limit))


def _best_path(scenario, limit):
    """Follow the best option from the start (see `best_path`)."""
    taken = []
    state = engine.State(scenario.start)
    while not engine.is_ending(scenario, state) and len(taken) < limit:
        first = engine.offered_choices(scenario, state)[0]
        judged = engine.verdicts(scenario, [c for _, c in taken] + [first.id])[-1]
        choice, _ = best_option(judged.offered)
        taken.append((state.node, choice.id))
        state = engine.apply_choice(scenario, state, choice.id)
    return taken


def best_steps(scenario, row):
    """Return the decisions of the best path, with their texts and verdicts."""
    pairs = best_path(scenario)
    judged = engine.verdicts(scenario, [choice for _, choice in pairs])
    found = []
    for step in judged:
        node = scenario.nodes[step.state.node]
        if node.kind == "decision":
            text = " ".join(filled(step.choice.text, row).split())
            found.append(BestStep(len(found) + 1, excerpt(node.text, row), text, step.verdict))
    return found


def compare(scenario, row, choice_ids, cohort=None):
    """Return each decision an attempt took beside the best option there and the cohort's
    most common choice; `cohort` maps node ids to CohortChoice."""
    cohort = cohort or {}
    found = []
    for step in engine.verdicts(scenario, choice_ids):
        node = scenario.nodes[step.state.node]
        if node.kind != "decision":
            continue
        best, best_verdict = best_option(step.offered)
        common = cohort.get(node.id)
        cohort_texts = (
            [choice_text(scenario, node.id, c, row) for c in common.choice_ids] if common else []
        )
        found.append(
            Comparison(
                ordinal=len(found) + 1,
                node_id=node.id,
                excerpt=excerpt(node.text, row),
                chosen=" ".join(filled(step.choice.text, row).split()),
                verdict=step.verdict,
                best=" ".join(filled(best.text, row).split()),
                best_verdict=best_verdict,
                cohort=tuple(cohort_texts),
                cohort_count=common.count if common else None,
                cohort_people=common.people if common else None,
                same_as_best=best.id == step.choice.id,
            )
        )
    return found


def cohort_choices(rows, minimum_people=None):
    """Return per node what most people chose, from (node, choice, person) rows.

    Each person counts once per choice they took at the node; a node with fewer than
    `minimum_people` people is left out (None: none is).
    """
    chose = defaultdict(lambda: defaultdict(set))
    for node_id, choice_id, person in rows:
        chose[node_id][choice_id].add(person)
    found = {}
    for node_id, choices in chose.items():
        people = len(set().union(*choices.values()))
        if minimum_people is not None and people < minimum_people:
            continue
        most = max(len(who) for who in choices.values())
        tied = tuple(sorted(c for c, who in choices.items() if len(who) == most))
        found[node_id] = CohortChoice(node_id, tied, most, people)
    return found


def options_judged(scenario, choice_ids):
    """Return ((node, option), verdict) for every option offered along a path, in order.

    Kept per scenario and path, as the same common paths come back on every view.
    """
    return kept(
        _judged_paths,
        (id(scenario), choice_ids),
        scenario,
        partial(_options_judged, scenario, choice_ids),
    )


def _options_judged(scenario, choice_ids):
    """Judge every option along a path (none if the path no longer plays)."""
    try:
        steps = engine.verdicts(scenario, choice_ids)
    except engine.ChoiceNotOffered:
        return ()
    return tuple(
        ((step.state.node, option.id), verdict)
        for step in steps
        for option, verdict in step.offered
    )


# What is worked out once per scenario (and path), kept while the scenario lives.
KEPT = 1024
_outlines: dict = {}
_best_paths: dict = {}
_judged_paths: dict = {}


def kept(cache, key, scenario, compute):
    """Return what `compute` gives, kept in `cache` under `key` while `scenario` lives."""
    found = cache.get(key)
    if found is not None and found[0] is scenario:
        return found[1]
    value = compute()
    if len(cache) >= KEPT:
        cache.pop(next(iter(cache)), None)
    cache[key] = (scenario, value)
    return value
