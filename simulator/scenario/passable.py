"""Decide whether a scenario can be passed: a path with no inappropriate share and no
critical choice that reaches every pass mark, over the explored graph of states (see
``explore``)."""

import math

# Steps the exact search may take for one file: score vectors built, plus comparisons
# between vectors while keeping Pareto fronts. Past it, the file is ``too-large``.
FRONT_LIMIT = 5_000_000


class TooMuchWork(Exception):
    """Raised when the search for a passing path would take more than ``FRONT_LIMIT`` steps."""


class PassingSearch:
    """The search for a passing path in an analysed scenario."""

    def __init__(self, analysis, bounds: dict[str, tuple[int, int]], work=None):
        self.analysis, self.bounds, self.work = analysis, bounds, work

    def passable(self) -> bool:
        """Return whether some complete path takes no failing choice and meets every mark.

        A failing choice is an inappropriate share or a critical one (``Choice.fails``).

        Finding such a path is a multi-constraint path problem, so it is done in three
        stages, each exact in what it concludes: the best path for a few weightings of the
        dimensions, which usually passes (authors score good choices well on every
        dimension); the best path for each dimension alone, which proves no path passes
        when one mark is out of reach; and otherwise Pareto fronts of score vectors, kept
        small by capping each score at what the mark can still require. The fronts can
        still grow with the number of paths, so with ``work`` their steps are counted and
        ``TooMuchWork`` is raised past ``FRONT_LIMIT``.
        """
        needs, bounds = self.needs(), self.bounds
        dims = list(needs)
        need = tuple(needs[d] for d in dims)
        if not dims:
            return self._best_weighted(dims, ()) is not None
        spans = [bounds[d][1] - bounds[d][0] for d in dims]
        balanced = tuple(math.prod(spans) // span for span in spans)
        heavy = 1 + sum(spans)
        alone = [tuple(heavy if i == j else 1 for i in range(len(dims))) for j in range(len(dims))]
        for weights in (balanced, *alone):
            vector = self._best_weighted(dims, weights)
            if vector is None:
                return False  # every way to an ending takes a failing choice
            if all(v >= n for v, n in zip(vector, need, strict=True)):
                return True
        for j, weights in enumerate(alone):
            if self._best_weighted(dims, weights)[j] < need[j]:
                return False
        return self.pareto_search(dims, need)

    def best_percents(self) -> dict[str, int] | None:
        """Return each pass mark's best percent over the paths that take no failing choice.

        None when every complete path takes a failing choice. The percent is the format's
        (``engine.percent``), placed between the bounds over all complete paths. One
        best-path pass per mark, each linear in the explored graph, like those ``passable``
        makes.
        """
        marks = list(self.analysis.scenario.pass_marks)
        if self._best_weighted([], ()) is None:
            return None
        best = {}
        for j, dim in enumerate(marks):
            weights = tuple(int(i == j) for i in range(len(marks)))
            raw = self._best_weighted(marks, weights)[j]
            best[dim] = percent(raw, *self.bounds[dim])
        return best

    def needs(self) -> dict[str, int]:
        """Return the least raw score that reaches each mark that can be missed."""
        bounds, needs = self.bounds, {}
        for dim, mark in self.analysis.scenario.pass_marks.items():
            minimum, maximum = bounds[dim]
            if maximum > minimum:
                # percent >= mark  <=>  100 * (raw - min) >= mark * (max - min)
                needs[dim] = minimum - (-(mark * (maximum - minimum)) // 100)
        return needs

    def _safe_successors(self, comp: int, dims: list[str]):
        """Yield ``(target component, score vector)`` for edges out of ``comp`` that pass."""
        for target, choice in self.analysis.successors(comp):
            if not choice.fails:
                yield target, tuple(choice.score.get(d, 0) for d in dims)

    def _best_weighted(self, dims: list[str], weights: tuple) -> tuple | None:
        """Return the score vector of a sharing-safe path maximising the weighted sum."""
        best: list = [None] * self.analysis.count
        for comp in range(self.analysis.count):
            if not self.analysis.can_end[comp]:
                continue
            if self.analysis.is_ending_comp(comp):
                best[comp] = (0, (0,) * len(dims))
                continue
            for target, points in self._safe_successors(comp, dims):
                if best[target] is None:
                    continue
                value = best[target][0] + sum(w * p for w, p in zip(weights, points, strict=True))
                if best[comp] is None or value > best[comp][0]:
                    vector = tuple(p + v for p, v in zip(points, best[target][1], strict=True))
                    best[comp] = (value, vector)
        start = best[self.analysis.component[0]]
        return None if start is None else start[1]

    def _prefix_ranges(self, dims: list[str]) -> list:
        """Return, per component, the least and greatest score vectors of sharing-safe ways in."""
        ranges: list = [None] * self.analysis.count
        start = self.analysis.component[0]
        ranges[start] = ((0,) * len(dims), (0,) * len(dims))
        for comp in range(
            self.analysis.count - 1, -1, -1
        ):  # every way in comes from a higher number
            if ranges[comp] is None or not self.analysis.can_end[comp]:
                continue
            low, high = ranges[comp]
            for target, points in self._safe_successors(comp, dims):
                new_low = tuple(a + p for a, p in zip(low, points, strict=True))
                new_high = tuple(a + p for a, p in zip(high, points, strict=True))
                if ranges[target] is None:
                    ranges[target] = (new_low, new_high)
                else:
                    old_low, old_high = ranges[target]
                    ranges[target] = (
                        tuple(map(min, old_low, new_low)),
                        tuple(map(max, old_high, new_high)),
                    )
        return ranges

    def pareto_search(self, dims: list[str], need: tuple) -> bool:
        """Decide passability exactly with capped Pareto fronts of the scores still to come."""
        return bool(self.fronts(dims, need)[self.analysis.component[0]])

    def fronts(self, dims: list[str], need: tuple) -> list:
        """Return, per component, the capped Pareto front of the scores still to come.

        Only ways that take no failing choice count. A component reached with scores
        between ``low`` and ``high`` (over such ways in) needs at most ``need - low`` more
        in each dimension, so more counts the same; and less than ``need - high`` can never
        be enough, so such a vector is dropped. A path reached with scores ``acc`` can still
        pass exactly when ``acc + v >= need`` for some vector ``v`` of its component's front.
        """
        ranges = self._prefix_ranges(dims)
        fronts: list = [None] * self.analysis.count
        for comp in range(self.analysis.count):
            if not self.analysis.can_end[comp] or ranges[comp] is None:
                continue
            low, high = ranges[comp]
            floor = tuple(n - h for n, h in zip(need, high, strict=True))
            cap = tuple(n - lo for n, lo in zip(need, low, strict=True))
            if self.analysis.is_ending_comp(comp):
                vectors = [(0,) * len(dims)]
            else:
                vectors = [
                    tuple(p + v for p, v in zip(points, rest, strict=True))
                    for target, points in self._safe_successors(comp, dims)
                    for rest in fronts[target] or ()
                ]
            self._count(len(vectors))
            capped = (tuple(map(min, vector, cap)) for vector in vectors)
            fronts[comp] = pareto(
                [v for v in capped if all(x >= f for x, f in zip(v, floor, strict=True))],
                self._count,
            )
        return fronts

    def _count(self, steps: int) -> None:
        """Count search steps in ``work``, refusing to go past ``FRONT_LIMIT``."""
        if self.work is None:
            return
        self.work.front_steps += steps
        if self.work.front_steps > FRONT_LIMIT:
            raise TooMuchWork


def percent(raw: int, minimum: int, maximum: int) -> int:
    """Return the format's percent of a raw score, as ``engine.percent`` does.

    Repeated here because the engine imports this module.
    """
    if maximum == minimum:
        return 100
    return (100 * (raw - minimum)) // (maximum - minimum)


def pareto(vectors: list[tuple], count=None) -> list[tuple]:
    """Return the vectors that no other vector matches or beats in every place.

    ``count`` is told of the comparisons made, before they are made.
    """
    unique = sorted(set(vectors), reverse=True)
    if not unique or len(unique[0]) <= 1:
        return unique[:1]
    front: list[tuple] = []
    if len(unique[0]) == 2:  # one sweep: in this order, keep what beats every second score
        for vector in unique:
            if not front or vector[1] > front[-1][1]:
                front.append(vector)
        return front
    for vector in unique:  # in descending order, a dominating vector always comes first
        if count is not None:
            count(len(front))
        if not any(all(f >= v for f, v in zip(kept, vector, strict=True)) for kept in front):
            front.append(vector)
    return front
