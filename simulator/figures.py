"""Analytics figures from plain rows: headline, decisions, stops, paths, cast variants.

Pure: no Flask, no database. The store (`simulator.analytics`) runs a fixed number of
aggregate queries and hands their rows here as the named tuples below; every figure a
trainer reads is computed by one function, whose docstring states its rule, here or in
`counting` (shares, intervals, the test, quantiles, people) and `story` (the scenario's
order and texts, the best path).

Small numbers: where a view reaches beyond a trainer's own trainees (across cohorts, or
a trainee's comparison with others), a figure that rests on fewer than MINIMUM_PEOPLE
people is suppressed: its numbers are None and `suppressed` is true. Zero is shown.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import NamedTuple

from . import engine
from .counting import (
    CONFIDENCE,
    MINIMUM_PEOPLE,
    Independence,
    Interval,
    in_ten,
    independence,
    people_in,
    percent,
    plural,
    quantiles,
    share,
    shown,
    test_sentence,
    wilson,
)
from .story import (
    SEVERITY,
    best_path,
    decision_ids,
    kept,
    options_judged,
    outline,
    pairs_of,
)

PATHS_SHOWN = 10
PATHS_FETCHED = 50  # across cohorts, the most common paths read to find 10 with enough people
# The verdicts that fail an attempt or cost its pass, most serious first.
FAILING = (engine.INAPPROPRIATE_SHARE, engine.CRITICAL, engine.COSTS_THE_PASS)


# --------------------------------------------------------------------------- query rows


class HeadlineRow(NamedTuple):
    """Counts over the attempts in view (see `Rows.headline`)."""

    attempts: int = 0
    finished: int = 0
    passed: int = 0
    failed_sharing: int = 0
    failed_critical: int = 0
    abandoned: int = 0
    people: int = 0


class GroupRow(NamedTuple):
    """Attempts that drew one cast row and stand alike: finished (`at_node` None), or
    unfinished at one node ('' where that was not recorded)."""

    cast_index: int | None
    at_node: str | None
    finished: int
    passed: int
    failed_sharing: int
    failed_critical: int
    in_progress: int
    abandoned: int
    mask_a: int = 0  # the people sketch (see `people_in`)
    mask_b: int = 0


class PathRow(NamedTuple):
    """Finished attempts that took one complete path."""

    path: str
    ending: str | None
    passed: bool
    sharing_passed: bool
    critical_count: int | None
    attempts: int
    mask_a: int = 0
    mask_b: int = 0

    @property
    def people(self):
        """Return at least how many people took this path."""
        return people_in([self])


class ChoiceRow(NamedTuple):
    """Decisions taken at one node with one choice and one verdict, and their times."""

    node_id: str
    choice_id: str
    verdict: str | None
    count: int
    times: Sequence[int]  # each decision's time to decide, in milliseconds, in any order
    mask_a: int = 0
    mask_b: int = 0


class CastRow(NamedTuple):
    """Finished attempts that drew one cast row."""

    cast_index: int | None
    finished: int
    passed: int
    failed_sharing: int
    people: int


class StopRow(NamedTuple):
    """Unfinished attempts standing at one node."""

    node_id: str
    in_progress: int
    abandoned: int
    people: int


@dataclass(frozen=True)
class Rows:
    """What the store's aggregate queries returned for one view.

    `node_attempts` (attempts that decided at each node) is counted only where the
    scenario has a loop, since elsewhere an attempt decides at a node at most once.
    """

    groups: list[GroupRow]
    paths: list[PathRow]
    choices: list[ChoiceRow]
    node_attempts: dict[str, int] | None = None

    @property
    def headline(self):
        """Return the counts over every attempt in view; its people are a lower bound."""
        groups = self.groups
        return HeadlineRow(
            attempts=sum(g.finished + g.in_progress + g.abandoned for g in groups),
            finished=sum(g.finished for g in groups),
            passed=sum(g.passed for g in groups),
            failed_sharing=sum(g.failed_sharing for g in groups),
            failed_critical=sum(g.failed_critical for g in groups),
            abandoned=sum(g.abandoned for g in groups),
            people=people_in(groups),
        )

    @property
    def cast(self):
        """Return the finished attempts per cast row."""
        by_row = defaultdict(list)
        for group in self.groups:
            if group.at_node is None:
                by_row[group.cast_index].append(group)
        return [
            CastRow(
                index,
                sum(g.finished for g in groups),
                sum(g.passed for g in groups),
                sum(g.failed_sharing for g in groups),
                people_in(groups),
            )
            for index, groups in by_row.items()
        ]

    @property
    def stops(self):
        """Return the unfinished attempts per node they stand at (recorded ones only)."""
        by_node = defaultdict(list)
        for group in self.groups:
            if group.at_node:
                by_node[group.at_node].append(group)
        return [
            StopRow(
                node_id,
                sum(g.in_progress for g in groups),
                sum(g.abandoned for g in groups),
                people_in(groups),
            )
            for node_id, groups in by_node.items()
        ]

    @property
    def node_people(self):
        """Return at least how many people decided at each node."""
        by_node = defaultdict(list)
        for found in self.choices:
            by_node[found.node_id].append(found)
        return {node_id: people_in(found) for node_id, found in by_node.items()}


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Filters:
    """Which attempts a view counts."""

    version_id: int | None = None
    first_only: bool = False
    since: object = None  # a date, or None
    until: object = None


@dataclass(frozen=True)
class VersionInfo:
    """A scenario version that has attempts in view: a different test from the others."""

    id: int
    number: int
    title: str
    loaded_at: object
    current: bool = False


@dataclass(frozen=True)
class Headline:
    """The view's headline counts and its most common failing choice."""

    attempts: int | None
    finished: int | None
    passed: int | None
    failed_sharing: int | None
    failed_critical: int | None
    abandoned: int | None
    people: int | None
    top_failing: "OptionRef | None" = None
    suppressed: bool = False

    @property
    def in_progress(self):
        """Return how many attempts are neither finished nor abandoned."""
        if self.suppressed:
            return None
        return self.attempts - self.finished - self.abandoned

    @property
    def summary(self):
        """Say the headline in one sentence."""
        if self.suppressed:
            return (
                f"Fewer than {MINIMUM_PEOPLE} people made these attempts, so no figure is shown."
            )
        if not self.attempts:
            return "No attempts match these filters."
        return (
            f"Of {plural(self.attempts, 'attempt')}, {self.finished} finished and "
            f"{self.passed} passed; {self.failed_sharing} failed on sharing and "
            f"{self.failed_critical} on a critical error."
        )


