"""Analytics figures from plain rows: no app, no database."""

import pytest
from helpers import doorstep

from simulator import counting, engine, figures, story
from simulator.figures import ChoiceRow, HeadlineRow, Independence, Rows
from simulator.scenario import load_bytes

CAST = """\
  - victim: Amina
    language: Somali
  - victim: Olena
    language: Ukrainian
"""


def scenario(text=None):
    """Return the doorstep scenario, loaded."""
    report = load_bytes((text or doorstep()).encode(), "doorstep.yaml", base_dir=None)
    assert report.scenario is not None, report.problems
    return report.scenario


def two_cast_rows():
    """Return the doorstep scenario with two cast rows."""
    text = doorstep().replace("  - victim: Amina\n    language: Somali\n", CAST)
    return scenario(text)


def rows(choices=(), **more):
    """Return query rows with defaults."""
    return Rows(
        groups=more.get("groups", []),
        paths=more.get("paths", []),
        choices=list(choices),
    )


def masks(people):
    """Return the people sketch of people 1 to `people`."""
    first = second = 0
    for person in range(1, people + 1):
        a, b = counting.sketch_of(person)
        first, second = first | a, second | b
    return first, second


def test_a_figure_on_four_people_is_suppressed_across_cohorts():
    """Four people are too few to show across cohorts; five are enough; zero is shown."""
    assert not counting.shown(4, suppressing=True)
    assert counting.shown(5, suppressing=True)
    assert counting.shown(0, suppressing=True)
    assert counting.shown(1, suppressing=False)


@pytest.mark.parametrize("people, suppressed", [(4, True), (5, False)])
def test_a_decision_reached_by_too_few_people_shows_nothing(people, suppressed):
    """Across cohorts a decision's counts go when fewer than five people made it."""
    made = [ChoiceRow("arrival", "interpreter", engine.GOOD, 6, [10_000] * 6, *masks(people))]
    found = figures.decision_figures(scenario(), rows(made), True, {})[0]
    assert found.suppressed is suppressed
    assert (found.decided is None) is suppressed
    assert (found.options == ()) is suppressed


@pytest.mark.parametrize("people, suppressed", [(4, True), (5, False)])
def test_the_headline_across_cohorts_needs_five_people(people, suppressed):
    """The headline's counts show only when five or more people made the attempts."""
    found = figures.headline(HeadlineRow(9, 9, 5, 2, 1, 0, people), [], suppressing=True)
    assert found.suppressed is suppressed
    assert (found.attempts is None) is suppressed


def test_a_cast_row_with_too_few_people_is_left_out_of_the_test():
    """A suppressed cast row shows no rate and is not tested."""
    cast = figures.cast_figures(
        two_cast_rows(),
        [figures.CastRow(0, 40, 30, 5, 40), figures.CastRow(1, 4, 1, 3, 4)],
        suppressing=True,
    )
    assert cast.rows[1].suppressed and cast.rows[1].pass_rate is None
    assert cast.pass_test.outcome == Independence.ONE_ROW


def test_wilson_interval_of_five_in_ten():
    """Five successes in ten trials: the Wilson 95% interval is 0.2366 to 0.7634."""
    found = counting.wilson(5, 10)
    assert found.low == pytest.approx(0.236593, abs=1e-6)
    assert found.high == pytest.approx(0.763407, abs=1e-6)


def test_wilson_interval_of_seven_in_fifty():
    """Seven in fifty: 0.0695 to 0.2619, Wilson's score interval without correction."""
    found = counting.wilson(7, 50)
    assert (found.low, found.high) == pytest.approx((0.069508, 0.261862), abs=1e-6)


def test_wilson_interval_of_nothing_is_none():
    """No trials, no interval."""
    assert counting.wilson(0, 0) is None


def test_clearly_different_rates_warn():
    """80% against 20% of 50 each differs beyond chance."""
    found = counting.independence([[40, 10], [10, 40]])
    assert found.outcome == Independence.DIFFERS and found.warns
    assert found.p_value < counting.SIGNIFICANCE


