"""A scenario's statistics in sentences a trainer reads (``stats.describe``)."""

import textwrap

from hypothesis import given

from simulator.scenario.stats import describe

from .helpers import BASE, check, replace
from .test_codes import TRADE_OFF, looping
from .test_properties import ANY_SCENARIO, SETTINGS, expect, fails, load, percent

HEAD = """\
format: 1
id: words
title: Words
summary: A scenario for the statistics in words.
version: 1
"""
ONE_WAY = "1 complete path from the start to an ending"


def scenario(body: str) -> str:
    """Return a scenario file: the usual head, then ``body`` (dedented)."""
    return HEAD + textwrap.dedent(body)


NEAR_MISS = scenario(
    """\
    dimensions: {safeguarding: Safeguarding, investigation: Investigation}
    pass_marks: {safeguarding: 70}
    start: pick
    nodes:
      pick:
        text: Which way?
        choices:
          - {id: careful, text: Careful., next: done, score: {safeguarding: 6, investigation: 2}}
          - {id: rash, text: Rash., next: done, score: {safeguarding: 10}, critical: true,
             feedback: Never.}
          - {id: idle, text: Idle., next: done}
      done:
        end: {outcome: Done, debrief: Over.}
    """
)


def test_a_passable_scenario_in_words():
    """Endings, paths, lengths, each dimension's range by its label, and a passing path."""
    assert describe(check(BASE)) == [
        "Its one ending can be reached.",
        "There are 2 complete paths from the start to an ending.",
        "The shortest path takes 1 step and the longest 2 steps.",
        "Scores on Safety run from 0 to 2 points over complete paths (pass mark 50%).",
        "At least one path passes.",
    ]


def test_unpassable_says_each_marks_best_reachable_percent():
    """When no path passes, each pass mark's best over paths that pass otherwise is given."""
    report = check(NEAR_MISS)
    assert "unpassable" in [p.code for p in report.problems]
    assert describe(report) == [
        "Its one ending can be reached.",
        "There are 3 complete paths from the start to an ending.",
        "Every path takes 1 step.",
        "Scores on Safeguarding run from 0 to 10 points over complete paths (pass mark 70%).",
        "Scores on Investigation run from 0 to 2 points over complete paths.",
        "No path passes. On the paths that share nothing inappropriately and take no "
        "critical choice, each pass mark's best is:",
        "Best reachable on Safeguarding: 60% (pass mark 70%)",
    ]
    assert report.stats.best == {"safeguarding": 60}


def test_best_reachable_is_only_worked_out_when_no_path_passes():
    """A passable scenario has no best-reachable figures."""
    report = check(NEAR_MISS.replace("safeguarding: 70", "safeguarding: 60"))
    assert report.stats.passable and report.stats.best is None
    assert describe(report)[-1] == "At least one path passes."


def test_marks_reached_one_at_a_time_but_never_together():
    """Each mark reachable on its own path, but no path reaching both, is said so."""
    sentences = describe(check(TRADE_OFF.replace("MIDDLE", "4")))
    assert sentences[-3:] == [
        "Best reachable on A: 100% (pass mark 50%)",
        "Best reachable on B: 100% (pass mark 50%)",
        "Each pass mark can be reached on some path, but no one path reaches them all.",
    ]


def test_when_every_path_fails_on_sharing_or_a_critical_choice():
    """If every complete path shares inappropriately or is critical, that is what is said."""
    text = replace(
        "        score: {safety: 2}\n",
        "        score: {safety: 2}\n        sharing: inappropriate\n        feedback: No.\n",
    )
    report = check(text)
    assert report.stats.best is None
    assert describe(report)[-1] == (
        "No path passes: every complete path shares immigration information "
        "inappropriately or takes a critical choice."
    )