@dataclass(frozen=True)
class OptionRef:
    """A choice at a decision, named for the page."""

    ordinal: int
    node_id: str
    choice_id: str
    text: str
    verdict: str
    count: int


@dataclass(frozen=True)
class OptionFigures:
    """One option of a decision: how often it was chosen, and the engine's verdict on it."""

    choice_id: str
    text: str
    count: int
    share: float | None
    verdict: str | None
    verdicts: tuple = ()  # (verdict, count) as recorded, most serious first

    @property
    def percent(self):
        """Return the share as a whole percent."""
        return percent(self.share)


@dataclass(frozen=True)
class DecisionFigures:
    """One decision node: who reached it, what they chose, how long they took."""

    node_id: str
    ordinal: int
    excerpt: str
    reached: int | None
    decided: int | None
    people: int | None
    options: tuple[OptionFigures, ...]
    median: float | None  # seconds
    quartiles: tuple[float, float] | None
    stopped: int | None  # unfinished attempts standing here
    suppressed: bool = False
    summary: str = ""

    @property
    def spread(self):
        """Return the interquartile range of time to decide, in seconds."""
        return None if self.quartiles is None else self.quartiles[1] - self.quartiles[0]


@dataclass(frozen=True)
class Stop:
    """Where unfinished attempts stand."""

    node_id: str
    label: str
    in_progress: int | None
    abandoned: int | None
    people: int | None
    suppressed: bool = False


@dataclass(frozen=True)
class PathFigures:
    """One complete path and its outcome."""

    choices: tuple[tuple[int, str], ...]  # (decision number, the choice's text), in order
    attempts: int
    people: int
    share: float | None
    outcome: str
    passed: bool
    sharing_passed: bool
    critical: bool
    changes: tuple[tuple[int, str], ...] | None = None  # where it leaves the first path

    @property
    def percent(self):
        """Return the share of finished attempts as a whole percent."""
        return percent(self.share)


