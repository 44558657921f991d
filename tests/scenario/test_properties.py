"""Property tests: the validator's exploration and the engine against a brute-force oracle.

Hypothesis draws small scenarios that are valid in form (2-8 nodes, 0-3 flags, 1-2
dimensions, choices with ``when``/``set``/``clear``, scores, sharing and pass marks) as
plain dicts, dumps them to YAML and loads them with ``load_bytes``. The oracle below works
from the same dicts and never touches the project's code: it walks every reachable state
(node, frozenset of flags) depth first, enumerates every simple path to an ending with a
cycle check, and derives from them what the format's State, Scoring, Validation and
Statistics sections say the validator must report.
"""

import random
from collections import deque
from dataclasses import dataclass, field

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simulator import engine
from simulator.scenario import load_bytes
from simulator.scenario.build import build
from simulator.scenario.explore import Analysis, Graph
from simulator.scenario.passable import PassingSearch

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FLAGS = ("f0", "f1", "f2")
DIMENSIONS = ("d0", "d1")
PATH_BUDGET = 20_000  # simple paths enumerated at most; drawn scenarios stay far below it


# --------------------------------------------------------------------------- generation


class _NoAliasDumper(yaml.SafeDumper):
    """A safe dumper that never writes anchors or aliases (the format refuses them)."""

    def ignore_aliases(self, data):
        return True


def dump(data: dict) -> bytes:
    """Return ``data`` as block-style YAML bytes, keys in insertion order."""
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True).encode()


@st.composite
def conditions(draw, flags):
    """Draw a ``when`` with at least one of its parts."""
    parts = st.lists(st.sampled_from(flags), min_size=1, max_size=len(flags), unique=True)
    when = {}
    for part in ("all", "any", "none"):
        if draw(st.booleans()):
            when[part] = draw(parts)
    if not when:
        when[draw(st.sampled_from(("all", "any", "none")))] = draw(parts)
    return when


def targets(index, names, forward, spine=False):
    """Return a strategy for where node ``index`` leads: mostly on toward the last node.

    The first way out of a node (``spine``) usually leads to the next node, so that most
    nodes are reachable; the others may lead to any later node or, unless ``forward``, to
    any node at all, itself included.
    """
    later = names[index + 1 :]
    if spine and later:
        return st.sampled_from((later[0], later[0], later[0], *later))
    if forward or not later:
        return st.sampled_from(later or names)
    return st.one_of(st.sampled_from(later), st.sampled_from(names[: index + 1]))


@st.composite
def choices(draw, index, count, names, flags, dims, forward, has_feedback_ref, dense, loops):
    """Draw the choices of decision ``index`` among ``count`` nodes."""
    result = []
    for number in range(draw(st.integers(2, 3) if dense else st.sampled_from((1, 2, 2, 3, 3)))):
        target = draw(targets(index, names, forward, spine=number == 0))
        choice = {"id": f"c{number}", "text": f"Option {number}.", "next": target}
        if flags and draw(st.integers(0, 9)) < 4:
            choice["when"] = draw(conditions(flags))
        if flags:
            effects = draw(
                st.lists(
                    st.sampled_from((None, "set", "set", "clear")),
                    min_size=len(flags),
                    max_size=len(flags),
                )
            )
            for action in ("set", "clear"):
                chosen = [
                    flag for flag, effect in zip(flags, effects, strict=True) if effect == action
                ]
                if chosen:
                    choice[action] = chosen
        # a way back (to this node or an earlier one) is mostly a harmless loop: no points,
        # no inappropriate share, so that cycles with finite bounds are drawn too
        harmless = int(target[1:]) <= index and draw(st.integers(0, 3)) > 0
        if not harmless and draw(st.integers(0, 9)) < 7:
            scored = draw(st.lists(st.sampled_from(dims), min_size=1, unique=True))
            choice["score"] = {dim: draw(st.integers(-3, 3)) for dim in scored}
        sharings = (None, None, "appropriate") + ("inappropriate",) * (not harmless)
        sharing = draw(st.sampled_from(sharings))
        if sharing:
            choice["sharing"] = sharing
        if draw(st.integers(0, 9)) < (1 if harmless else 2):
            choice["critical"] = draw(st.sampled_from((True, True, False)))
        if draw(st.booleans()):
            choice["feedback"] = "Why this matters."
            if has_feedback_ref and draw(st.booleans()):
                choice["refs"] = ["r1"]
        result.append(choice)
    if loops and draw(st.booleans()):  # a harmless way back: asking again, re-reading
        back = {
            "id": "again",
            "text": "Ask again.",
            "next": draw(st.sampled_from(names[: index + 1])),
        }
        if flags and draw(st.booleans()):
            back[draw(st.sampled_from(("set", "clear")))] = [draw(st.sampled_from(flags))]
        result.append(back)
    return result


