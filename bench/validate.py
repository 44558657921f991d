"""Benchmark the scenario validator on generated scenarios.

Run from the repository root:

    .venv/bin/python bench/validate.py            # full run, a few minutes
    .venv/bin/python bench/validate.py --quick    # short run, under ~30 s
    .venv/bin/python bench/validate.py --strict   # exit 1 if any goal is missed

Three parts, all generated in memory:

(a) Size: decision graphs (DAGs) from 100 nodes up to the largest that fits the format's
    1 MiB limit. Each node has 2-3 choices leading to later nodes, scored in two
    dimensions with pass marks, so the number of complete paths is astronomically large
    (it is computed, never enumerated; the table shows its digit count). Validation time
    (``load_bytes``: parse, schema, names, exploration, statistics) is compared with the
    time PyYAML's pure-Python ``yaml.safe_load`` takes merely to parse the same text.
    Goal: validation <= 3x that parse, at every size. libyaml's ``CSafeLoader`` is shown
    for information.
(a3) The same DAGs, smaller, scored in three pass-marked dimensions; same goal.
(b) States: flags multiply the reachable states (a chain of k toggles, then nodes that
    test the flags): time per reachable state should stay flat. Goal: the largest
    per-state cost is within 3x of the smallest. Then a scenario with more states than
    the limit, to show ``too-large`` comes back and how quickly.
(c) A "billion laughs" file (nested aliases) must be refused with ``unsafe-yaml`` at once,
    with little memory.
(d) Verdicts: the engine's ``Judge`` (explored states and capped Pareto fronts, built once
    per scenario and process, so that feedback and the debrief can say whether a choice
    cost the pass) against validating the same file, for the bundled library and for
    generated DAGs. Goal: building a Judge costs at most half of validating the file.

Exit status is 0 unless ``--strict`` is given and a goal is missed.
"""

import argparse
import gc
import os
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.scenario import load_bytes  # noqa: E402
from simulator.scenario.explore import STATE_LIMIT, analyse  # noqa: E402
from simulator.scenario.yamlsafe import MAX_BYTES  # noqa: E402

WORDS = (
    "officer victim caller neighbour interpreter status safety support referral statement "
    "door flat husband children shouting records colleague evidence risk housing fear "
    "language phone witness camera bruises"
).split()

RATIO_GOAL = 3.0
PER_STATE_GOAL = 3.0