@dataclass(frozen=True)
class CastRowFigures:
    """Pass and sharing-failure rates of the finished attempts that drew one cast row."""

    index: int
    label: str
    finished: int | None
    people: int | None
    passed: int | None
    failed_sharing: int | None
    pass_rate: float | None
    pass_interval: Interval | None
    sharing_rate: float | None
    sharing_interval: Interval | None
    suppressed: bool = False
    details: str = ""  # the whole cast row


@dataclass(frozen=True)
class CastFigures:
    """Rates per cast row, each with a confidence interval, and whether they differ."""

    rows: tuple[CastRowFigures, ...]
    pass_test: Independence
    sharing_test: Independence
    confidence: float = CONFIDENCE

    def summary(self, which):
        """Say in one sentence how one outcome's rate ranges over the cast rows and whether
        the difference is beyond chance; `which` is "passed" or "failed_sharing"."""
        what = "Pass rates" if which == "passed" else "Sharing-failure rates"
        test = self.pass_test if which == "passed" else self.sharing_test
        rated = [
            (r.pass_rate if which == "passed" else r.sharing_rate, r.label)
            for r in self.rows
            if not r.suppressed and r.finished
        ]
        if not rated:
            return f"{what} cannot be shown: no cast row has enough finished attempts."
        low, high = min(rated), max(rated)
        ranges = f"from {percent(low[0])}% for {low[1]} to {percent(high[0])}% for {high[1]}"
        return f"{what} range {ranges}; {test_sentence(test)}"


@dataclass(frozen=True)
class Analytics:
    """Everything an analytics page shows, for one version of one scenario."""

    versions: tuple[VersionInfo, ...]
    version: VersionInfo | None
    filters: Filters
    suppressing: bool
    headline: Headline | None = None
    decisions: tuple[DecisionFigures, ...] = ()
    stops: tuple[Stop, ...] = ()
    paths: tuple[PathFigures, ...] = ()
    cast: CastFigures | None = None
    minimum_people: int = MINIMUM_PEOPLE
    paths_shown: int = PATHS_SHOWN


@dataclass
class _Tally:
    """Counts built up from choice rows for one node."""

    choices: dict = field(default_factory=dict)  # choice id -> decisions
    verdicts: dict = field(default_factory=dict)  # choice id -> {verdict: decisions}
    times: list = field(default_factory=list)  # milliseconds, one per decision


# --------------------------------------------------------------------------- small helpers


# --------------------------------------------------------------------------- time to decide


# --------------------------------------------------------------------------- the story


# --------------------------------------------------------------------------- the figures


def analytics(scenario, rows, versions, version, filters, suppressing):
    """Return the figures of one view from its query rows."""
    decisions = decision_figures(scenario, rows, suppressing, known_verdicts(scenario, rows))
    return Analytics(
        versions=tuple(versions),
        version=version,
        filters=filters,
        suppressing=suppressing,
        headline=headline(rows.headline, decisions, suppressing),
        decisions=tuple(decisions),
        stops=tuple(stops(scenario, rows.stops, suppressing)),
        paths=tuple(paths(scenario, rows.paths, rows.headline.finished, suppressing)),
        cast=cast_figures(scenario, rows.cast, suppressing),
    )


def headline(found, decisions, suppressing):
    """Return the headline; across cohorts, none with fewer than MINIMUM_PEOPLE people.

    The most common failing choice is the one chosen most often with a failing verdict
    (an inappropriate share, a critical error, or a choice that cost the pass), among
    the decisions whose figures are shown.
    """
    if not shown(found.people, suppressing):
        return Headline(None, None, None, None, None, None, None, suppressed=True)
    failing = [
        OptionRef(d.ordinal, d.node_id, o.choice_id, o.text, verdict, count)
        for d in decisions
        if not d.suppressed
        for o in d.options
        for verdict, count in o.verdicts
        if verdict in FAILING
    ]
    top = max(failing, key=lambda ref: (ref.count, -ref.ordinal), default=None)
    people = found.people if suppressing else None  # counted only to suppress
    return Headline(*found._replace(people=people), top_failing=top)


