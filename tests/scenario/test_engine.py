"""The engine: playing a scenario and scoring it as the format's Scoring section defines."""

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import engine
from simulator.scenario import load_bytes

from .helpers import BASE, check, replace

SPEC = Path(__file__).parent / "spec_example.yaml"


@pytest.fixture(scope="module")
def example():
    """The format's own small example, loaded."""
    report = load_bytes(SPEC.read_bytes(), "spec_example.yaml", SPEC.parent)
    assert report.problems == []
    return report.scenario


@pytest.mark.parametrize(
    ("path", "percent", "sharing", "passed"),
    [
        (["interpreter", "reassure"], 100, True, True),
        (["interpreter", "refer"], 50, False, False),
        (["check-status", "reassure"], 0, False, False),
    ],
)
def test_spec_example_paths_score_as_the_format_says(example, path, percent, sharing, passed):
    """The three paths of the format's example score as its text says."""
    result = engine.result(example, path)
    (safeguarding,) = result.dimensions
    assert (safeguarding.minimum, safeguarding.maximum) == (1, 3)
    assert safeguarding.percent == percent
    assert result.sharing_passed is sharing
    assert result.passed is passed


def test_refer_is_not_offered_once_status_was_checked(example):
    """A choice whose 'when' fails in the current state is not offered."""
    state = engine.apply_choice(example, engine.State("arrival"), "check-status")
    assert [c.id for c in engine.offered_choices(example, state)] == ["reassure"]
    with pytest.raises(engine.ChoiceNotOffered):
        engine.apply_choice(example, state, "refer")


def test_failed_sharing_names_the_choice(example):
    """The result names the node and choice that failed the sharing criterion."""
    assert engine.result(example, ["interpreter", "refer"]).failed_sharing == (
        ("disclosure", "refer"),
    )


def test_sharing_criterion_fails_the_attempt_whatever_the_points():
    """An inappropriate share fails an attempt even with full marks."""
    text = replace(
        "        score: {safety: 2}\n",
        "        score: {safety: 2}\n        sharing: inappropriate\n        feedback: No.\n",
    )
    text = replace(
        "        sharing: inappropriate\n        feedback: No.\n  second",
        "        score: {safety: 1}\n  second",
        text,
    )
    report = check(replace("  safety: 50", "  safety: 0", text))
    result = engine.result(report.scenario, ["good"])
    assert result.dimensions[0].percent == 100
    assert not result.sharing_passed and not result.passed


def test_percent_is_floored():
    """Percent is floor(100 * (raw - min) / (max - min))."""
    assert engine.percent(1, 0, 3) == 33
    assert engine.percent(2, 0, 3) == 66
    assert engine.percent(-1, -3, 0) == 66


def test_percent_is_100_when_maximum_equals_minimum():
    """A dimension whose maximum equals its minimum scores 100."""
    assert engine.percent(4, 4, 4) == 100


def test_a_mark_is_reached_at_exactly_the_mark():
    """A dimension reaches its mark when percent >= mark."""
    report = check(BASE)
    result = engine.result(report.scenario, ["check", "go"])
    assert result.dimensions[0].percent == 0 and not result.dimensions[0].reached
    passing = engine.result(report.scenario, ["good"])
    assert passing.dimensions[0].percent == 100 and passing.passed


def test_dimensions_without_a_pass_mark_are_always_reached():
    """Only dimensions in pass_marks can fail an attempt."""
    text = replace("pass_marks:\n  safety: 50\n", "")
    report = check(text)
    result = engine.result(report.scenario, ["check", "go"])
    assert result.dimensions[0].pass_mark is None and result.dimensions[0].reached
    assert not result.passed  # still fails: it shared


