"""Counting for analytics: shares, intervals, a test of chance, quantiles, people.

Pure: no Flask, no database. Each function states its rule: Wilson intervals and the
chi-square test of independence come from SciPy, quantiles interpolate as
PostgreSQL's percentile_cont does, and people are counted by sketches that can only
undercount, so that small numbers are suppressed whenever they might be small.
"""

from dataclasses import dataclass
from functools import lru_cache

MINIMUM_PEOPLE = 5
CONFIDENCE = 0.95
SIGNIFICANCE = 0.05
MINIMUM_EXPECTED = 5
AN_HOUR_S = 3_600


def sketch_of(person_id):
    """Return the people sketch of one person: the bits the store's SQL sets for them."""
    return 1 << (person_id % 61), 1 << (person_id // 61 % 59)


def people_in(rows):
    """Return at least how many different people the rows' people sketches count.

    Each row carries two 64-bit masks with a bit set per person counted (`sketch_of`:
    their id modulo 61, and their id divided by 61 modulo 59). OR-ing the masks of
    several rows counts their people together, and the larger number of bits set is
    never more than the people counted: two people share a bit in both masks only when
    their ids differ by a multiple of 3599. So a figure is shown across cohorts only
    when MINIMUM_PEOPLE people certainly stand behind it; at worst a figure with a few
    more is suppressed too. The store counts it in the same pass as the figure itself,
    where an exact count of distinct people would need a pass of its own.
    """
    first = second = 0
    for row in rows:
        first, second = first | row.mask_a, second | row.mask_b
    return max(first.bit_count(), second.bit_count())


@dataclass(frozen=True)
class Interval:
    """A confidence interval for a proportion."""

    low: float
    high: float


@dataclass(frozen=True)
class Independence:
    """A chi-square test of independence between cast row and an outcome."""

    outcome: str  # one of the four below
    p_value: float | None = None
    statistic: float | None = None
    dof: int | None = None
    smallest_expected: float | None = None
    significance: float = SIGNIFICANCE
    minimum_expected: int = MINIMUM_EXPECTED

    DIFFERS = "differs"
    NO_EVIDENCE = "no evidence"
    NOT_ENOUGH = "not enough data"
    ONE_ROW = "one row"

    @property
    def warns(self):
        """Say whether rates differ between cast rows beyond chance."""
        return self.outcome == self.DIFFERS


def test_sentence(test):
    """Say what a test of independence found, with its significance level."""
    level = percent(test.significance)
    if test.outcome == Independence.DIFFERS:
        return (
            f"they differ beyond chance (chi-square test, p = {test.p_value:.3f}, "
            f"below the {level}% significance level)."
        )
    if test.outcome == Independence.NO_EVIDENCE:
        return (
            f"the difference is within chance (chi-square test, p = {test.p_value:.3f}, "
            f"not below the {level}% significance level)."
        )
    if test.outcome == Independence.NOT_ENOUGH:
        return (
            "there is not enough data to test whether they differ beyond chance "
            f"(an expected count is below {test.minimum_expected})."
        )
    return "there is only one cast row with figures, so there is nothing to compare."


def plural(count, word, words=None):
    """Return '1 attempt' or '3 attempts'."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def share(count, total):
    """Return count / total, or None when there is no total."""
    return count / total if total else None


def percent(value):
    """Return a share as a whole percent, rounded half up, or None."""
    return None if value is None else int(value * 100 + 0.5)


def shown(people, suppressing):
    """Say whether a figure resting on `people` may be shown: always for a trainer's own
    trainees; across cohorts, only with at least MINIMUM_PEOPLE people (or none at all)."""
    return not suppressing or people == 0 or people >= MINIMUM_PEOPLE


def wilson(successes, trials, confidence=CONFIDENCE):
    """Return the Wilson score interval for successes out of trials, or None for no trials."""
    return _wilson(successes, trials, confidence) if trials else None


# binomtest also works out a p-value no page shows, which takes about a millisecond, and
# an interval depends only on its three numbers: so each is worked out once.
@lru_cache(maxsize=4096)
def _wilson(successes, trials, confidence):
    """Return SciPy's Wilson score interval (see `wilson`)."""
    from scipy.stats import binomtest  # over a second to import: only analytics needs it

    found = binomtest(successes, trials).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return Interval(float(found.low), float(found.high))


def independence(table):
    """Test whether an outcome is independent of cast row: chi-square on [[yes, no], ...].

    Rows with no attempts are left out. With fewer than two rows there is nothing to
    compare. The test runs only where every expected count is at least MINIMUM_EXPECTED
    (below that the chi-square approximation is unreliable: not enough data); rates
    differ beyond chance where the p-value is below SIGNIFICANCE. SciPy applies Yates'
    continuity correction when there is one degree of freedom.
    """
    return _independence(tuple(tuple(row) for row in table if sum(row)))


@lru_cache(maxsize=1024)
def _independence(rows):
    """Run the test on rows that all have attempts (see `independence`)."""
    if len(rows) < 2:
        return Independence(Independence.ONE_ROW)
    from scipy.stats import chi2_contingency
    from scipy.stats.contingency import expected_freq

    smallest = float(expected_freq(rows).min())
    if smallest < MINIMUM_EXPECTED:
        return Independence(Independence.NOT_ENOUGH, smallest_expected=smallest)
    result = chi2_contingency(rows)
    p_value = float(result.pvalue)
    return Independence(
        Independence.DIFFERS if p_value < SIGNIFICANCE else Independence.NO_EVIDENCE,
        p_value=p_value,
        statistic=float(result.statistic),
        dof=int(result.dof),
        smallest_expected=smallest,
    )


def quantiles(values, qs):
    """Return each quantile in `qs` of sorted values, as PostgreSQL's percentile_cont does.

    That is linear interpolation between the two nearest values, at position q * (n - 1);
    None for each when there are no values.
    """
    if not values:
        return [None] * len(qs)
    last = len(values) - 1
    found = []
    for q in qs:
        position = q * last
        low = int(position)
        high = min(low + 1, last)
        found.append(values[low] + (position - low) * (values[high] - values[low]))
    return found


def duration(seconds):
    """Say a time to decide in words, to the second."""
    if seconds is None:
        return "not known"
    whole = int(seconds + 0.5)
    if whole >= AN_HOUR_S:
        return "an hour or more"
    if whole < 60:
        return plural(whole, "second")
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s"


def in_ten(value):
    """Say a share as 'N in 10', or 'fewer than 1 in 10'."""
    tenths = int(value * 10 + 0.5)
    return "fewer than 1 in 10" if tenths == 0 else f"{tenths} in 10"