@st.composite
def scenario_dicts(draw, forward=None, dense=False, loops=False):
    """Draw a small scenario, valid in form, as the dict its YAML file holds.

    With ``forward`` every ``next`` leads to a later node, so the node graph (and hence
    the state graph) has no cycle; otherwise choices may lead anywhere, itself included.
    ``dense`` draws 5-8 nodes, 2-3 flags and 2-3 choices per decision, for many states.
    ``loops`` adds to forward scenarios harmless ways back (no points, no share), so that
    cycles of states can reach an ending while scores stay bounded.
    """
    count = draw(st.integers(5 if dense else 2, 8))
    flags = list(FLAGS[: draw(st.integers(2 if dense else 0, 3))])
    dims = list(DIMENSIONS[: draw(st.integers(1, 2))])
    if forward is None:
        forward = draw(st.booleans())
    names = [f"n{i}" for i in range(count)]
    kinds = ["decision" if draw(st.integers(0, 3)) else "step"]
    kinds += [
        draw(st.sampled_from(("decision", "decision", "decision", "step", "ending")))
        for _ in names[1:]
    ]
    if forward or draw(st.integers(0, 4)):
        kinds[-1] = "ending"  # the last node has nowhere forward to go; mostly keep an ending
    with_ref = draw(st.booleans())
    data = {
        "format": 1,
        "id": "generated",
        "title": "Generated",
        "summary": "A scenario drawn by Hypothesis.",
        "version": 1,
        "dimensions": {dim: f"Dimension {dim}" for dim in dims},
    }
    marks = {}
    for dim in dims:
        if draw(st.integers(0, 3)):
            marks[dim] = draw(
                st.one_of(st.sampled_from((0, 1, 33, 50, 99, 100)), st.integers(0, 100))
            )
    if marks:
        data["pass_marks"] = marks
    if with_ref:
        data["references"] = {"r1": {"title": "Guidance"}}
    if draw(st.booleans()):
        data["cast"] = [
            {"name": name}
            for name in draw(
                st.lists(st.sampled_from(("Amina", "Oksana", "Maria")), min_size=1, unique=True)
            )
        ]
    if flags:
        data["flags"] = flags
    data["start"] = "n0"
    nodes = {}
    for index, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        if kind == "ending":
            nodes[name] = {"end": {"outcome": f"Outcome {index}", "debrief": "Over."}}
        elif kind == "step":
            target = draw(targets(index, names, forward, spine=True))
            nodes[name] = {"text": "Something happens.", "next": target}
        else:
            text = "Hello {name}." if "cast" in data else "What now?"
            nodes[name] = {
                "text": text,
                "choices": draw(
                    choices(index, count, names, flags, dims, forward, with_ref, dense, loops)
                ),
            }
            order = draw(st.sampled_from((None, None, "shuffled", "fixed")))
            if order:
                nodes[name]["order"] = order
    data["nodes"] = nodes
    return data


ANY_SCENARIO = st.one_of(
    scenario_dicts(), scenario_dicts(dense=True), scenario_dicts(forward=True, loops=True)
)


# --------------------------------------------------------------------------- the oracle


def offered(data: dict, node: str, flags: frozenset) -> list[dict]:
    """Return the choices offered at ``node`` with ``flags`` set (a step's Continue too)."""
    spec = data["nodes"][node]
    if "end" in spec:
        return []
    if "next" in spec:
        return [{"id": "continue", "next": spec["next"]}]
    found = []
    for choice in spec["choices"]:
        when = choice.get("when", {})
        if not set(when.get("all", ())) <= flags:
            continue
        if "any" in when and not flags & set(when["any"]):
            continue
        if flags & set(when.get("none", ())):
            continue
        found.append(choice)
    return found


def take(choice: dict, flags: frozenset) -> tuple[str, frozenset]:
    """Return the state a choice leads to: set its flags, then clear its flags."""
    return choice["next"], (flags | set(choice.get("set", ()))) - set(choice.get("clear", ()))