def test_equal_rates_do_not_warn():
    """The same rate in every row gives no warning."""
    found = counting.independence([[30, 20], [30, 20], [30, 20]])
    assert found.outcome == Independence.NO_EVIDENCE and not found.warns
    assert found.p_value == pytest.approx(1.0)


def test_small_expected_counts_are_not_enough_data():
    """An expected count below five means there is not enough data to test."""
    found = counting.independence([[3, 2], [2, 3]])
    assert found.outcome == Independence.NOT_ENOUGH
    assert found.smallest_expected == pytest.approx(2.5)
    assert "not enough data" in counting.test_sentence(found)


def test_one_row_has_nothing_to_compare():
    """A single row with attempts cannot be compared."""
    assert counting.independence([[5, 5], [0, 0]]).outcome == Independence.ONE_ROW


def test_cast_figures_say_the_rates_differ():
    """Rates per cast row come with intervals, and the summary names the test's finding."""
    cast = figures.cast_figures(
        two_cast_rows(),
        [figures.CastRow(0, 50, 40, 2, 50), figures.CastRow(1, 50, 10, 30, 50)],
        suppressing=False,
    )
    assert cast.rows[0].label == "Amina (Somali)"
    assert cast.rows[0].details == "victim: Amina; language: Somali"
    assert cast.rows[0].pass_rate == 0.8 and cast.rows[1].sharing_rate == 0.6
    assert cast.pass_test.warns and cast.sharing_test.warns
    summary = cast.summary("passed")
    assert summary.startswith("Pass rates range from 20% for Olena (Ukrainian) to 80%")
    assert "beyond chance" in cast.summary("passed")


def test_no_cast_figures_for_a_single_cast_row():
    """A scenario with one cast row has no variants to compare."""
    assert figures.cast_figures(scenario(), [], suppressing=False) is None


@pytest.mark.parametrize(
    "values, q, expected",
    [
        ([1, 2, 3, 4], 0.5, 2.5),
        ([10, 10, 10], 0.5, 10),
        ([1, 2, 3, 4, 5], 0.25, 2),
        ([1, 2, 3, 4, 5], 0.75, 4),
        ([5, 5, 20, 20], 0.5, 12.5),
        ([7], 0.75, 7),
        ([], 0.5, None),
    ],
)
def test_quantiles_interpolate_as_percentile_cont(values, q, expected):
    """Quantiles of sorted values interpolate linearly, as PostgreSQL's percentile_cont."""
    assert counting.quantiles(values, (q,)) == [expected]


def test_times_to_decide_are_read_in_any_order():
    """A node's times come from several rows, unsorted; its quartiles are in seconds."""
    made = [
        ChoiceRow("arrival", "interpreter", engine.GOOD, 3, [30_000, 1_000, 12_000]),
        ChoiceRow("arrival", "check-status", engine.INAPPROPRIATE_SHARE, 2, [8_000, 4_000]),
    ]
    first = figures.decision_figures(scenario(), rows(made), False, {})[0]
    assert (first.median, first.quartiles) == (8, (4, 12))


def test_durations_in_words():
    """Times to decide read as a person would say them."""
    assert counting.duration(12.4) == "12 seconds"
    assert counting.duration(1) == "1 second"
    assert counting.duration(125) == "2 min 5 s"
    assert counting.duration(3600) == "an hour or more"


def test_story_order_puts_each_node_after_those_leading_to_it():
    """The doorstep's nodes run from the start to the endings."""
    order = story.story_order(scenario())
    assert order == ["arrival", "hallway", "disclosure", "safe", "unsafe"]
    assert story.decision_ids(scenario()) == ["arrival", "disclosure"]
    assert not story.has_loop(scenario())


LOOP = """\
      - id: ask-again
        text: Ask her to tell you again from the start.
        next: hallway
      - id: refer
"""


