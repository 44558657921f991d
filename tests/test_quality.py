"""The library's measures of judgement, on the format's own small example."""

from pathlib import Path

from simulator import quality
from simulator.scenario import load_file

SPEC = Path(__file__).parent / "scenario" / "spec_example.yaml"


def example():
    """Return the format's example scenario."""
    return load_file(SPEC).scenario


def test_uniform_pass_rate_is_exact():
    """Random play passes only by interpreter then reassure: 1/2 x 1/2."""
    assert quality.uniform_pass_rate(example()) == 0.25


def test_fixed_position_strategies_are_played_through():
    """Always-first passes the example (its best options come first); always-last fails."""
    results = quality.strategy_results(example())
    assert results["first"] is True and results["last"] is False


def test_option_classes_mark_shares_and_best():
    """The share is classed as one, the interpreter as best."""
    classes = {c.id: kind for c, kind, _ in quality.option_classes(example())["arrival"]}
    assert classes == {"interpreter": "best", "check-status": "share"}


def test_a_path_avoiding_proper_shares_is_reported_when_there_is_none():
    """The example has no proper share, so the question does not arise."""
    assert quality.passes_avoiding_proper_shares(example()) is None
