"""Report how well a scenario measures judgement: verdicts, lengths and blind strategies.

    .venv/bin/python scripts/library_report.py scenarios/doorstep.yaml [...]

For each file: every decision's options with their verdict class and length rank; which
fixed-position strategies (always first, last, longest or shortest option, in file order)
pass; the share of decisions whose best option is also the longest; and whether a path
that avoids every proper share can pass. The same rules are tested in tests/test_library.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.quality import (  # noqa: E402
    best_is_longest,
    option_classes,
    passes_avoiding_proper_shares,
    strategy_results,
    uniform_pass_rate,
)
from simulator.scenario import load_file  # noqa: E402


def report(path: str) -> bool:
    """Print the report for one file; return whether every rule holds."""
    loaded = load_file(path)
    print(f"== {path}")
    if loaded.scenario is None:
        for problem in loaded.problems:
            print(f"  {problem}")
        print("  not valid: fix the problems above first")
        return False
    scenario = loaded.scenario
    for node_id, classes in option_classes(scenario).items():
        print(f"  {node_id}:")
        for choice, kind, rank in classes:
            print(f"    [{kind:>10}] len#{rank} {choice.id}")
    ok = True
    strategies = strategy_results(scenario)
    for name, passed in strategies.items():
        print(f"  strategy always-{name} (file order): {'PASSES (bad)' if passed else 'fails'}")
        ok = ok and not passed
    longest, total = best_is_longest(scenario)
    share = longest / total if total else 0
    flag = "ok" if longest * 3 <= total else "TOO MANY (at most a third)"
    print(f"  best option is the longest in {longest} of {total} decisions ({share:.0%}): {flag}")
    ok = ok and longest * 3 <= total
    avoiding = passes_avoiding_proper_shares(scenario)
    if avoiding is None:
        print("  proper shares: none in this scenario")
    else:
        print(f"  a path avoiding every proper share {'PASSES (bad)' if avoiding else 'fails'}")
        ok = ok and not avoiding
    print(f"  uniform random play passes {uniform_pass_rate(scenario):.2%} of the time")
    print(f"  => {'all rules hold' if ok else 'SOME RULES FAIL'}")
    return ok


if __name__ == "__main__":
    results = [report(p) for p in sys.argv[1:]]
    sys.exit(0 if results and all(results) else 1)
