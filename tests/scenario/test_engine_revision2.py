"""Revision 2 in the engine: choice order, critical errors, verdicts, grade, time to decide."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator import engine
from simulator.scenario import load_bytes

from .helpers import check

JUDGED = """\
format: 1
id: judged
title: Judged
summary: Two decisions, to judge each kind of choice.
version: 1
dimensions:
  safety: Safety
  evidence: Evidence
pass_marks:
  safety: 60
  evidence: 50
start: first
nodes:
  first:
    text: First.
    choices:
      - id: best
        text: Best.
        next: second
        score: {safety: 3, evidence: 2}
      - id: tradeoff
        text: Trade-off.
        next: second
        score: {safety: 4, evidence: 1}
      - id: weaker
        text: Weaker.
        next: second
        score: {safety: 2, evidence: 2}
      - id: fatal
        text: Fatal.
        next: second
        score: {safety: -1}
      - id: promise
        text: Promise.
        next: second
        critical: true
        feedback: No.
      - id: share
        text: Share.
        next: second
        sharing: inappropriate
        critical: true
        feedback: No.
  second:
    text: Second.
    choices:
      - id: finish
        text: Finish.
        next: done
        score: {safety: 1}
      - id: stop
        text: Stop.
        next: done
  done:
    end: {outcome: Done, debrief: Over.}