def tally(choice_rows):
    """Group choice rows by node: choices, verdicts per choice, times to decide.

    Written for speed (a view across cohorts can have a few thousand rows): plain dicts,
    no unpacking.
    """
    nodes = {}
    for row in choice_rows:
        node_id, choice_id, verdict, count = row[0], row[1], row[2], row[3]
        counts = nodes.get(node_id)
        if counts is None:
            counts = nodes[node_id] = _Tally()
        chosen = counts.choices
        chosen[choice_id] = chosen.get(choice_id, 0) + count
        if verdict is not None:
            verdicts = counts.verdicts.setdefault(choice_id, {})
            verdicts[verdict] = verdicts.get(verdict, 0) + count
        counts.times.extend(row[4])
    return nodes


def seconds_to_decide(times):
    """Return the lower quartile, median and upper quartile of times in milliseconds, in
    seconds (each None when there are none)."""
    return [None if ms is None else ms / 1000 for ms in quantiles(sorted(times), QUARTILES)]


QUARTILES = (0.25, 0.5, 0.75)


def known_verdicts(scenario, rows):
    """Return the engine's verdict on every option offered along the best and common paths.

    An option no one chose has no recorded verdict; it is judged where one of these
    paths passes its node (the first path through it decides).
    """
    paths = tuple(p.path for p in rows.paths[:PATHS_SHOWN])
    return kept(_known, (id(scenario), paths), scenario, partial(_known_verdicts, scenario, paths))


def _known_verdicts(scenario, paths):
    """Judge the options along the best path and these stored paths (see `known_verdicts`)."""
    judged = {}
    for way in [best_path(scenario), *(pairs_of(path) for path in paths)]:
        for key, verdict in options_judged(scenario, tuple(c for _, c in way)):
            judged.setdefault(key, verdict)
    return judged


_known: dict = {}


def decision_figures(scenario, rows, suppressing, judged):
    """Return each decision node's figures, in story order."""
    tallies = tally(rows.choices)
    stopped = {s.node_id: s.in_progress + s.abandoned for s in rows.stops}
    node_people = rows.node_people if suppressing else {}
    found = []
    for ordinal, node_id in enumerate(decision_ids(scenario), start=1):
        counts = tallies.get(node_id, _Tally())
        decided = sum(counts.choices.values())
        people = node_people.get(node_id, 0) if suppressing else None
        text = outline(scenario).excerpts[node_id]
        if suppressing and not shown(people, True):
            found.append(_suppressed_decision(node_id, ordinal, text))
            continue
        attempts = decided if rows.node_attempts is None else rows.node_attempts.get(node_id, 0)
        options = option_figures(scenario, node_id, counts, decided, judged)
        low, median, high = seconds_to_decide(counts.times)
        figures = DecisionFigures(
            node_id=node_id,
            ordinal=ordinal,
            excerpt=text,
            reached=attempts + stopped.get(node_id, 0),
            decided=decided,
            people=people,
            options=tuple(options),
            median=median,
            quartiles=None if median is None else (low, high),
            stopped=stopped.get(node_id, 0),
        )
        found.append(_with_summary(figures))
    return found


def _suppressed_decision(node_id, ordinal, text):
    """Return a decision whose figures rest on too few people to show."""
    return DecisionFigures(
        node_id,
        ordinal,
        text,
        None,
        None,
        None,
        (),
        None,
        None,
        None,
        suppressed=True,
        summary=f"Fewer than {MINIMUM_PEOPLE} people reached this decision, "
        "so its figures are not shown.",
    )


def option_figures(scenario, node_id, counts, decided, judged):
    """Return every option of a decision (the file's, then any no longer in it)."""
    ids = [c.id for c in scenario.nodes[node_id].choices]
    ids += sorted(set(counts.choices) - set(ids))
    options = []
    for choice_id in ids:
        recorded = sorted(counts.verdicts.get(choice_id, {}).items(), key=_severity)
        verdict = _main_verdict(recorded) or judged.get((node_id, choice_id))
        if verdict is None:
            verdict = _static_verdict(scenario, node_id, choice_id)
        options.append(
            OptionFigures(
                choice_id=choice_id,
                text=outline(scenario).options.get((node_id, choice_id), choice_id),
                count=counts.choices.get(choice_id, 0),
                share=share(counts.choices.get(choice_id, 0), decided),
                verdict=verdict,
                verdicts=tuple(recorded),
            )
        )
    return options