@dataclass
class Path:
    """One complete path: the choice ids, their choices, and the nodes they were taken at."""

    ids: list
    choices: list
    at: list

    def raw(self, dim: str) -> int:
        """Return the path's raw score in ``dim``."""
        return sum(c.get("score", {}).get(dim, 0) for c in self.choices)

    @property
    def sharing_ok(self) -> bool:
        """Return whether the path passes the sharing criterion."""
        return not any(c.get("sharing") == "inappropriate" for c in self.choices)

    @property
    def critical(self) -> list:
        """Return the path's critical errors: critical choices that are not inappropriate."""
        return [
            (node, c["id"])
            for node, c in zip(self.at, self.choices, strict=True)
            if c.get("critical") is True and c.get("sharing") != "inappropriate"
        ]


def fails(choice: dict) -> bool:
    """Return whether a choice fails the attempt whatever the points."""
    return choice.get("sharing") == "inappropriate" or choice.get("critical") is True


@dataclass
class Oracle:
    """Everything brute force says about a scenario."""

    states: set = field(default_factory=set)
    edges: dict = field(default_factory=dict)  # state -> [(choice, node, target state)]
    paths: list = field(default_factory=list)
    too_many: bool = False


def percent(raw: int, low: int, high: int) -> int:
    """The format's percent: floor(100 (raw - min) / (max - min)), or 100 if max == min."""
    return 100 if high == low else (100 * (raw - low)) // (high - low)


def brute_force(data: dict) -> Oracle:
    """Explore every reachable state and enumerate every simple complete path."""
    oracle = Oracle()
    start = (data["start"], frozenset())
    stack = [start]
    oracle.states.add(start)
    while stack:  # depth-first over states
        state = stack.pop()
        node, flags = state
        out = []
        for choice in offered(data, node, flags):
            target = take(choice, flags)
            out.append((choice, node, target))
            if target not in oracle.states:
                oracle.states.add(target)
                stack.append(target)
        oracle.edges[state] = out

    # every simple path (no state twice) from the start to an ending, depth bounded by the
    # number of states; a complete path that repeats a state implies a cycle that can reach
    # an ending, which is the unbounded case, so in the bounded case these are all paths
    on_path = {start}
    ids, taken, at = [], [], []

    def dfs(state, depth):
        if oracle.too_many:
            return
        if "end" in data["nodes"][state[0]]:
            oracle.paths.append(Path(list(ids), list(taken), list(at)))
            oracle.too_many = len(oracle.paths) > PATH_BUDGET
            return
        if depth >= len(oracle.states):
            return
        for choice, node, target in oracle.edges[state]:
            if target in on_path:
                continue  # cycle detection
            on_path.add(target)
            ids.append(choice["id"])
            taken.append(choice)
            at.append(node)
            dfs(target, depth + 1)
            on_path.discard(target)
            ids.pop()
            taken.pop()
            at.pop()

    dfs(start, 0)
    return oracle


def reach(oracle: Oracle) -> dict:
    """Return, for each state, the states it reaches in one or more steps."""
    found = {}
    for state in oracle.states:
        seen, queue = set(), deque([state])
        while queue:
            for _, _, target in oracle.edges[queue.popleft()]:
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        found[state] = seen
    return found


@dataclass
class Expected:
    """The figures and problems the validator must report."""

    states: int
    endings: int
    paths: int | None
    shortest: int | None
    longest: int | None
    bounds: dict | None
    passable: bool | None
    problems: list  # (code, node or None, choice index or None, what) before placing
    unbounded: bool
    score_cycle: bool