def looped():
    """Return the doorstep scenario with a way back from the disclosure to the hallway."""
    return scenario(doorstep().replace("      - id: refer\n", LOOP, 1))


def test_story_order_survives_a_loop():
    """A choice leading back is a loop, and every node is still placed once, in order."""
    order = story.story_order(looped())
    assert order == ["arrival", "hallway", "disclosure", "safe", "unsafe"]
    assert story.has_loop(looped())


def test_decisions_count_choices_shares_and_verdicts():
    """A decision's options show counts, shares, verdicts and a one-sentence summary."""
    made = [
        ChoiceRow("arrival", "interpreter", engine.GOOD, 6, [10_000] * 6),
        ChoiceRow("arrival", "check-status", engine.INAPPROPRIATE_SHARE, 4, [20_000] * 4),
    ]
    found = figures.decision_figures(scenario(), rows(made), False, {})
    first, second = found
    assert (first.ordinal, first.reached, first.decided) == (1, 10, 10)
    assert [(o.choice_id, o.count, o.percent, o.verdict) for o in first.options] == [
        ("interpreter", 6, 60, engine.GOOD),
        ("check-status", 4, 40, engine.INAPPROPRIATE_SHARE),
    ]
    assert first.summary == (
        "Most attempts (60%) chose “Arrange a professional [language] interpreter and speak "
        "to her alone”; 4 in 10 chose an inappropriate share."
    )
    assert first.median == 10 and first.quartiles == (10, 20) and first.spread == 10
    assert second.decided == 0 and second.summary == "No attempt has made this decision yet."


def test_an_option_no_one_chose_is_judged_on_a_known_path():
    """An unchosen option takes its verdict from a path through its node, else its own."""
    doors = scenario()
    judged = figures.known_verdicts(doors, rows())
    made = [ChoiceRow("disclosure", "reassure", engine.GOOD, 3, [5_000] * 3)]
    found = figures.decision_figures(doors, rows(made), False, judged)
    refer = {o.choice_id: o for o in found[1].options}["refer"]
    assert refer.count == 0 and refer.verdict == engine.INAPPROPRIATE_SHARE


def test_the_most_common_failing_choice():
    """The headline names the failing choice taken most often."""
    made = [
        ChoiceRow("arrival", "check-status", engine.INAPPROPRIATE_SHARE, 2, [1_000] * 2),
        ChoiceRow("disclosure", "refer", engine.INAPPROPRIATE_SHARE, 3, [1_000] * 3),
    ]
    decisions = figures.decision_figures(scenario(), rows(made), False, {})
    found = figures.headline(HeadlineRow(5, 5, 0, 5, 0, 0, 5), decisions, False)
    assert (found.top_failing.ordinal, found.top_failing.choice_id) == (2, "refer")
    assert found.summary == (
        "Of 5 attempts, 5 finished and 0 passed; 5 failed on sharing and 0 on a critical error."
    )


def test_paths_name_their_choices_and_outcome():
    """A complete path lists each decision's choice and its ending; later ones what differs."""
    best = "arrival:interpreter hallway:continue disclosure:reassure"
    shared = "arrival:interpreter hallway:continue disclosure:refer"
    taken = [
        figures.PathRow(best, "safe", True, True, 0, 3, *masks(3)),
        figures.PathRow(shared, "unsafe", False, False, 0, 1, *masks(1)),
    ]
    first, second = figures.paths(scenario(), taken, 4)
    assert first.choices == (
        (1, "Arrange a professional [language] interpreter and speak to her alone."),
        (2, "Tell her your priority is her safety, and explain the support available."),
    )
    assert (first.outcome, first.percent, first.passed, first.changes) == (
        "Victim safeguarded",
        75,
        True,
        None,
    )
    assert second.changes == (
        (2, "Tell her you will have to pass her details to the Home Office."),
    )