def _severity(pair):
    """Sort key: the most serious verdict first."""
    return SEVERITY.index(pair[0]) if pair[0] in SEVERITY else len(SEVERITY)


def _main_verdict(recorded):
    """Return the verdict recorded most often (the more serious on a tie), or None."""
    if not recorded:
        return None
    return max(recorded, key=lambda pair: (pair[1], -_severity(pair)))[0]


def _static_verdict(scenario, node_id, choice_id):
    """Return the verdict a choice has wherever it is offered, or None if that depends."""
    for choice in scenario.nodes[node_id].choices if node_id in scenario.nodes else ():
        if choice.id == choice_id and choice.inappropriate:
            return engine.INAPPROPRIATE_SHARE
        if choice.id == choice_id and choice.critical:
            return engine.CRITICAL
    return None


def _with_summary(figures):
    """Return the decision's figures with their one-sentence summary."""
    return replace(figures, summary=decision_summary(figures))


def decision_summary(figures):
    """Say in one sentence what most attempts chose here and how many chose badly.

    For example: 'Most attempts (62%) chose "…"; 4 in 10 chose an inappropriate share.'
    """
    if not figures.decided:
        return "No attempt has made this decision yet."
    ranked = sorted(figures.options, key=lambda o: -o.count)
    top = ranked[0]
    tied = [o for o in ranked if o.count == top.count]
    if len(tied) > 1:
        named = " and ".join(quoted(o.text) for o in tied)
        sentence = f"Attempts were split equally ({top.percent}% each) between {named}"
    elif top.share == 1:
        sentence = f"Every attempt chose {quoted(top.text)}"
    elif top.share > 0.5:
        sentence = f"Most attempts ({top.percent}%) chose {quoted(top.text)}"
    else:
        sentence = f"The most common choice ({top.percent}% of attempts) was {quoted(top.text)}"
    bad = _bad_share(figures.options)
    return sentence + (f"; {bad}." if bad else ".")


def quoted(words):
    """Return an option's text in quotation marks, without its closing full stop."""
    return f"“{words.rstrip('.')}”"


def _bad_share(options):
    """Say how many in 10 chose an inappropriate share or a critical error, if any did."""
    parts = []
    for verdict, what in (
        (engine.INAPPROPRIATE_SHARE, "chose an inappropriate share"),
        (engine.CRITICAL, "made a critical error"),
    ):
        value = sum(share_of_verdict(o, verdict) for o in options)
        if value > 0:
            parts.append(f"{in_ten(value)} {what}")
    return " and ".join(parts)


def share_of_verdict(option, verdict):
    """Return the share of the decision's attempts that took this option with a verdict."""
    if not option.count or option.share is None:
        return 0.0
    with_verdict = dict(option.verdicts).get(verdict, 0)
    if not option.verdicts and option.verdict == verdict:
        with_verdict = option.count
    return option.share * with_verdict / option.count


def stops(scenario, stop_rows, suppressing):
    """Return where unfinished attempts stand, in story order."""
    story = outline(scenario)
    order = {node_id: i for i, node_id in enumerate(story.order)}
    decisions = list(story.decisions)
    found = []
    for stop in sorted(stop_rows, key=lambda s: (order.get(s.node_id, len(order)), s.node_id)):
        label = stop_label(scenario, stop.node_id, decisions)
        if not shown(stop.people, suppressing):
            found.append(Stop(stop.node_id, label, None, None, None, suppressed=True))
        else:
            found.append(Stop(stop.node_id, label, stop.in_progress, stop.abandoned, stop.people))
    return found


def stop_label(scenario, node_id, decisions):
    """Name the node an attempt stands at: 'Decision 2: …' or 'A step before …: …'."""
    node = scenario.nodes.get(node_id)
    if node is None:
        return f"A node no longer in this version ({node_id})"
    text = outline(scenario).excerpts[node_id] or node_id
    if node.kind == "decision":
        return f"Decision {decisions.index(node_id) + 1}: {text}"
    return f"A step before the next decision: {text}"


