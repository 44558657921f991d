"""Benchmark the validator's worst case found: "did you mean" over long near-miss names.

Run from the repository root:

    .venv/bin/python bench/validate_worst.py

A security test found a 38 KB file that took 60 s to validate: every ``next`` named a node
that did not exist, each a near miss of one of many long node names, and each unknown name
was compared with every node name by edit distance, with no bound on their length. This
script builds such files (names of 64 characters, the schema's limit, where the edit
distance is still computed, and of 300 characters, refused on length), and times them
against a baseline in the same run: validating the largest bundled scenario. It prints the
work counted (``simulator.scenario.work.Work``) beside the times. Goal: every file within
5 s of CPU. Exit status 1 if the goal is missed.
"""

import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.scenario import load_bytes  # noqa: E402

GOAL_SECONDS = 5.0


def near_misses(nodes: int, length: int) -> bytes:
    """Return a file of ``nodes`` steps with names of ``length`` characters, each ``next``
    naming a node that does not exist but differs from one by a single letter."""
    names = [f"n{i:03d}-" + "a" * (length - 5) for i in range(nodes)]
    lines = ["format: 1", "id: worst", "title: T", "summary: S", "version: 1"]
    lines += [f"start: {names[0]}", "nodes:"]
    for name in names:
        lines += [f"  {name}:", "    text: Hello.", f"    next: {name[:-1]}b"]
    lines.append("  e: {end: {outcome: O, debrief: D.}}")
    return ("\n".join(lines) + "\n").encode()


def timed(data: bytes) -> tuple[float, object]:
    """Return the best CPU seconds of three validations, and the last report."""
    best, report = None, None
    for _ in range(3):
        gc.collect()
        began = time.process_time()
        report = load_bytes(data, "bench.yaml")
        took = time.process_time() - began
        best = took if best is None else min(best, took)
    return best, report


def main() -> int:
    """Print the table and return 1 if a file took longer than the goal."""
    largest = max((ROOT / "scenarios").glob("*.yaml"), key=lambda p: p.stat().st_size)
    cases = [(f"baseline: {largest.name}", largest.read_bytes())]
    cases += [
        ("near misses, 64-char names x 60", near_misses(60, 64)),
        ("near misses, 64-char names x 500", near_misses(500, 64)),
        ("near misses, 300-char names x 60 (38 KB)", near_misses(60, 300)),
        ("near misses, 300-char names x 1600 (1 MiB)", near_misses(1600, 300)),
    ]
    header = (
        f"{'file':<44} {'bytes':>9} {'CPU s':>8} {'problems':>8} {'edit cells':>11} {'events':>7}"
    )
    print("Validator worst case: CPU seconds (time.process_time), best of 3")
    print(header)
    print("-" * len(header))
    worst = 0.0
    baseline = None
    for name, data in cases:
        seconds, report = timed(data)
        baseline = seconds if baseline is None else baseline
        worst = max(worst, seconds)
        work = report.work
        print(
            f"{name:<44} {len(data):>9,} {seconds:>8.4f} {len(report.problems):>8} "
            f"{work.edit_cells:>11,} {work.yaml_events:>7,}"
        )
    good = worst <= GOAL_SECONDS
    print(
        f"worst {worst:.3f} s ({worst / baseline:.1f}x the baseline), goal <= {GOAL_SECONDS} s: "
        f"{'PASS' if good else 'FAIL'}"
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