def with_endings(reachable: bool) -> str:
    """Return BASE with two more endings, reached from the start or not."""
    text = replace(
        "  done:\n",
        "  early:\n    end: {outcome: Early, debrief: Over.}\n"
        "  late:\n    end: {outcome: Late, debrief: Over.}\n  done:\n",
    )
    if reachable:
        text = replace(
            "      - id: check\n",
            "      - {id: e, text: E., next: early}\n      - {id: l, text: L., next: late}\n"
            "      - id: check\n",
            text,
        )
    return text


def test_endings_reached_of_all_endings():
    """Endings are counted against all the scenario's endings, reached or not."""
    assert describe(check(with_endings(False)))[0] == "1 of its 3 endings can be reached."
    assert describe(check(with_endings(True)))[0] == "All 3 of its endings can be reached."


def test_a_loop_makes_paths_and_the_longest_unbounded():
    """A loop that can be repeated reads as no limit to paths and no longest path."""
    sentences = describe(check(looping()))
    assert sentences[1] == (
        "There is no limit to the number of complete paths: a loop can be repeated on the "
        "way to an ending."
    )
    assert sentences[2] == (
        "The shortest path takes 1 step; no path is the longest, as a loop can repeat."
    )
    assert sentences[-1] == "At least one path passes."


def test_a_score_cycle_has_no_score_ranges():
    """With a scoring choice on a loop, scores are unbounded and passing is not checked."""
    sentences = describe(check(looping("        score: {safety: 1}\n")))
    assert sentences[-2:] == [
        "Scores have no limit, so no score ranges were worked out: a choice on a loop that "
        "can be repeated scores points, shares inappropriately or is critical.",
        "Whether a path passes was not checked, because scores have no limit.",
    ]


def test_no_path_to_an_ending():
    """A start from which no ending can be reached says so, and nothing about scores."""
    text = scenario(
        """\
        start: a
        nodes:
          a:
            text: Round.
            choices:
              - {id: again, text: Again., next: a}
          done:
            end: {outcome: Done, debrief: Over.}
        """
    )
    assert describe(check(text)) == [
        "Its one ending cannot be reached.",
        "No path leads from the start to an ending.",
    ]


def test_one_path_and_an_unscored_dimension_range():
    """One path reads in the singular; a dimension every path scores alike reads as 100%."""
    text = scenario(
        """\
        dimensions: {safety: Victim safety}
        pass_marks: {safety: 90}
        start: a
        nodes:
          a:
            text: Go.
            choices:
              - {id: go, text: Go., next: done, score: {safety: 2}}
          done:
            end: {outcome: Done, debrief: Over.}
        """
    )
    sentences = describe(check(text))
    assert sentences[1] == f"There is {ONE_WAY}."
    assert sentences[3] == (
        "Every complete path scores 2 on Victim safety, so every attempt gets 100% on it "
        "(pass mark 90%)."
    )


def test_too_large_has_no_figures():
    """Past the state limit, no figures were worked out, and that is said."""
    assert describe(check(BASE, limit=2)) == [
        "The scenario has more than 2 reachable states, so no figures were worked out."
    ]


def test_a_file_with_form_errors_has_no_figures():
    """A file whose states were never explored has no figures until its errors are fixed."""
    report = check(replace("next: done\n        score", "next: nowhere\n        score"))
    assert describe(report) == ["There are no figures for this file until its errors are fixed."]


@SETTINGS
@given(ANY_SCENARIO)
def test_best_reachable_matches_brute_force(data):
    """Each mark's best percent is the best over every safe complete path, found by brute force.

    It is worked out exactly when no path passes; a safe path takes no failing choice.
    """
    _, report, oracle = load(data)
    want = expect(data, oracle)
    stats = report.stats
    if want.score_cycle or not oracle.paths or want.passable:
        assert stats.best is None
        return
    safe = [path for path in oracle.paths if not any(fails(c) for c in path.choices)]
    if not safe:
        assert stats.best is None
        return
    assert stats.best == {
        dim: max(percent(path.raw(dim), *want.bounds[dim]) for path in safe)
        for dim in data.get("pass_marks", {})
    }