"""


@pytest.fixture(scope="module")
def judged():
    """The scenario above, loaded."""
    report = check(JUDGED)
    assert report.problems == []
    return report.scenario


@pytest.mark.parametrize(
    ("first", "verdict"),
    [
        ("best", engine.GOOD),
        ("tradeoff", engine.GOOD),  # better in safety, worse in evidence: not dominated
        ("weaker", engine.BETTER_AVAILABLE),  # 'best' is as good in evidence, better in safety
        ("fatal", engine.COSTS_THE_PASS),  # no passing ending is reachable after it
        ("promise", engine.CRITICAL),
        ("share", engine.INAPPROPRIATE_SHARE),  # reported by the sharing criterion, not twice
    ],
)
def test_verdict_of_a_first_choice(judged, first, verdict):
    """Each choice gets the first verdict that applies, in the state where it was taken."""
    (judgement,) = engine.verdicts(judged, [first])
    assert judgement.verdict == verdict


def test_verdicts_of_the_options_not_taken(judged):
    """The options offered beside a choice carry the verdict they would have had."""
    (judgement,) = engine.verdicts(judged, ["best"])
    assert dict((c.id, v) for c, v in judgement.offered) == {
        "best": engine.GOOD,
        "tradeoff": engine.GOOD,
        "weaker": engine.BETTER_AVAILABLE,
        "fatal": engine.COSTS_THE_PASS,
        "promise": engine.CRITICAL,
        "share": engine.INAPPROPRIATE_SHARE,
    }


def test_costs_the_pass_depends_on_the_points_so_far(judged):
    """'stop' is better-available after 'best' (the pass survives) but costs it after 'weaker'."""
    after_best = engine.verdicts(judged, ["best", "stop"])[1]
    after_weaker = engine.verdicts(judged, ["weaker", "stop"])[1]
    assert after_best.verdict == engine.BETTER_AVAILABLE
    assert after_weaker.verdict == engine.COSTS_THE_PASS


def test_nothing_costs_the_pass_once_it_is_lost(judged):
    """After a failing choice no pass is reachable, so nothing later can cost it."""
    later = engine.verdicts(judged, ["promise", "stop"])[1]
    assert later.verdict == engine.BETTER_AVAILABLE


def test_critical_error_fails_the_attempt_whatever_the_points(judged):
    """A critical choice fails the attempt and is reported after the sharing criterion."""
    result = engine.result(judged, ["promise", "finish"])
    assert result.sharing_passed and not result.passed
    assert result.critical_errors == (("first", "promise"),)
    assert result.grade == 0


def test_a_choice_both_inappropriate_and_critical_is_counted_once(judged):
    """The sharing criterion reports it; it is not also a critical error."""
    result = engine.result(judged, ["share", "finish"])
    assert result.failed_sharing == (("first", "share"),)
    assert result.critical_errors == ()


@pytest.mark.parametrize(
    ("path", "grade", "passed"),
    [
        (["best", "finish"], 83, True),  # safety 4 of -1..5 is 83%; evidence 100%
        (["tradeoff", "finish"], 50, True),  # evidence 1 of 0..2 is the lowest, 50%
        (["weaker", "finish"], 66, True),
        (["fatal", "finish"], 0, False),  # missing the marks: the lowest percent is 0
        (["share", "finish"], 0, False),
    ],
)
def test_grade_is_the_lowest_percent_or_zero(judged, path, grade, passed):
    """The grade is 0 on a failed criterion or critical error, else the lowest percent."""
    result = engine.result(judged, path)
    assert (result.grade, result.passed) == (grade, passed)


def test_grade_without_dimensions_is_100():
    """A scenario that scores no dimension grades a clean path 100."""
    assert engine.grade(True, False, ()) == 100
    assert engine.grade(True, True, ()) == 0


def test_shown_order_is_stable_for_an_attempt(judged):
    """The same seed and node always give the same order, in any process."""
    state = engine.State("first")
    orders = {
        tuple(c.id for c in engine.shown_choices(judged, state, 1234, engine.SHUFFLED))
        for _ in range(5)
    }
    # A fixed reference: changing the rule would reorder every attempt in progress.
    assert orders == {REFERENCE_ORDER}


def test_shown_order_varies_across_attempts(judged):
    """Over many seeds the first option shown is each of the six about equally often."""
    state = engine.State("first")
    firsts = Counter(
        engine.shown_choices(judged, state, seed, engine.SHUFFLED)[0].id for seed in range(6000)
    )
    assert set(firsts) == {c.id for c in judged.nodes["first"].choices}
    assert all(700 < n < 1300 for n in firsts.values())


def test_file_order_rule_and_fixed_decisions_keep_file_order(judged):
    """Attempts begun before revision 2, and 'order: fixed' decisions, show file order."""
    state = engine.State("first")
    offered = engine.offered_choices(judged, state)
    assert engine.shown_choices(judged, state, 99, engine.FILE_ORDER) == offered
    fixed = check(JUDGED.replace("    text: First.\n", "    text: First.\n    order: fixed\n"))
    assert fixed.problems == []
    for seed in range(20):
        shown = engine.shown_choices(fixed.scenario, state, seed, engine.SHUFFLED)
        assert shown == engine.offered_choices(fixed.scenario, state)


def test_order_rule_follows_the_revision_a_version_was_accepted_by():
    """New attempts shuffle on revision-2 versions and keep file order on revision-1 ones."""
    assert engine.order_rule(check(JUDGED).scenario) == engine.SHUFFLED
    old = load_bytes(JUDGED.encode(), "t.yaml", revision=1).scenario
    assert engine.order_rule(old) == engine.FILE_ORDER


REFERENCE_ORDER = ("tradeoff", "weaker", "fatal", "share", "promise", "best")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (T0 + timedelta(seconds=50), 10_000),  # from when the node was shown
        (None, 60_000),  # not recorded: from the previous choice
        (T0 + timedelta(seconds=90), 60_000),  # a showing after the choice is ignored
    ],
)
def test_time_to_decide(shown, expected):
    """Time to decide runs from the node's first showing for that step to the choice."""
    assert engine.time_to_decide(T0 + timedelta(seconds=60), shown, T0) == expected


LIBRARY = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_judging_the_last_choice_alone_agrees_with_judging_the_path(path):
    """A step's request judges only the choice just taken (`last_verdict`): on 40 seeded
    random walks through each bundled scenario, it equals the whole path's last verdict
    and options at every step, whatever came before (failing choices included)."""
    scenario = load_bytes(path.read_bytes(), path.name).scenario
    rng = random.Random(path.stem)
    compared = 0
    for _ in range(40):
        choice_ids, state = [], engine.State(scenario.start)
        while not engine.is_ending(scenario, state):
            choice = rng.choice(engine.offered_choices(scenario, state))
            choice_ids.append(choice.id)
            assert (
                engine.last_verdict(scenario, choice_ids)
                == engine.verdicts(scenario, choice_ids)[-1]
            )
            compared += 1
            state = engine.replay(scenario, choice_ids)
    assert compared >= 40


def test_an_empty_path_has_no_last_verdict(judged):
    """There is no last choice to judge before the first is taken."""
    with pytest.raises(ValueError, match="empty path"):
        engine.last_verdict(judged, [])