def expect(data: dict, oracle: Oracle) -> Expected:
    """Derive from brute force what the format says the validator reports."""
    nodes = data["nodes"]
    is_end = {s: "end" in nodes[s[0]] for s in oracle.states}
    reaches = reach(oracle)
    can_end = {s: is_end[s] or any(is_end[t] for t in reaches[s]) for s in oracle.states}
    on_cycle = {s: s in reaches[s] for s in oracle.states}
    unbounded = any(on_cycle[s] and can_end[s] for s in oracle.states)
    problems = []
    reached_nodes = {s[0] for s in oracle.states}
    for name in nodes:
        if name not in reached_nodes:
            problems.append(("unreachable-node", name, None, "node"))
    dead = {s[0] for s in oracle.states if not is_end[s] and not oracle.edges[s]}
    problems += [("dead-end", name, None, "node") for name in dead]
    endless = {s[0] for s in oracle.states if on_cycle[s] and not can_end[s]}
    problems += [("no-ending", name, None, "node") for name in endless]
    cycling = set()
    for state in oracle.states:
        for choice, node, target in oracle.edges[state]:
            if state in reaches[target] and (
                any(choice.get("score", {}).values()) or fails(choice)
            ):
                cycling.add((node, nodes[node]["choices"].index(choice)))
    problems += [("score-cycle", node, index, "score-or-sharing") for node, index in cycling]
    offered_ids = {(s[0], c["id"]) for s in oracle.states for c, _, _ in oracle.edges[s]}
    for name in reached_nodes:
        for index, choice in enumerate(nodes[name].get("choices", ())):
            if "when" in choice and (name, choice["id"]) not in offered_ids:
                problems.append(("never-offered", name, index, "when"))
    # the form warnings, for a complete comparison of the problem list
    all_choices = [
        (n, i, c) for n, spec in nodes.items() for i, c in enumerate(spec.get("choices", ()))
    ]
    for name, index, choice in all_choices:
        inappropriate = choice.get("sharing") == "inappropriate"
        if fails(choice) and "feedback" not in choice:
            problems.append(
                ("no-feedback", name, index, "sharing" if inappropriate else "critical")
            )
        if fails(choice):
            for dim, points in choice.get("score", {}).items():
                if points > 0:
                    problems.append(("rewarded-error", name, index, ("score", dim)))
    for flag in data.get("flags", ()):
        is_set = any(flag in c.get("set", ()) for _, _, c in all_choices)
        tested = any(
            flag in c.get("when", {}).get(p, ())
            for _, _, c in all_choices
            for p in ("all", "any", "none")
        )
        if not (is_set and tested):
            problems.append(("unused-flag", flag, None, "flag"))
    for dim in data["dimensions"]:
        if not any(c.get("score", {}).get(dim) for _, _, c in all_choices):
            problems.append(("unused-dimension", dim, None, "dimension"))
    if "references" in data and not any("refs" in c for _, _, c in all_choices):
        problems.append(("unused-reference", "r1", None, "reference"))

    paths = oracle.paths
    dims = list(data["dimensions"])
    has_path = bool(paths)
    bounds, passable = ({} if not cycling else None), None
    if has_path and not cycling:
        bounds = {d: (min(p.raw(d) for p in paths), max(p.raw(d) for p in paths)) for d in dims}
        passable = any(passes(data, p, bounds) for p in paths)
        if not passable:
            problems.append(("unpassable", None, None, "start"))
    return Expected(
        states=len(oracle.states),
        endings=len({s[0] for s in oracle.states if is_end[s]}),
        paths=(None if unbounded else len(paths)) if has_path else 0,
        shortest=min(len(p.ids) for p in paths) if has_path else None,
        longest=(None if unbounded else max(len(p.ids) for p in paths)) if has_path else None,
        bounds=bounds,
        passable=passable,
        problems=problems,
        unbounded=unbounded,
        score_cycle=bool(cycling),
    )


def passes(data: dict, path: Path, bounds: dict) -> bool:
    """Return whether a complete path passes: no failing choice, every mark reached."""
    return not any(fails(c) for c in path.choices) and all(
        percent(path.raw(dim), *bounds[dim]) >= mark
        for dim, mark in data.get("pass_marks", {}).items()
    )


SEVERITY = {
    "unreachable-node": "warning",
    "never-offered": "warning",
    "no-feedback": "warning",
    "rewarded-error": "warning",
    "unused-flag": "warning",
    "unused-dimension": "warning",
    "unused-reference": "warning",
}


def place(text: bytes, problems: list) -> list[tuple]:
    """Return ``(line, column, code, severity)`` for each expected problem, from the YAML."""
    root = yaml.compose(text)

    def get(mapping, key):
        for k, v in mapping.value:
            if k.value == key:
                return k, v
        raise KeyError(key)

    def at(node):
        return node.start_mark.line + 1, node.start_mark.column + 1

    _, nodes = get(root, "nodes")
    placed = []
    for code, name, index, what in problems:
        if what == "node":
            key, _ = get(nodes, name)
            position = at(key)
        elif what == "start":
            position = at(get(root, "start")[0])
        elif what == "flag":
            items = get(root, "flags")[1].value
            position = at(next(item for item in items if item.value == name))
        elif what in ("dimension", "reference"):
            section = "dimensions" if what == "dimension" else "references"
            position = at(get(get(root, section)[1], name)[0])
        else:
            choice = get(get(nodes, name)[1], "choices")[1].value[index]
            if what == "score-or-sharing":
                keys = {k.value: v.value for k, v in choice.value}
                scored = "score" in keys and any(
                    int(v.value) != 0 for _, v in get(choice, "score")[1].value
                )
                inappropriate = keys.get("sharing") == "inappropriate"
                what = "score" if scored else "sharing" if inappropriate else "critical"
            if isinstance(what, tuple):  # a value inside the choice's score mapping
                position = at(get(get(choice, what[0])[1], what[1])[1])
            else:
                position = at(get(choice, what)[0])
        placed.append((*position, code, SEVERITY.get(code, "error")))
    return sorted(placed)


