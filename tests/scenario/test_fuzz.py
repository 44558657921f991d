"""Whatever bytes a trainer saves, checking them reports problems and never raises."""

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from simulator.scenario import load_bytes

from .helpers import BASE

PIECES = [
    "{",
    "}",
    "[",
    "]",
    ":",
    "- ",
    "\n",
    "  ",
    "'",
    '"',
    "&a ",
    "*a",
    "!!str ",
    "<b>",
    "{victim}",
    "yes",
    "~",
    "1.5",
    "2020-01-01",
    "-1",
    "<<: ",
    "id",
    "next",
    "when",
    "all",
    "set",
    "score",
    "sharing",
    "inappropriate",
    "end",
    "choices",
    "nodes",
    "cast",
    "\t",
    "#",
    "|",
    ">",
    "\\",
    "{{",
    "}}",
    "é",
    "\x00",
    "\ufeff",
]

edits = st.lists(
    st.tuples(st.integers(0, len(BASE)), st.integers(0, 6), st.sampled_from(PIECES)),
    min_size=1,
    max_size=6,
)


def mutate(text: str, changes) -> str:
    """Apply each (position, deleted length, inserted piece) edit in turn."""
    for position, length, piece in changes:
        position = min(position, len(text))
        text = text[:position] + piece + text[position + length :]
    return text


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(edits)
@example([(491, 6, "~")])  # a node named null once broke the 'did you mean' suggestion
@example([(491, 6, "yes"), (104, 0, "'")])
def test_mutated_scenarios_are_reported_not_raised(changes):
    """Random edits of a valid scenario give a report whose problems all have positions."""
    text = mutate(BASE, changes)
    report = load_bytes(text.encode("utf-8", "surrogatepass"), "fuzz.yaml")
    for problem in report.problems:
        assert problem.line >= 1 and problem.column >= 1
        assert problem.code and problem.message
    assert (report.scenario is None) == any(p.is_error for p in report.problems)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_reported_not_raised(data):
    """Any bytes at all give a report, never an exception."""
    report = load_bytes(data, "bytes.yaml")
    assert report.scenario is None or not report.problems
