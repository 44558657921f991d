"""The bundled scenario library: valid, playable, and true to its teaching purpose."""

import random
import re
from pathlib import Path

import pytest

from simulator import engine, quality
from simulator.scenario import load_file, validate_paths

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(p for p in LIBRARY.rglob("*") if p.suffix in (".yaml", ".yml"))


@pytest.fixture(scope="module", params=FILES, ids=lambda p: p.stem)
def report(request):
    """Each bundled scenario file, loaded."""
    return load_file(request.param)


def needs(scenario):
    """Return the smallest raw score that reaches each pass mark."""
    need = {}
    for dim, mark in scenario.pass_marks.items():
        low, high = scenario.score_bounds[dim]
        need[dim] = next(r for r in range(low, high + 1) if engine.percent(r, low, high) >= mark)
    return need


def fronts(scenario, allowed):
    """Map each state to the best score vectors of its ways to an ending along ``allowed``."""
    dims = list(scenario.pass_marks)
    memo = {}

    def front(state):
        if state in memo:
            return memo[state]
        if engine.is_ending(scenario, state):
            memo[state] = {(0,) * len(dims)}
            return memo[state]
        vectors = set()
        for choice in engine.offered_choices(scenario, state):
            if allowed(choice):
                after = engine.apply_choice(scenario, state, choice.id)
                points = [choice.score.get(d, 0) for d in dims]
                vectors |= {
                    tuple(p + v for p, v in zip(points, rest, strict=True))
                    for rest in front(after)
                }
        memo[state] = {
            v
            for v in vectors
            if not any(w != v and all(a >= b for a, b in zip(w, v, strict=True)) for w in vectors)
        }
        return memo[state]

    return front


def meets(acc, rest, need):
    """Return whether ``acc`` plus ``rest`` reaches ``need`` in every place."""
    return all(a + v >= n for a, v, n in zip(acc, rest, need, strict=True))


def passing_path(scenario, allowed=lambda choice: not choice.fails):
    """Return a complete path along ``allowed`` choices that reaches every mark, or None."""
    front, dims = fronts(scenario, allowed), list(scenario.pass_marks)
    need = [needs(scenario)[d] for d in dims]
    state, acc, path = engine.State(scenario.start), [0] * len(dims), []
    if not any(meets(acc, vec, need) for vec in front(state)):
        return None
    while not engine.is_ending(scenario, state):
        for choice in engine.offered_choices(scenario, state):
            if not allowed(choice):
                continue
            after = engine.apply_choice(scenario, state, choice.id)
            gained = [a + choice.score.get(d, 0) for a, d in zip(acc, dims, strict=True)]
            if any(meets(gained, vec, need) for vec in front(after)):
                state, acc = after, gained
                path.append(choice.id)
                break
    return path


def random_paths(scenario, count=2_000, seed=1):
    """Return ``count`` complete paths taken along random offered choices."""
    rng, paths = random.Random(seed), []
    for _ in range(count):
        state, path = engine.State(scenario.start), []
        while not engine.is_ending(scenario, state):
            choice = rng.choice(engine.offered_choices(scenario, state))
            state = engine.apply_choice(scenario, state, choice.id)
            path.append(choice.id)
        paths.append(path)
    return paths


def test_library_has_at_least_twelve_scenarios():
    """The library offers at least twelve scenarios."""
    assert len(FILES) >= 12


def test_library_validates_strictly_with_distinct_ids():
    """The whole library has no error or warning, and no two files share an id."""
    library = validate_paths([LIBRARY])
    assert [str(p) for p in library.problems] == []
    assert library.exit_code(strict=True) == 0
    ids = [r.scenario.id for r in library.files]
    assert len(ids) == len(set(ids))


def test_scenario_is_valid(report):
    """Each scenario validates with no problem at all."""
    assert [str(p) for p in report.problems] == []


def test_scenario_has_the_required_shape(report):
    """Each scenario has 15-40 nodes, 3+ endings, 3+ cast rows, 2+ marked dimensions."""
    scenario = report.scenario
    assert 15 <= len(scenario.nodes) <= 40
    assert sum(node.is_ending for node in scenario.nodes.values()) >= 3
    assert report.stats.endings >= 3
    assert len(scenario.cast) >= 3
    assert len(scenario.dimensions) >= 2
    assert set(scenario.pass_marks) == set(scenario.dimensions)


def test_every_decision_is_tagged_and_every_choice_explained(report):
    """Decisions carry NDM stages; every choice has feedback citing references."""
    decisions = [n for n in report.scenario.nodes.values() if n.kind == "decision"]
    assert all(node.ndm for node in decisions)
    for node in decisions:
        for choice in node.choices:
            assert choice.feedback, f"{node.id}/{choice.id} has no feedback"
            assert choice.refs, f"{node.id}/{choice.id} cites no reference"
    assert sum(node.rationale != "none" for node in decisions) >= 2


def test_content_note(report):
    """The summary or objectives warn that the scenario deals with domestic abuse."""
    scenario = report.scenario
    words = " ".join((scenario.summary, *scenario.objectives)).lower()
    assert "content note" in words or "content warning" in words


def test_inappropriate_paths_fail(report):
    """Every sampled complete path with an inappropriate share fails, and ends."""
    scenario = report.scenario
    failed = 0
    for path in random_paths(scenario):
        result = engine.result(scenario, path)
        assert result.ending is not None
        if result.failed_sharing:
            failed += 1
            assert not result.passed
    assert failed > 0


def test_a_path_passes(report):
    """Some complete path passes: no inappropriate share, no critical error, every mark."""
    path = passing_path(report.scenario)
    assert path is not None
    result = engine.result(report.scenario, path)
    assert result.passed and result.ending is not None