def load(data: dict):
    """Dump, load and brute-force a drawn scenario; skip the rare one with too many paths."""
    text = dump(data)
    report = load_bytes(text, "generated.yaml")
    oracle = brute_force(data)
    assume(not oracle.too_many)
    return text, report, oracle


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(ANY_SCENARIO)
def test_validator_matches_brute_force(data):
    """The validator's statistics and problems equal those brute force derives."""
    text, report, oracle = load(data)
    want = expect(data, oracle)
    got = [(p.line, p.column, p.code, p.severity) for p in report.problems]
    assert got == place(text, want.problems)
    stats = report.stats
    assert stats is not None and not stats.too_large
    assert stats.states == want.states
    assert stats.endings == want.endings
    assert stats.paths == want.paths
    assert stats.shortest == want.shortest
    assert stats.longest == want.longest
    if want.score_cycle:
        assert stats.bounds is None and stats.passable is None
    elif want.paths == 0:
        assert not stats.bounds and stats.passable is None
    else:
        assert stats.bounds == want.bounds
        assert stats.passable == want.passable
    unpassable = any(p.code == "unpassable" for p in report.problems)
    assert unpassable == (bool(oracle.paths) and not want.score_cycle and not want.passable)
    has_error = any(severity == "error" for *_, severity in place(text, want.problems))
    assert (report.scenario is None) == has_error


@SETTINGS
@given(st.one_of(scenario_dicts(forward=True), scenario_dicts(forward=True, dense=True)))
def test_acyclic_path_figures(data):
    """In scenarios whose nodes only lead forward, every figure is bounded and exact."""
    text, report, oracle = load(data)
    want = expect(data, oracle)
    assert not want.unbounded and not want.score_cycle
    stats = report.stats
    assert (stats.paths, stats.shortest, stats.longest) == (
        want.paths,
        want.shortest,
        want.longest,
    )
    assert stats.paths == len(oracle.paths)
    if oracle.paths:
        assert stats.bounds == want.bounds
        assert stats.passable == want.passable
        assert any(p.code == "unpassable" for p in report.problems) == (not want.passable)


def valid(data: dict):
    """Load a drawn scenario, keeping only those without errors."""
    text, report, oracle = load(data)
    assume(report.scenario is not None)
    return report.scenario, oracle


@SETTINGS
@given(ANY_SCENARIO, st.integers(0, 2**32 - 1))
def test_engine_plays_to_an_ending(data, seed):
    """The engine plays every valid scenario from the start to an ending along random choices."""
    scenario, oracle = valid(data)
    want = expect(data, oracle)
    # distance (in choices) from each state to the nearest ending, for a walk biased to finish
    distance = {s: 0 for s in oracle.states if "end" in data["nodes"][s[0]]}
    changed = True
    while changed:
        changed = False
        for state, out in oracle.edges.items():
            best = min((distance[t] + 1 for _, _, t in out if t in distance), default=None)
            if best is not None and best < distance.get(state, best + 1):
                distance[state] = best
                changed = True
    begun = engine.start(scenario, seed)
    assert begun == engine.start(scenario, seed)
    if "cast" in data:
        assert begun.cast_index in range(len(data["cast"]))
        row = engine.cast_row(scenario, begun.cast_index)
        assert engine.fill("Hello {name}.", row) == f"Hello {row['name']}."
    else:
        assert begun.cast_index is None
    state, ids = begun.state, []
    rng = random.Random(seed)
    bound = 50 * len(oracle.states) + 50
    while not engine.is_ending(scenario, state):
        assert len(ids) < bound, "the walk did not reach an ending"
        offer = engine.offered_choices(scenario, state)
        here = (state.node, frozenset(state.flags))
        assert [c.id for c in offer] == [c["id"] for c, _, _ in oracle.edges[here]]
        shown = engine.shown_choices(scenario, state, seed, engine.SHUFFLED)
        assert sorted(c.id for c in shown) == sorted(c.id for c in offer)
        if data["nodes"][state.node].get("order") == "fixed":
            assert shown == offer  # a fixed decision keeps file order
        assert engine.shown_choices(scenario, state, seed, engine.FILE_ORDER) == offer
        if want.unbounded and rng.random() < 0.5:  # on cycles, step toward an ending half the time
            closer = [
                c
                for c, (_, _, t) in zip(offer, oracle.edges[here], strict=True)
                if distance.get(t, 1 << 30) < distance[here]
            ]
            choice = rng.choice(closer)
        else:
            choice = rng.choice(offer)
        state = engine.apply_choice(scenario, state, choice.id)
        ids.append(choice.id)
        assert (state.node, frozenset(state.flags)) in oracle.states
    assert engine.replay(scenario, ids) == state
    assert engine.result(scenario, ids).ending == state.node


