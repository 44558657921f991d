"""SVG charts of analytics figures: well formed, labelled in words, no script."""

import xml.etree.ElementTree as ET

from simulator import charts, counting, engine, figures
from simulator.figures import CastRow, DecisionFigures, OptionFigures

SVG = "{http://www.w3.org/2000/svg}"
SHARE = engine.INAPPROPRIATE_SHARE


def decision(*options):
    """Return a decision's figures with these (text, count, verdict) options."""
    decided = sum(count for _, count, _ in options)
    made = tuple(
        OptionFigures(f"c{i}", text, count, count / decided, verdict, ((verdict, count),))
        for i, (text, count, verdict) in enumerate(options)
    )
    found = DecisionFigures("n", 2, "She tells you.", decided, decided, None, made, 5, (4, 6), 0)
    return DecisionFigures(**{**found.__dict__, "summary": figures.decision_summary(found)})


def parsed(markup):
    """Parse a chart's markup as XML, failing if it is not well formed."""
    return ET.fromstring(str(markup))


def texts(root):
    """Return every line of text in a chart."""
    return [element.text for element in root.iter(f"{SVG}text")]


def test_a_decision_chart_is_an_image_named_by_its_summary():
    """The chart is role=img, labelled by its title and described by the page's summary."""
    found = decision(("Reassure her", 8, engine.GOOD), ("Refer her", 2, SHARE))
    root = parsed(charts.decision_chart(found, "d2"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "d2-title d2-desc"
    assert root.find(f"{SVG}title").text == "Decision 2: share of attempts choosing each option"
    assert root.find(f"{SVG}desc").text == found.summary


def test_every_bar_is_labelled_with_text_count_percent_and_verdict():
    """Each option's text, count, percent and verdict word are written in the chart."""
    found = decision(("Reassure her", 8, engine.GOOD), ("Refer her", 2, SHARE))
    lines = texts(parsed(charts.decision_chart(found, "d2")))
    assert "Reassure her" in lines and "Refer her" in lines
    assert "8 attempts (80%), verdict: good" in lines
    assert "2 attempts (20%), verdict: inappropriate share" in lines


def test_verdicts_differ_by_pattern_not_only_colour():
    """Each verdict shown has its own pattern, and bars are filled with them."""
    found = decision(
        ("A", 1, engine.GOOD), ("B", 1, engine.BETTER_AVAILABLE), ("C", 1, engine.CRITICAL)
    )
    root = parsed(charts.decision_chart(found, "d2"))
    patterns = {p.get("id"): p for p in root.iter(f"{SVG}pattern")}
    assert set(patterns) == {"d2-good", "d2-better-available", "d2-critical"}
    marks = {len(list(p)) for p in patterns.values()}
    assert len(marks) > 1 or len(patterns) == 1  # solid, stripes and checks draw differently
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect")}
    assert {"url(#d2-good)", "url(#d2-better-available)", "url(#d2-critical)"} <= fills


def test_charts_have_no_script_and_no_style_attributes():
    """Nothing a Content Security Policy would block: no script, no inline style."""
    found = decision(("A", 1, engine.GOOD))
    markup = str(charts.decision_chart(found, "d2"))
    root = parsed(markup)
    assert "<script" not in markup
    assert all(element.get("style") is None for element in root.iter())
    assert not any(name.startswith("on") for e in root.iter() for name in e.attrib)


def test_option_text_is_escaped():
    """Text with markup characters is shown as text, and the chart stays well formed."""
    found = decision(("Say <b>no</b> & leave", 3, engine.GOOD))
    markup = str(charts.decision_chart(found, "d2"))
    assert "<b>" not in markup
    assert "Say <b>no</b> & leave" in texts(parsed(markup))


def test_long_option_text_wraps_onto_lines():
    """A long option is split over lines that fit across the chart."""
    found = decision(("word " * 40, 3, engine.GOOD))
    lines = texts(parsed(charts.decision_chart(found, "d2")))
    wrapped = [line for line in lines if line and line.startswith("word")]
    assert len(wrapped) > 1 and all(len(line) <= charts.WRAP for line in wrapped)


def cast():
    """Return cast figures for two rows, one suppressed."""
    rows = [
        figures.CastRowFigures(
            0,
            "victim: Amina",
            20,
            20,
            10,
            2,
            0.5,
            counting.wilson(10, 20),
            0.1,
            counting.wilson(2, 20),
        ),
        figures.CastRowFigures(1, "victim: Olena", *([None] * 8), suppressed=True),
    ]
    test = counting.independence([[10, 10]])
    return figures.CastFigures(tuple(rows), test, test)


def test_a_cast_chart_shows_rates_and_intervals_in_words():
    """Each cast row's rate and confidence interval are written out; too few people say so."""
    root = parsed(charts.cast_chart(cast(), "passed", "cast-p", "Pass rates range."))
    lines = texts(root)
    assert "victim: Amina" in lines
    assert "50% passed (95% confidence interval 30% to 70%), of 20 finished" in lines
    assert "Fewer than 5 people: not shown" in lines
    assert root.find(f"{SVG}desc").text == "Pass rates range."


def test_a_cast_chart_draws_the_interval():
    """The interval is a line with end caps between its bounds."""
    root = parsed(charts.cast_chart(cast(), "passed", "cast-p", "Pass rates range."))
    lows = {float(line.get("x1")) for line in root.iter(f"{SVG}line")}
    interval = counting.wilson(10, 20)
    assert round(interval.low * charts.BAR_WIDTH, 1) in lows


def test_cast_rows_from_figures_chart_cleanly():
    """Figures computed from rows render without error, sharing failures included."""
    scenario_rows = [CastRow(0, 10, 5, 5, 10), CastRow(1, 10, 9, 1, 10)]
    found = figures.CastFigures(
        tuple(
            figures._cast_row(r.cast_index, f"row {r.cast_index}", r, False) for r in scenario_rows
        ),
        counting.independence([[5, 5], [9, 1]]),
        counting.independence([[5, 5], [1, 9]]),
    )
    lines = texts(parsed(charts.cast_chart(found, "failed_sharing", "c", "summary")))
    assert any(line.startswith("50% failed on sharing") for line in lines)
