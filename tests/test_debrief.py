"""How the debrief groups and times decisions (verdicts are the engine's: test_engine)."""

from types import SimpleNamespace

import pytest

from simulator.debrief import OTHER_STAGE, duration, grouped_by_stage


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
