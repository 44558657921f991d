"""How feedback judges a choice, and how the debrief groups and times decisions."""

from types import SimpleNamespace

import pytest

from simulator.debrief import OTHER_STAGE, duration, grouped_by_stage, verdict
from simulator.scenario.model import Choice


def choice(id, points=0, sharing=None):
    """Return a choice worth some points in one dimension."""
    return Choice(id=id, text=id, next="end", score={"safety": points}, sharing=sharing)


@pytest.mark.parametrize(
    ("taken", "kind"),
    [
        ("best", "good"),
        ("tied", "good"),
        ("middling", "better-available"),
        ("harmful", "poor"),
        ("shares", "critical"),
    ],
)
def test_verdict(taken, kind):
    """A choice is judged against the best safe choice offered with it."""
    offered = [
        choice("best", 2),
        choice("tied", 2),
        choice("middling", 1),
        choice("harmful", -1),
        choice("shares", 5, "inappropriate"),
    ]
    chosen = next(c for c in offered if c.id == taken)
    assert verdict(chosen, offered).kind == kind


def test_only_choice_is_good():
    """A choice with nothing better beside it is a good one."""
    assert verdict(choice("only"), [choice("only")]).kind == "good"


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