def test_step_offers_continue_and_is_not_a_decision():
    """A step behaves as one always-offered Continue choice."""
    text = replace(
        "    choices:\n      - id: go\n        text: Go.\n        next: done\n"
        "        when: {all: [checked]}\n",
        "    next: done\n",
    )
    text = replace("flags: [checked]\n", "", text)
    text = replace("        set: [checked]\n", "", text)
    report = check(text)
    assert report.problems == []
    scenario = report.scenario
    state = engine.apply_choice(scenario, engine.State("first"), "check")
    assert scenario.nodes["second"].kind == "step"
    assert [c.id for c in engine.offered_choices(scenario, state)] == ["continue"]
    assert engine.is_ending(scenario, engine.apply_choice(scenario, state, "continue"))


def test_set_then_clear_then_move():
    """Taking a choice adds its set flags, removes its clear flags and moves on."""
    report = check(BASE)
    state = engine.apply_choice(report.scenario, engine.State("first"), "check")
    assert state == engine.State("second", frozenset({"checked"}))


def test_replay_rebuilds_the_state_from_the_log():
    """Replaying the choice ids reaches the same state as applying them one by one."""
    scenario = check(BASE).scenario
    assert engine.replay(scenario, ["check", "go"]) == engine.State("done", frozenset({"checked"}))
    with pytest.raises(engine.ChoiceNotOffered):
        engine.replay(scenario, ["go"])


def test_result_of_an_unfinished_path_has_no_ending():
    """A path that has not reached an ending is scored with ending None."""
    assert engine.result(check(BASE).scenario, ["check"]).ending is None


def test_cast_draw_is_deterministic_and_uniform(example):
    """The cast row is drawn from the seed: the same seed gives the same row, all rows occur."""
    assert engine.start(example, 7) == engine.start(example, 7)
    counts = Counter(engine.start(example, seed).cast_index for seed in range(2000))
    assert set(counts) == {0, 1}
    assert 850 < counts[0] < 1150


def test_no_cast_means_no_row():
    """A scenario without a cast draws no row."""
    start = engine.start(check(BASE).scenario, 1)
    assert start.cast_index is None and engine.cast_row(check(BASE).scenario, None) == {}


@pytest.mark.parametrize(
    ("text", "filled"),
    [
        ("{victim} opens the door", "Amina opens the door"),
        ("{{victim}} is literal", "{victim} is literal"),
        ("a {{ b }} c", "a { b } c"),
        ("{{{victim}}}", "{Amina}"),
        ("no braces", "no braces"),
    ],
)
def test_fill_replaces_placeholders_and_keeps_doubled_braces(text, filled):
    """Placeholders are filled from the row; '{{' and '}}' give literal braces."""
    assert engine.fill(text, {"victim": "Amina"}) == filled


def test_fill_inserts_cast_values_literally():
    """A cast value is inserted as it is, never read for placeholders or markup."""
    assert engine.fill("{v}", {"v": "{x} <b>"}) == "{x} <b>"


def fill_by_characters(text, row):
    """The format's reading of placeholders, one character at a time (the oracle below)."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("{{", i) or text.startswith("}}", i):
            out.append(text[i])
            i += 2
        elif text[i] == "{":
            close = text.find("}", i)
            if close == -1 or text[i + 1 : close] not in row:
                raise engine.PlaceholderError(f"no cast value for placeholder at {i}")
            out.append(row[text[i + 1 : close]])
            i = close + 1
        elif text[i] == "}":
            raise engine.PlaceholderError(f"unmatched '}}' at {i}")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@settings(max_examples=600, derandomize=True, database=None, deadline=None)
@given(st.text(alphabet="{}ab v", max_size=14))
def test_fill_agrees_with_reading_one_character_at_a_time(text):
    """Filling (one regular expression) fills, keeps and refuses exactly what reading the
    text a character at a time does, and names the same place in its error."""
    row = {"a": "Amina", "v": "{b}", "ab": "X"}
    try:
        expected = fill_by_characters(text, row)
    except engine.PlaceholderError as error:
        with pytest.raises(engine.PlaceholderError) as raised:
            engine.fill(text, row)
        assert str(raised.value).startswith(str(error))
    else:
        assert engine.fill(text, row) == expected