def has_proper_share(path):
    """Return whether the scenario file at ``path`` has a choice marked appropriate."""
    nodes = load_file(path).scenario.nodes.values()
    return any(c.sharing == "appropriate" for n in nodes for c in n.choices)


WITH_SHARE = [f for f in FILES if has_proper_share(f)]


@pytest.mark.parametrize("path", WITH_SHARE, ids=lambda p: p.stem)
def test_never_sharing_does_not_pass_where_a_proper_share_exists(path):
    """Where a scenario has a proper share, no path that avoids every proper share passes."""
    scenario = load_file(path).scenario
    assert passing_path(scenario, lambda c: c.sharing is None and not c.critical) is None
    assert quality.passes_avoiding_proper_shares(scenario) is False


def test_several_scenarios_score_a_proper_share():
    """At least three scenarios teach that some sharing is right."""
    assert len(WITH_SHARE) >= 3


def test_decision_point_map_covers_d1_to_d28_with_real_nodes():
    """docs/scenarios.md maps every decision point D1-D28 to real scenarios and nodes."""
    doc = (LIBRARY.parent / "docs" / "scenarios.md").read_text()
    scenarios = {r.scenario.id: r.scenario for r in map(load_file, FILES)}
    covered = set()
    for number, scenario_id, cells in re.findall(
        r"^\| D(\d+) \| [^|]* \| `([a-z0-9-]+)` \| ([^|]*) \|$", doc, re.M
    ):
        assert scenario_id in scenarios, scenario_id
        scenario = scenarios[scenario_id]
        names = set(scenario.nodes) | {c.id for n in scenario.nodes.values() for c in n.choices}
        named = re.findall(r"`([a-z0-9_-]+)`", cells)
        assert named and set(named) <= names, (scenario_id, named)
        covered.add(int(number))
    assert covered == set(range(1, 29))


@pytest.mark.parametrize("strategy", quality.STRATEGIES)
def test_no_fixed_position_strategy_passes_in_file_order(report, strategy):
    """Always the first, last, longest or shortest option, in file order, never passes."""
    assert quality.strategy_results(report.scenario)[strategy] is False


def test_best_option_is_the_longest_in_at_most_a_third_of_decisions(report):
    """Length gives the best option away in no more than a third of the decisions."""
    longest, decisions = quality.best_is_longest(report.scenario)
    assert longest * 3 <= decisions, f"{longest} of {decisions}"


def test_errors_earn_nothing(report):
    """Inappropriate shares and critical choices score no points in any dimension."""
    for node in report.scenario.nodes.values():
        for choice in node.choices:
            if choice.fails:
                assert all(p <= 0 for p in choice.score.values()), f"{node.id}/{choice.id}"


SEEDS = 1_000
ALPHA = 1e-6  # each statistical test below fails by chance at most once in a million runs


def test_always_first_in_shuffled_order_passes_no_more_often_than_random_play(report):
    """Over 1,000 seeds, always taking the first option shown passes no more often than
    uniform random play: at most the 1 - 1e-6 quantile of Binomial(1000, p), where p is the
    exact probability that uniform random play passes."""
    from scipy.stats import binom

    scenario = report.scenario
    p = quality.uniform_pass_rate(scenario)
    passes = sum(quality.always_first_shuffled(scenario, seed) for seed in range(SEEDS))
    assert passes <= binom.ppf(1 - ALPHA, SEEDS, p), (passes, p)


def test_shuffled_order_is_stable_for_an_attempt_and_varies_across_attempts(report):
    """Each decision's order is the same on every call for one seed, and across 1,000 seeds
    the first option shown is uniform over those offered: a chi-square test at 1e-6,
    divided among the decisions tested (Bonferroni)."""
    from scipy.stats import chisquare

    scenario = report.scenario
    offers = [
        (node_id, state, offered)
        for node_id, states in quality.decision_states(scenario).items()
        if scenario.nodes[node_id].order == "shuffled"
        for state, offered in states[:1]
        if len(offered) >= 2
    ]
    assert offers
    for node_id, state, offered in offers:
        counts = dict.fromkeys((c.id for c in offered), 0)
        for seed in range(SEEDS):
            shown = engine.shown_choices(scenario, state, seed, engine.SHUFFLED)
            assert shown == engine.shown_choices(scenario, state, seed, engine.SHUFFLED)
            counts[shown[0].id] += 1
        p_value = chisquare(list(counts.values())).pvalue
        assert p_value > ALPHA / len(offers), (node_id, counts)


ERROR_ROW = re.compile(
    r"^\| D(\d+) \| [^|]+ \| `([a-z0-9-]+)` \| `([a-z0-9_-]+)` \| `([a-z0-9_-]+)` \|$", re.M
)


def test_every_documented_error_is_critical_or_an_inappropriate_share():
    """Each choice docs/scenarios.md maps to a brief's "inappropriate" item fails the attempt."""
    doc = (LIBRARY.parent / "docs" / "scenarios.md").read_text()
    scenarios = {r.scenario.id: r.scenario for r in map(load_file, FILES)}
    rows = ERROR_ROW.findall(doc)
    assert len({scenario_id for _, scenario_id, _, _ in rows}) == len(scenarios)
    for number, scenario_id, node_id, choice_id in rows:
        assert 1 <= int(number) <= 28
        node = scenarios[scenario_id].nodes[node_id]
        choice = next(c for c in node.choices if c.id == choice_id)
        assert choice.fails, f"D{number}: {scenario_id}/{node_id}/{choice_id}"