def timed(function, repeat: int, budget: float = 5.0):
    """Return ``(best seconds, runs, last result)``; stop repeating once ``budget`` is spent."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        began = time.process_time()
        result = function()
        times.append(time.process_time() - began)
        if sum(times) > budget:
            break
    return min(times), len(times), result


def sentence(rng: random.Random, words: int) -> str:
    """Return a plain sentence of ``words`` words."""
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


# --------------------------------------------------------------------------- (a) size


DIMENSIONS = {"safety": "Victim safety", "rapport": "Communication", "evidence": "Evidence"}


def dag_scenario(nodes: int, seed: int = 1, dimensions: int = 2) -> bytes:
    """Return a decision DAG of ``nodes`` nodes, written compactly (flow-style choices).

    Node i offers 2-3 choices to nodes i+1..i+8 (the first always to i+1, so every node is
    reachable); the last three nodes are endings. Each choice scores in every dimension
    (two, or ``dimensions``), correlated as authors write them (a choice's quality -1..2,
    plus or minus 1 per dimension), and every dimension has a pass mark of 50. A third
    choice, when there is one, is an inappropriate share with feedback, so the search for a
    passing path has work to do.
    """
    rng = random.Random(seed)
    endings = 3
    dims = dict(list(DIMENSIONS.items())[:dimensions])
    lines = [
        "format: 1",
        "id: bench-dag",
        "title: Benchmark scenario",
        "summary: A generated decision graph for timing the validator.",
        "version: 1",
        f"dimensions: {{{', '.join(f'{k}: {v}' for k, v in dims.items())}}}",
        f"pass_marks: {{{', '.join(f'{k}: 50' for k in dims)}}}",
        "start: n0",
        "nodes:",
    ]
    for i in range(nodes - endings):
        lines.append(f"  n{i}:")
        lines.append(f"    text: {sentence(rng, 10)}")
        lines.append("    choices:")
        later = list(range(i + 2, min(nodes, i + 9)))
        targets = [i + 1] + rng.sample(later, min(len(later), rng.choice((1, 2))))
        for c, target in enumerate(targets):
            quality = rng.choice((-1, 0, 1, 2))  # good choices tend to score in every one
            score = ", ".join(f"{k}: {quality + rng.randint(-1, 1)}" for k in dims)
            extra = ", sharing: inappropriate, feedback: Doubts are no reason to share." * (c == 2)
            lines.append(
                f"    - {{id: c{c}, text: {sentence(rng, 5)}, next: n{target}, "
                f"score: {{{score}}}{extra}}}"
            )
    for i in range(nodes - endings, nodes):
        lines.append(f"  n{i}: {{end: {{outcome: Outcome {i}, debrief: {sentence(rng, 8)}}}}}")
    return ("\n".join(lines) + "\n").encode()


def largest_dag() -> tuple[int, bytes]:
    """Return the largest node count (and its text) whose DAG stays within 1 MiB."""
    low, high = 100, 100
    while len(dag_scenario(high)) <= MAX_BYTES:
        low, high = high, high * 2
    while high - low > 1:  # invariant: low fits, high does not
        middle = (low + high) // 2
        if len(dag_scenario(middle)) <= MAX_BYTES:
            low = middle
        else:
            high = middle
    return low, dag_scenario(low)


def part_a(quick: bool) -> bool:
    """Time validation against parsing at growing sizes; return whether every row passed."""
    print("(a) Size: validation (load_bytes) vs parsing alone (yaml.safe_load, pure Python)")
    print("    DAG scenarios, 2-3 scored choices per node (2 dimensions, pass marks 50/50).")
    print("    'explore' is analyse() alone (states, SCCs, counts, bounds, passability);")
    print("    'no marks' validates the same text without pass_marks (no passability search).")
    largest, largest_text = largest_dag()
    sizes = [100, 300, 600] if quick else [100, 300, 1000, 2000, largest]
    repeat = 3
    header = (
        f"{'nodes':>6} {'bytes':>9} {'states':>7} {'paths':>12} {'validate s':>11} "
        f"{'explore s':>10} {'no marks s':>11} {'safe_load s':>12} {'ratio':>6} "
        f"{'CSafeLoader s':>14}  goal"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for nodes in sizes:
        text = largest_text if nodes == largest else dag_scenario(nodes)
        validate, runs, report = timed(lambda t=text: load_bytes(t, "bench.yaml"), repeat)
        errors = [p for p in report.problems if p.is_error]
        assert not errors, errors[:3]
        explore, _, _ = timed(lambda r=report: analyse(r.scenario), 1)
        unmarked = without_marks(text)
        no_marks, _, _ = timed(lambda t=unmarked: load_bytes(t, "bench.yaml"), 1)
        parse, _, _ = timed(lambda t=text: yaml.safe_load(t), repeat)
        fast, _, _ = timed(lambda t=text: yaml.load(t, Loader=yaml.CSafeLoader), repeat)
        ratio = validate / parse
        good = ratio <= RATIO_GOAL
        ok &= good
        stats = report.stats
        paths = f"{len(str(stats.paths))} digits"
        note = "" if runs == repeat else f" ({runs} run)"
        print(
            f"{nodes:>6} {len(text):>9,} {stats.states:>7,} {paths:>12} {validate:>11.3f} "
            f"{explore:>10.3f} {no_marks:>11.3f} {parse:>12.3f} {ratio:>6.2f} {fast:>14.3f}  "
            f"{'PASS' if good else 'FAIL'}{note}"
        )
    if quick:
        print(f"    (--quick stops at 600 nodes; the full run goes up to {largest:,} nodes)")
    print(
        f"    largest node count within {MAX_BYTES:,} bytes: {largest:,} ({len(largest_text):,} B)"
    )
    return ok


def without_marks(text: bytes) -> bytes:
    """Return scenario text without its (one-line) ``pass_marks``."""
    return b"".join(line for line in text.splitlines(True) if not line.startswith(b"pass_marks"))


def part_a3(quick: bool) -> bool:
    """Time small DAGs scored in three pass-marked dimensions; return whether all passed."""
    print()
    print("(a3) The same DAGs scored in three dimensions, each with a pass mark (as the")
    print("     project's own scenarios are): the search for a passing path grows fastest here.")
    header = (
        f"{'nodes':>6} {'bytes':>9} {'validate s':>11} {'no marks s':>11} {'safe_load s':>12} "
        f"{'ratio':>6}  goal"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for nodes in [100, 200] if quick else [100, 200, 300]:
        text = dag_scenario(nodes, dimensions=3)
        validate, runs, report = timed(lambda t=text: load_bytes(t, "bench.yaml"), 3)
        assert report.scenario is not None, report.problems[:3]
        unmarked = without_marks(text)
        no_marks, _, _ = timed(lambda t=unmarked: load_bytes(t, "bench.yaml"), 1)
        parse, _, _ = timed(lambda t=text: yaml.safe_load(t), 3)
        ratio = validate / parse
        good = ratio <= RATIO_GOAL
        ok &= good
        note = "" if runs == 3 else f" ({runs} run)"
        print(
            f"{nodes:>6} {len(text):>9,} {validate:>11.3f} {no_marks:>11.3f} {parse:>12.3f} "
            f"{ratio:>6.2f}  {'PASS' if good else 'FAIL'}{note}"
        )
    return ok


# --------------------------------------------------------------------------- (b) states


def flag_scenario(toggles: int, tests: int) -> bytes:
    """Return a scenario whose reachable states grow as 2**toggles.

    A chain of ``toggles`` decisions each sets its own flag or not (2**toggles flag sets),
    then ``tests`` decisions each offer one choice when a flag is set and another when it
    is not; every flag set reaches every test node: about (tests + 2) * 2**toggles states.
    """
    flags = [f"f{i}" for i in range(toggles)]
    lines = [
        "format: 1",
        "id: bench-flags",
        "title: Benchmark scenario with flags",
        "summary: Independent flags multiply the reachable states.",
        "version: 1",
        "dimensions: {safety: Victim safety}",
        "pass_marks: {safety: 50}",
        f"flags: [{', '.join(flags)}]",
        "start: t0",
        "nodes:",
    ]
    for i, flag in enumerate(flags):
        nxt = f"t{i + 1}" if i + 1 < toggles else "q0"
        lines += [
            f"  t{i}:",
            "    text: Do you note this detail?",
            "    choices:",
            f"    - {{id: note, text: Note it., next: {nxt}, set: [{flag}]}}",
            f"    - {{id: skip, text: Leave it., next: {nxt}}}",
        ]
    for j in range(tests):
        flag = flags[j % toggles]
        nxt = f"q{j + 1}" if j + 1 < tests else "end"
        lines += [
            f"  q{j}:",
            "    text: What do you do next?",
            "    choices:",
            f"    - {{id: act, text: Act on it., next: {nxt}, when: {{all: [{flag}]}}, "
            "score: {safety: 2}}",
            f"    - {{id: ask, text: Ask again., next: {nxt}, when: {{none: [{flag}]}}, "
            "score: {safety: 1}}",
        ]
    lines.append("  end: {end: {outcome: Done, debrief: The debrief.}}")
    return ("\n".join(lines) + "\n").encode()


def part_b(quick: bool) -> bool:
    """Time validation as the reachable states grow; return whether the goal was met."""
    print()
    print("(b) States: time per reachable state as flags multiply them")
    print("    k toggle decisions (one flag each), then 30 decisions testing the flags.")
    tests = 30
    ks = [8, 10, 12] if quick else [8, 10, 12, 13, 14]
    header = (
        f"{'k':>3} {'bytes':>7} {'states':>9} {'validate s':>11} {'µs/state':>9} {'peak MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    costs = []
    for k in ks:
        text = flag_scenario(k, tests)
        repeat = 3 if k < 12 else 1
        validate, _, report = timed(lambda t=text: load_bytes(t, "bench.yaml"), repeat)
        assert not [p for p in report.problems if p.is_error], report.problems[:3]
        peak = ""
        if k == ks[-1] and not quick:
            gc.collect()
            tracemalloc.start()
            load_bytes(text, "bench.yaml")
            peak = f"{tracemalloc.get_traced_memory()[1] / 2**20:.0f}"
            tracemalloc.stop()
        states = report.stats.states
        per = validate / states * 1e6
        costs.append(per)
        print(f"{k:>3} {len(text):>7,} {states:>9,} {validate:>11.3f} {per:>9.2f} {peak:>9}")
    spread = max(costs) / min(costs)
    good = spread <= PER_STATE_GOAL
    print(
        f"    largest/smallest µs per state: {spread:.2f} (goal <= {PER_STATE_GOAL:.0f}): "
        f"{'PASS' if good else 'FAIL'}"
    )
    # over the state limit: refused with too-large at the start key
    text = flag_scenario(12, tests)
    limit = 50_000
    refuse, _, report = timed(lambda: load_bytes(text, "bench.yaml", limit=limit), 3)
    codes = sorted({p.code for p in report.problems if p.is_error})
    good_limit = codes == ["too-large"] and report.stats.too_large
    print(
        f"    over the limit: {report.stats.too_large and 'too-large' or 'accepted'} with "
        f"limit={limit:,} on a {flag_states(12, tests):,}-state file, refused in "
        f"{refuse:.3f} s; errors {codes}: {'PASS' if good_limit else 'FAIL'}"
    )
    if not quick:
        k = 15  # (30 + 2) * 2**15 = 1,048,576 states > 1,000,000
        text = flag_scenario(k, tests)
        refuse, _, report = timed(lambda: load_bytes(text, "bench.yaml"), 1)
        codes = sorted({p.code for p in report.problems if p.is_error})
        good_real = codes == ["too-large"] and report.stats.too_large
        good_limit &= good_real
        print(
            f"    at the real limit ({STATE_LIMIT:,}): a {flag_states(k, tests):,}-state file "
            f"is refused in {refuse:.2f} s; errors {codes}: {'PASS' if good_real else 'FAIL'}"
        )
    return good and good_limit


def flag_states(toggles: int, tests: int) -> int:
    """Return the reachable states of ``flag_scenario``: 2**i at t_i, 2**k after."""
    return (2**toggles - 1) + (tests + 1) * 2**toggles


# --------------------------------------------------------------------------- (c) aliases


def billion_laughs(levels: int = 9) -> bytes:
    """Return the classic nested-alias bomb: 10**levels 'lol's once every alias expands."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def part_c() -> bool:
    """Check that a billion-laughs file is refused at once, with little memory."""
    print()
    print("(c) Billion laughs: nested aliases that expand to 10**9 strings")
    text = billion_laughs()
    gc.collect()
    tracemalloc.start()
    began = time.process_time()
    report = load_bytes(text, "laughs.yaml")
    took = time.process_time() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    codes = [(p.code, p.line, p.column) for p in report.problems]
    good = [c for c, *_ in codes] == ["unsafe-yaml"] and took < 0.5 and peak < 16 * 2**20
    print(
        f"    {len(text)} bytes: {codes} in {took * 1000:.2f} ms, peak traced memory "
        f"{peak / 1024:.0f} KiB: {'PASS' if good else 'FAIL'}"
    )
    return good