@SETTINGS
@given(ANY_SCENARIO)
def test_engine_result_matches_brute_force_scoring(data):
    """engine.result of each brute-force path equals the oracle's own scoring of it."""
    scenario, oracle = valid(data)
    want = expect(data, oracle)
    assert want.bounds  # a valid scenario has a complete path and finite bounds
    for path in oracle.paths[:50]:
        result = engine.result(scenario, path.ids)
        assert result.ending == path.choices[-1]["next"]
        assert engine.replay(scenario, path.ids).node == result.ending
        assert result.sharing_passed == path.sharing_ok
        assert result.failed_sharing == tuple(
            (node, c["id"])
            for node, c in zip(path.at, path.choices, strict=True)
            if c.get("sharing") == "inappropriate"
        )
        assert list(result.critical_errors) == path.critical
        marks = data.get("pass_marks", {})
        for dim in result.dimensions:
            low, high = want.bounds[dim.key]
            raw = path.raw(dim.key)
            assert (dim.raw, dim.minimum, dim.maximum) == (raw, low, high)
            assert dim.percent == percent(raw, low, high)
            assert dim.pass_mark == marks.get(dim.key)
            assert dim.reached == (dim.key not in marks or dim.percent >= marks[dim.key])
        assert [d.key for d in result.dimensions] == list(data["dimensions"])
        assert result.passed == passes(data, path, want.bounds)


@pytest.mark.parametrize("forward", [True, False])
def test_generator_draws_valid_and_invalid_scenarios(forward):
    """The generator yields both scenarios the validator accepts and ones it rejects."""
    seen = {"valid": 0, "invalid": 0}

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(scenario_dicts(forward=forward))
    def sample(data):
        report = load_bytes(dump(data), "generated.yaml")
        assert report.stats is not None  # valid in form: always explored
        seen["valid" if report.scenario is not None else "invalid"] += 1

    sample()
    assert seen["valid"] > 0 and seen["invalid"] > 0


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(ANY_SCENARIO)
def test_state_limit_is_exact(data):
    """A limit of exactly the reachable states explores; one fewer gives only too-large."""
    text, report, oracle = load(data)
    count = len(oracle.states)
    assume(count >= 2)
    at_limit = load_bytes(text, "generated.yaml", limit=count)
    assert not at_limit.stats.too_large and at_limit.problems == report.problems
    over = load_bytes(text, "generated.yaml", limit=count - 1)
    assert over.stats.too_large and over.scenario is None
    form = {"no-feedback", "rewarded-error", "unused-flag", "unused-dimension", "unused-reference"}
    root = yaml.compose(text)
    start = next(k for k, _ in root.value if k.value == "start").start_mark
    assert [(p.line, p.column, p.code) for p in over.problems if p.code not in form] == [
        (start.line + 1, start.column + 1, "too-large")
    ]
    (message,) = [p.message for p in over.problems if p.code == "too-large"]
    assert f"more than {count - 1:,} reachable states" in message  # the limit applied
    assert [p for p in over.problems if p.code in form] == [
        p for p in report.problems if p.code in form
    ]


@SETTINGS
@given(ANY_SCENARIO)
def test_exact_pareto_search_matches_brute_force(data):
    """The capped Pareto search, used when no weighted best path passes, is exact alone."""
    text, report, oracle = load(data)
    want = expect(data, oracle)
    assume(report.stats is not None and not want.score_cycle and oracle.paths)
    graph = Graph(build(yaml.safe_load(text), None, ""))
    assert graph.explore()
    analysis = Analysis(graph)
    analysis.run()
    search = PassingSearch(analysis, report.stats.bounds)
    needs = search.needs()
    assume(needs)
    dims = list(needs)
    assert search.pareto_search(dims, tuple(needs[d] for d in dims)) == want.passable
