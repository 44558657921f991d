"""Explore every reachable state of a scenario and compute its statistics.

A state is a node with the set of flags that are set. The states and the choices between
them form a graph; its strongly connected components (Tarjan's algorithm, which numbers
them so that every component comes after all those it leads to) let each figure be
computed in one pass without ever enumerating paths: path counts, the shortest and
longest path, each dimension's minimum and maximum, and whether a passing path exists.
"""

from array import array
from dataclasses import dataclass, field

from .model import Scenario
from .passable import PassingSearch, TooMuchWork
from .work import Work

# Exploration is bounded by the states it finds and by the choices it examines over them
# (a node with many choices, reached with many sets of flags); past either, ``too-large``.
STATE_LIMIT = 1_000_000
CHOICE_LIMIT = 5 * STATE_LIMIT


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found by exploration, placed by node and choice index."""

    code: str
    severity: str
    node: str
    choice: int | None = None
    message: str = ""


@dataclass(slots=True)
class Stats:
    """What exploring a scenario tells about it; None means unbounded or not computed."""

    states: int = 0
    endings: int = 0
    paths: int | None = 0
    shortest: int | None = None
    longest: int | None = None
    bounds: dict[str, tuple[int, int]] | None = field(default_factory=dict)
    passable: bool | None = None
    too_large: bool = False
    too_many_choices: bool = False
    dimensions: tuple[str, ...] = ()
    # What the figures are read against: the scenario's endings, labels and pass marks.
    ending_nodes: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    pass_marks: dict[str, int] = field(default_factory=dict)
    # When no path passes: each pass mark's best percent over the paths that take no
    # failing choice; None otherwise, or when every complete path takes one.
    best: dict[str, int] | None = None


class Graph:
    """The reachable states and the choices between them, in compact arrays."""

    def __init__(self, scenario: Scenario, work: Work | None = None):
        self.scenario = scenario
        self.work = work if work is not None else Work()
        self.over_choices = False
        self.node_ids = list(scenario.nodes)
        self.flag_bits = {flag: 1 << i for i, flag in enumerate(scenario.flags)}
        self.choices = []  # (node index, choice index, Choice) for every choice, globally
        self.node_index = {name: i for i, name in enumerate(self.node_ids)}
        self.compiled = [self._compile(i, node) for i, node in enumerate(scenario.nodes.values())]
        self.seen: dict[int, int] = {}  # flags * node count + node -> state number
        self.state_node = array("l")
        self.state_flags: list[int] = []
        self.depth = array("l")
        self.offsets = array("l", [0])
        self.targets = array("l")
        self.edge_choice = array("l")
        self.offered: set[int] = set()

    def _mask(self, names) -> int:
        return sum(self.flag_bits[name] for name in names)

    def _compile(self, node_index: int, node) -> tuple:
        """Return a node's choices as bit masks: (all, any, none, set, clear, next, choice)."""
        index = self.node_index
        compiled = []
        for position, choice in enumerate(node.choices):
            when = choice.when
            compiled.append(
                (
                    self._mask(when.all) if when else 0,
                    self._mask(when.any) if when else 0,
                    self._mask(when.none) if when else 0,
                    self._mask(choice.set),
                    self._mask(choice.clear),
                    index[choice.next],
                    len(self.choices),
                )
            )
            self.choices.append((node_index, position, choice))
        return tuple(compiled)

    def explore(self, limit: int = STATE_LIMIT) -> bool:
        """Find every reachable state breadth first; return False past ``limit`` states.

        Also False once more than ``CHOICE_LIMIT`` choices have been examined (with
        ``over_choices`` set); both are counted in ``work``.
        """
        start = self.node_ids.index(self.scenario.start)
        width = len(self.node_ids)
        seen = self.seen
        seen[start] = 0
        self.state_node.append(start)
        self.state_flags.append(0)
        self.depth.append(0)
        targets, edge_choice, offered = self.targets, self.edge_choice, self.offered
        work = self.work
        sid = 0
        while sid < len(self.state_flags):
            flags, node = self.state_flags[sid], self.state_node[sid]
            work.states += 1
            work.choices += len(self.compiled[node])
            if work.choices > CHOICE_LIMIT:
                self.over_choices = True
                return False
            for all_, any_, none, set_, clear, nxt, global_index in self.compiled[node]:
                if (flags & all_) != all_ or (any_ and not flags & any_) or flags & none:
                    continue
                offered.add(global_index)
                new_flags = (flags | set_) & ~clear
                key = new_flags * width + nxt
                target = seen.get(key)
                if target is None:
                    target = seen[key] = len(self.state_flags)
                    if target >= limit:
                        return False
                    self.state_node.append(nxt)
                    self.state_flags.append(new_flags)
                    self.depth.append(self.depth[sid] + 1)
                targets.append(target)
                edge_choice.append(global_index)
            self.offsets.append(len(targets))
            sid += 1
        return True

    def components(self) -> tuple[array, int]:
        """Number the strongly connected components, every one after those it leads to."""
        count = len(self.state_flags)
        offsets, targets = self.offsets, self.targets
        index = array("l", [-1]) * count
        low = array("l", [0]) * count
        on_stack = bytearray(count)
        component = array("l", [-1]) * count
        stack, next_index, components = [], 0, 0
        index[0] = low[0] = 0
        next_index = 1
        stack.append(0)
        on_stack[0] = 1
        calls = [[0, offsets[0]]]
        while calls:
            frame = calls[-1]
            v, i = frame
            if i < offsets[v + 1]:
                frame[1] = i + 1
                w = targets[i]
                if index[w] == -1:
                    index[w] = low[w] = next_index
                    next_index += 1
                    stack.append(w)
                    on_stack[w] = 1
                    calls.append([w, offsets[w]])
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            calls.pop()
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = 0
                    component[w] = components
                    if w == v:
                        break
                components += 1
            if calls:
                u = calls[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
        return component, components


def analyse(
    scenario: Scenario, limit: int = STATE_LIMIT, work: Work | None = None
) -> tuple[Stats, list[Finding]]:
    """Explore ``scenario`` and return its statistics and the problems exploration finds.

    Bounded by ``limit`` states, ``CHOICE_LIMIT`` choices examined and, for the search for
    a passing path, ``passable.FRONT_LIMIT`` steps, all counted in ``work``; every later
    figure is linear in the states and choices explored.
    """
    graph = Graph(scenario, work)
    if not graph.explore(limit):
        if graph.over_choices:
            states = len(graph.state_flags)
            return Stats(states=states, too_large=True, too_many_choices=True, paths=None), []
        return Stats(states=limit, too_large=True, paths=None, bounds=None), []
    return Analysis(graph).run()


class Analysis:
    """The figures and findings computed over an explored graph."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.scenario = graph.scenario
        nodes = list(self.scenario.nodes.values())
        self.is_ending = [node.is_ending for node in nodes]
        self.component, self.count = graph.components()
        self.members: list[list[int]] = [[] for _ in range(self.count)]
        for state, comp in enumerate(self.component):
            self.members[comp].append(state)
        self.findings: list[Finding] = []
        self.cyclic = self._cyclic()
        self.can_end = self._can_end()

    def edges(self, state: int):
        """Yield ``(target state, global choice index)`` for the choices offered in ``state``."""
        graph = self.graph
        for i in range(graph.offsets[state], graph.offsets[state + 1]):
            yield graph.targets[i], graph.edge_choice[i]

    def state_of(self, node: str, flags) -> int | None:
        """Return the number of the reachable state at ``node`` with ``flags`` set, or None."""
        graph = self.graph
        mask = graph._mask(flags)
        return graph.seen.get(mask * len(graph.node_ids) + graph.node_index[node])

    def run(self) -> tuple[Stats, list[Finding]]:
        """Compute every figure and finding."""
        graph, scenario = self.graph, self.scenario
        stats = Stats(
            states=len(graph.state_flags),
            dimensions=tuple(scenario.dimensions),
            ending_nodes=sum(self.is_ending),
            labels=dict(scenario.dimensions),
            pass_marks=dict(scenario.pass_marks),
        )
        ending_states = [s for s, n in enumerate(graph.state_node) if self.is_ending[n]]
        stats.endings = len({graph.state_node[s] for s in ending_states})
        self._node_findings()
        score_cycle = self._score_cycles()
        has_path = self.can_end[self.component[0]]
        unbounded = any(self.cyclic[c] and self.can_end[c] for c in range(self.count))
        if has_path:
            stats.shortest = min(graph.depth[s] for s in ending_states)
            stats.paths = None if unbounded else self._path_count()
            stats.longest = None if unbounded else self._longest()
        if score_cycle:
            stats.bounds = None
        elif has_path:
            stats.bounds = self._bounds()
            search = PassingSearch(self, stats.bounds, graph.work)
            try:
                stats.passable = search.passable()
            except TooMuchWork:
                stats.passable = None
                self.findings.append(Finding("too-large", "error", scenario.start))
            if stats.passable is False:
                stats.best = search.best_percents()
                self.findings.append(Finding("unpassable", "error", scenario.start))
        return stats, self.findings

    def _cyclic(self) -> list[bool]:
        """Return, per component, whether it holds a cycle (more than one state, or a loop)."""
        cyclic = [len(m) > 1 for m in self.members]
        for state, comp in enumerate(self.component):
            if not cyclic[comp] and any(t == state for t, _ in self.edges(state)):
                cyclic[comp] = True
        return cyclic

    def _can_end(self) -> list[bool]:
        """Return, per component, whether an ending can be reached from it."""
        can = [False] * self.count
        node_of = self.graph.state_node
        for comp in range(self.count):
            can[comp] = any(
                self.is_ending[node_of[s]] or any(can[self.component[t]] for t, _ in self.edges(s))
                for s in self.members[comp]
            )
        return can

    def _node_findings(self) -> None:
        """Find dead ends, endless cycles, unreachable nodes and choices never offered."""
        graph, node_ids = self.graph, self.graph.node_ids
        dead, endless, reached = set(), set(), set()
        for state, node in enumerate(graph.state_node):
            reached.add(node)
            if not self.is_ending[node] and graph.offsets[state] == graph.offsets[state + 1]:
                dead.add(node)
            comp = self.component[state]
            if self.cyclic[comp] and not self.can_end[comp]:
                endless.add(node)
        for node in sorted(dead):
            self.findings.append(
                Finding(
                    "dead-end",
                    "error",
                    node_ids[node],
                    message=(
                        f"node '{node_ids[node]}' can be reached with no choice offered and "
                        "is not an ending: add a choice that is always offered, or make it "
                        "an ending"
                    ),
                )
            )
        for node in sorted(endless):
            self.findings.append(
                Finding(
                    "no-ending",
                    "error",
                    node_ids[node],
                    message=(
                        f"node '{node_ids[node]}' is on a cycle from which no ending can be "
                        "reached: give the cycle a way out to an ending"
                    ),
                )
            )
        for index, node_id in enumerate(node_ids):
            if index not in reached:
                self.findings.append(
                    Finding(
                        "unreachable-node",
                        "warning",
                        node_id,
                        message=(f"node '{node_id}' can never be reached from the start"),
                    )
                )
        for node_index, position, choice in graph.choices:
            if choice.when is None or node_index not in reached:
                continue
            global_index = self._global(node_index, position)
            if global_index not in graph.offered:
                self.findings.append(
                    Finding(
                        "never-offered",
                        "warning",
                        node_ids[node_index],
                        position,
                        message=(
                            f"choice '{choice.id}' is never offered: its 'when' does not hold "
                            "in any state that reaches this node"
                        ),
                    )
                )

    def _global(self, node_index: int, position: int) -> int:
        """Return the global index of a node's choice."""
        return self.graph.compiled[node_index][position][6]

    def _score_cycles(self) -> bool:
        """Report each scoring, inappropriate or critical choice on a cycle of states."""
        graph, reported = self.graph, set()
        for state in range(len(graph.state_flags)):
            comp = self.component[state]
            if not self.cyclic[comp]:
                continue
            for target, global_index in self.edges(state):
                if self.component[target] != comp or global_index in reported:
                    continue
                node_index, position, choice = graph.choices[global_index]
                if any(choice.score.values()) or choice.fails:
                    reported.add(global_index)
                    what = (
                        "scores points"
                        if any(choice.score.values())
                        else "shares"
                        if choice.inappropriate
                        else "is a critical error"
                    )
                    self.findings.append(
                        Finding(
                            "score-cycle",
                            "error",
                            graph.node_ids[node_index],
                            position,
                            message=(
                                f"choice '{choice.id}' {what} on a cycle that can be repeated, so "
                                "scores have no limit: move the score out of the loop, or set "
                                "a flag so the loop cannot repeat"
                            ),
                        )
                    )
        return bool(reported)

    def successors(self, comp: int):
        """Yield ``(target component, choice)`` for edges leaving ``comp`` toward an ending."""
        for state in self.members[comp]:
            for target, global_index in self.edges(state):
                target_comp = self.component[target]
                if target_comp != comp and self.can_end[target_comp]:
                    yield target_comp, self.graph.choices[global_index][2]

    def is_ending_comp(self, comp: int) -> bool:
        """Return whether a component is an ending (a single state with no way on)."""
        state = self.members[comp][0]
        return self.is_ending[self.graph.state_node[state]]

    def _path_count(self) -> int:
        """Count complete paths exactly, from the ends back to the start."""
        counts = [0] * self.count
        for comp in range(self.count):
            if self.is_ending_comp(comp):
                counts[comp] = 1
            elif self.can_end[comp]:
                counts[comp] = sum(counts[t] for t, _ in self.successors(comp))
        return counts[self.component[0]]

    def _longest(self) -> int:
        """Return the number of steps in the longest complete path."""
        longest = [0] * self.count
        for comp in range(self.count):
            if self.can_end[comp] and not self.is_ending_comp(comp):
                longest[comp] = max(1 + longest[t] for t, _ in self.successors(comp))
        return longest[self.component[0]]

    def _bounds(self) -> dict[str, tuple[int, int]]:
        """Return each dimension's minimum and maximum raw score over complete paths."""
        dims = list(self.scenario.dimensions)
        low: list = [None] * self.count
        high: list = [None] * self.count
        for comp in range(self.count):
            if not self.can_end[comp]:
                continue
            if self.is_ending_comp(comp):
                low[comp] = high[comp] = (0,) * len(dims)
                continue
            lows, highs = [], []
            for target, choice in self.successors(comp):
                points = tuple(choice.score.get(d, 0) for d in dims)
                lows.append(tuple(p + q for p, q in zip(points, low[target], strict=True)))
                highs.append(tuple(p + q for p, q in zip(points, high[target], strict=True)))
            low[comp] = tuple(map(min, zip(*lows, strict=True))) if dims else ()
            high[comp] = tuple(map(max, zip(*highs, strict=True))) if dims else ()
        start = self.component[0]
        return {d: (low[start][i], high[start][i]) for i, d in enumerate(dims)}