JUDGE_GOAL = 0.5


def part_d(quick: bool) -> bool:
    """Time building the engine's Judge against validating the same scenario."""
    from simulator import engine

    print()
    print("(d) Verdicts: building engine.Judge vs validating the same file (load_bytes)")
    header = f"{'scenario':<28} {'bytes':>9} {'validate s':>11} {'judge s':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    library = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))
    cases = [(path.stem, path.read_bytes()) for path in library]
    cases += [(f"dag-{n}", dag_scenario(n)) for n in ((100, 300) if quick else (100, 300, 1000))]
    worst = 0.0
    for name, text in cases:
        validate, _, report = timed(lambda text=text: load_bytes(text, "bench.yaml"), 3)
        judge, _, _ = timed(lambda scenario=report.scenario: engine.Judge(scenario), 3)
        worst = max(worst, judge / validate)
        print(
            f"{name:<28} {len(text):>9,} {validate:>11.4f} {judge:>9.4f} {judge / validate:>6.2f}"
        )
    good = worst <= JUDGE_GOAL
    print(f"    worst ratio {worst:.2f} (goal <= {JUDGE_GOAL}): {'PASS' if good else 'FAIL'}")
    return good


def main(argv=None) -> int:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under ~30 s)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args(argv)
    print("Scenario validator benchmark" + (" (quick)" if args.quick else ""))
    print(
        f"Python {platform.python_version()}, PyYAML {yaml.__version__} "
        f"(libyaml {'yes' if yaml.__with_libyaml__ else 'no'}), {os.cpu_count()} CPUs, "
        f"{platform.machine()}"
    )
    print(
        "Times are CPU seconds of this process (time.process_time, steady on a shared\n"
        "machine), the best of up to 3 runs (fewer once a size has taken 5 s); 'ratio' is\n"
        "validation time / yaml.safe_load time on the same bytes.\n"
    )
    began = time.perf_counter()
    results = [
        part_a(args.quick),
        part_a3(args.quick),
        part_b(args.quick),
        part_c(),
        part_d(args.quick),
    ]
    print(
        f"\nAll goals met: {'yes' if all(results) else 'NO'} "
        f"(total {time.perf_counter() - began:.0f} s)"
    )
    return 1 if args.strict and not all(results) else 0


if __name__ == "__main__":
    sys.exit(main())
