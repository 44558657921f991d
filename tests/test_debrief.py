"""How the debrief groups and times decisions (verdicts are the engine's: test_engine)."""

from types import SimpleNamespace

import pytest
from helpers import BEST_PATH, CHECK_PATH, doorstep

from simulator import engine
from simulator.debrief import (
    OTHER_STAGE,
    VERDICTS,
    Decision,
    Option,
    decisions,
    duration,
    grouped_by_stage,
    last_decision,
)
from simulator.scenario import load_bytes


def test_grouped_by_stage_in_model_order():
    """Decisions are grouped by NDM stage in the model's order, untagged ones last."""
    log = [SimpleNamespace(ndm=n) for n in ("options", None, "information", "options")]
    groups = grouped_by_stage(log)
    assert [label for label, _ in groups] == [
        "Gather information and intelligence",
        "Identify options and contingencies",
        OTHER_STAGE,
    ]
    assert len(groups[1][1]) == 2


def test_untagged_log_is_one_group():
    """Without NDM tags the log is one list."""
    log = [SimpleNamespace(ndm=None)]
    assert grouped_by_stage(log) == [(None, log)]


@pytest.mark.parametrize(
    ("ms", "words"),
    [(0, "0 seconds"), (1000, "1 second"), (59_400, "59 seconds"), (125_000, "2 min 5 s")],
)
def test_duration(ms, words):
    """Time taken reads plainly."""
    assert duration(ms) == words


def option(key, points, chosen=False):
    """Return an option of a decision with the engine verdict ``key``."""
    return Option(f"{key} {points}", VERDICTS[key], chosen, None, [], points)


def test_the_better_option_is_the_good_one_worth_most():
    """What to work on names the good option worth most, never a worse one."""
    chosen = option(engine.INAPPROPRIATE_SHARE, 0, chosen=True)
    options = [
        chosen,
        option(engine.CRITICAL, 3),
        option(engine.GOOD, 1),
        option(engine.GOOD, 4),
        option(engine.BETTER_AVAILABLE, 5),
    ]
    decision = Decision(
        1, 1, "Q", "C", chosen.verdict, None, None, [], options, False, None, 0, None
    )
    assert decision.better.text == "good 4"


def test_without_a_good_option_the_least_bad_is_named():
    """Where no option offered was good, the least serious verdict wins."""
    chosen = option(engine.CRITICAL, 0, chosen=True)
    options = [chosen, option(engine.INAPPROPRIATE_SHARE, 2), option(engine.COSTS_THE_PASS, 1)]
    decision = Decision(
        1, 1, "Q", "C", chosen.verdict, None, None, [], options, False, None, 0, None
    )
    assert decision.better.text == "costs the pass 1"


@pytest.mark.parametrize("path", [BEST_PATH, CHECK_PATH])
def test_the_last_decision_is_the_logs_last(path):
    """A feedback page's decision is the log's last as the whole log describes it, or
    None after a step that was no decision."""
    scenario = load_bytes(doorstep().encode(), "doorstep.yaml").scenario
    row, rule = engine.cast_row(scenario, 0), engine.order_rule(scenario)
    steps = [
        SimpleNamespace(step_number=n, choice_id=c, rationale=None, elapsed_ms=n)
        for n, c in enumerate(path)
    ]
    for number in range(1, len(steps) + 1):
        log = decisions(scenario, steps[:number], row, 7, rule)
        expected = log[-1] if log and log[-1].number == number else None
        assert last_decision(scenario, steps[:number], row, 7, rule) == expected