def test_the_best_path_passes():
    """The best path takes the good option at each decision."""
    doors = scenario()
    assert [c for _, c in story.best_path(doors)] == ["interpreter", "continue", "reassure"]
    assert engine.result(doors, ["interpreter", "continue", "reassure"]).passed


def test_an_attempt_beside_the_best_and_the_cohort():
    """Each decision shows the choice, the best option there and the cohort's choice."""
    doors = scenario()
    cohort = {"arrival": story.CohortChoice("arrival", ("interpreter",), 6, 8)}
    found = story.compare(doors, doors.cast[0], ["check-status", "continue", "reassure"], cohort)
    assert found[0].verdict == engine.INAPPROPRIATE_SHARE and not found[0].same_as_best
    assert found[0].best.startswith("Arrange a professional Somali interpreter")
    assert found[0].cohort_count == 6 and found[0].cohort_people == 8
    assert found[1].same_as_best and found[1].cohort == ()


def test_cohort_choices_need_enough_people():
    """A node's most common choice is given only with enough people; ties are all named."""
    made = [("arrival", "interpreter", person) for person in range(3)]
    made += [("arrival", "check-status", person) for person in range(3, 6)]
    made += [("disclosure", "reassure", person) for person in range(4)]
    found = story.cohort_choices(made, minimum_people=5)
    assert set(found) == {"arrival"}
    assert found["arrival"].choice_ids == ("check-status", "interpreter")
    assert (found["arrival"].count, found["arrival"].people) == (3, 6)


def test_excerpts_are_plain_and_short():
    """Node text loses its Markdown and is cut at a word."""
    assert story.excerpt("Her language is **{language}**.", {"language": "[language]"}) == (
        "Her language is [language]."
    )
    long = story.excerpt("word " * 100, {})
    assert len(long) <= story.EXCERPT_LENGTH + 1 and long.endswith("…")


def test_people_sketches_count_people_once():
    """A person counted in several rows counts once; different people each count."""
    one = figures.GroupRow(0, None, 1, 1, 0, 0, 0, 0, *counting.sketch_of(7))
    again = figures.GroupRow(0, None, 1, 0, 1, 0, 0, 0, *counting.sketch_of(7))
    other = figures.GroupRow(0, None, 1, 0, 1, 0, 0, 0, *counting.sketch_of(8))
    assert counting.people_in([one, again]) == 1
    assert counting.people_in([one, again, other]) == 2


def test_people_sketches_never_overcount():
    """People whose bits collide are undercounted, never overcounted, so suppression holds."""
    assert counting.people_in([ChoiceRow("n", "c", None, 5, [0] * 5, *masks(5))]) == 5
    collide = [counting.sketch_of(person) for person in (1, 1 + 3599, 1 + 2 * 3599)]
    first = second = 0
    for a, b in collide:
        first, second = first | a, second | b
    assert counting.people_in([ChoiceRow("n", "c", None, 3, [0] * 3, first, second)]) == 1
    for people in range(1, 200, 7):
        found = counting.people_in([ChoiceRow("n", "c", None, 1, [0] * 1, *masks(people))])
        assert found <= people


def test_groups_give_cast_rows_and_stops():
    """Finished groups make the cast rows; unfinished ones where attempts stopped."""
    groups = [
        figures.GroupRow(0, None, 3, 2, 1, 1, 0, 0, *masks(3)),
        figures.GroupRow(0, "disclosure", 0, 0, 0, 0, 1, 1, *masks(2)),
        figures.GroupRow(1, "disclosure", 0, 0, 0, 0, 2, 0, *masks(2)),
        figures.GroupRow(1, "", 0, 0, 0, 0, 1, 0, *masks(1)),
    ]
    found = rows(groups=groups)
    assert found.cast == [figures.CastRow(0, 3, 2, 1, 3)]
    assert found.stops == [figures.StopRow("disclosure", 3, 1, 2)]
    assert found.headline == HeadlineRow(8, 3, 2, 1, 1, 1, 3)