def paths(scenario, path_rows, finished, suppressing=False):
    """Return the most common complete paths, most taken first, with their outcomes.

    Each path after the first also says where it differs from the first: the decisions
    it takes differently, or that the first never reached. Where suppression applies, a
    path taken by fewer than MINIMUM_PEOPLE people is left out (the store reads
    PATHS_FETCHED paths, so that PATHS_SHOWN remain).
    """
    found, first = [], None
    enough = [taken for taken in path_rows if shown(taken.people, suppressing)]
    for taken in enough[:PATHS_SHOWN]:
        choices = path_decisions(scenario, taken.path)
        first = choices if first is None else first
        found.append(
            PathFigures(
                choices=choices,
                attempts=taken.attempts,
                people=taken.people,
                share=share(taken.attempts, finished),
                outcome=outline(scenario).outcomes.get(taken.ending, "Unknown ending"),
                passed=bool(taken.passed),
                sharing_passed=bool(taken.sharing_passed),
                critical=bool(taken.critical_count),
                changes=None if choices is first else tuple(c for c in choices if c not in first),
            )
        )
    return found


def path_decisions(scenario, path):
    """Return (decision number, choice text) for each decision of a stored path."""
    story = outline(scenario)
    number = {node_id: i for i, node_id in enumerate(story.decisions, start=1)}
    return tuple(
        (number[node_id], story.options.get((node_id, choice_id), choice_id))
        for node_id, choice_id in pairs_of(path)
        if node_id in number
    )


# The cast values that name a row, in this order, where a scenario has them.
LABEL_KEYS = ("victim", "name", "nationality", "language")


def cast_label(cast_row):
    """Name a cast row briefly by who the victim is, e.g. 'Amina (Somali)'.

    It takes the victim's name, nationality and language where the row has them, else
    its first two values.
    """
    picked = [cast_row[key] for key in LABEL_KEYS if key in cast_row] or list(cast_row.values())[
        :2
    ]
    head, *rest = picked or ["A cast row"]
    return f"{head} ({', '.join(rest)})" if rest else head


def cast_details(cast_row):
    """Describe a whole cast row, e.g. 'victim: Amina; language: Somali'."""
    return "; ".join(f"{key}: {value}" for key, value in cast_row.items())


def cast_figures(scenario, cast_rows, suppressing):
    """Return pass and sharing-failure rates per cast row with Wilson intervals, and tests.

    Rates are over finished attempts. Across cohorts a row resting on fewer than
    MINIMUM_PEOPLE people is suppressed and left out of the tests. None for a scenario
    with fewer than two cast rows.
    """
    if len(scenario.cast) < 2:
        return None
    counted = {found.cast_index: found for found in cast_rows}
    rows = []
    for index, cast_row in enumerate(scenario.cast):
        found = counted.get(index) or CastRow(index, 0, 0, 0, 0)
        figures = _cast_row(index, cast_label(cast_row), found, suppressing)
        rows.append(replace(figures, details=cast_details(cast_row)))
    tested = [r for r in rows if not r.suppressed and r.finished]
    return CastFigures(
        rows=tuple(rows),
        pass_test=independence([[r.passed, r.finished - r.passed] for r in tested]),
        sharing_test=independence(
            [[r.failed_sharing, r.finished - r.failed_sharing] for r in tested]
        ),
    )


def _cast_row(index, label, found, suppressing):
    """Return one cast row's rates, or a suppressed row."""
    if not shown(found.people, suppressing):
        return CastRowFigures(index, label, *([None] * 8), suppressed=True)
    return CastRowFigures(
        index=index,
        label=label,
        finished=found.finished,
        people=found.people,
        passed=found.passed,
        failed_sharing=found.failed_sharing,
        pass_rate=share(found.passed, found.finished),
        pass_interval=wilson(found.passed, found.finished),
        sharing_rate=share(found.failed_sharing, found.finished),
        sharing_interval=wilson(found.failed_sharing, found.finished),
    )


# --------------------------------------------------------------------------- one attempt
