"""What feedback and the debrief show, built from a scenario and an attempt's step log."""

from dataclasses import dataclass, field

from . import engine
from .rendering import filled, filled_markdown

NDM_STAGES = {
    "information": "Gather information and intelligence",
    "threat-risk": "Assess threat and risk and develop a working strategy",
    "powers-policy": "Consider powers and policy",
    "options": "Identify options and contingencies",
    "action-review": "Take action and review what happened",
}
OTHER_STAGE = "Other decisions"


@dataclass(frozen=True)
class Verdict:
    """An engine verdict, with its tag colour kind and its sentence."""

    key: str  # one of engine.VERDICTS
    kind: str  # "good", "better-available", "poor" or "critical"
    title: str
    would: str  # the same verdict said of an option that was not taken

    @property
    def good(self) -> bool:
        """Return whether this is the verdict of a good choice."""
        return self.key == engine.GOOD


VERDICTS = {
    engine.INAPPROPRIATE_SHARE: Verdict(
        engine.INAPPROPRIATE_SHARE,
        "critical",
        "This choice shared immigration information inappropriately",
        "Would have shared immigration information inappropriately",
    ),
    engine.CRITICAL: Verdict(
        engine.CRITICAL,
        "critical",
        "A critical error: this choice fails the attempt",
        "Would have been a critical error",
    ),
    engine.COSTS_THE_PASS: Verdict(
        engine.COSTS_THE_PASS,
        "poor",
        "This choice cost you the pass",
        "Would have cost the pass",
    ),
    engine.BETTER_AVAILABLE: Verdict(
        engine.BETTER_AVAILABLE,
        "better-available",
        "A better option was available",
        "A better option was available",
    ),
    engine.GOOD: Verdict(engine.GOOD, "good", "A good choice", "A good choice"),
}
SEVERITY = list(engine.VERDICTS)  # most serious first
WORK_ON_LIMIT = 3


@dataclass
class Option:
    """One option a decision offered, with what it would have meant."""

    text: str
    verdict: Verdict
    chosen: bool
    feedback: object
    references: list
    points: int  # its points over all dimensions, to pick the best of the good ones


@dataclass
class Decision:
    """One decision in the log, ready to show."""

    number: int
    ordinal: int
    question: str
    chosen: str
    verdict: Verdict
    sharing: str | None
    feedback: object
    references: list
    options: list  # every option offered, in the order the attempt showed them
    asked_reason: bool
    rationale: str | None
    elapsed_ms: int
    ndm: str | None
    losses: dict = field(default_factory=dict)  # dimension -> points below the best option

    @property
    def alternatives(self):
        """Return the options offered beside the one chosen."""
        return [option for option in self.options if not option.chosen]

    @property
    def stage(self):
        """Return the National Decision Model stage's name, or None."""
        return NDM_STAGES.get(self.ndm)

    @property
    def better(self):
        """Return the option to learn from: the good option worth most, else the least bad."""
        others = self.alternatives
        if not others:
            return None
        return max(others, key=lambda o: (SEVERITY.index(o.verdict.key), o.points))


def references_for(scenario, choice):
    """Return the references a choice cites."""
    return [scenario.references[key] for key in choice.refs if key in scenario.references]


def decisions(scenario, steps, row, seed, rule):
    """Return every decision of the log (steps left out), each with the options it showed.

    Verdicts are the engine's (``engine.Judge.judge``); the options are listed in the
    order this attempt showed them (its ``seed`` and order ``rule``).
    """
    judged = engine.verdicts(scenario, [step.choice_id for step in steps])
    result = []
    for step, judgement in zip(steps, judged, strict=True):
        node = scenario.nodes[judgement.state.node]
        if node.kind != "decision":
            continue
        shown = engine.shown_choices(scenario, judgement.state, seed, rule)
        result.append(decision(scenario, step, node, judgement, shown, row, len(result) + 1))
    return result


def last_decision(scenario, steps, row, seed, rule):
    """Return the log's last step as `decisions` describes it, or None if it was no decision.

    Only that one is described (a feedback page shows no other), so the earlier decisions'
    text is never filled in.
    """
    if not steps:
        return None
    choice_ids = [step.choice_id for step in steps]
    asked = [
        scenario.nodes[state.node].kind == "decision"
        for state, _ in engine.walk(scenario, choice_ids)
    ]
    if not asked[-1]:
        return None
    judgement = engine.last_verdict(scenario, choice_ids)
    node = scenario.nodes[judgement.state.node]
    shown = engine.shown_choices(scenario, judgement.state, seed, rule)
    return decision(scenario, steps[-1], node, judgement, shown, row, sum(asked))


def decision(scenario, step, node, judgement, shown, row, ordinal):
    """Describe one decision."""
    choice, verdicts = judgement.choice, dict((c.id, v) for c, v in judgement.offered)
    return Decision(
        number=step.step_number + 1,
        ordinal=ordinal,
        question=filled_markdown(node.text, row),
        chosen=filled(choice.text, row),
        verdict=VERDICTS[judgement.verdict],
        sharing=choice.sharing,
        feedback=filled_markdown(choice.feedback, row),
        references=references_for(scenario, choice),
        options=[
            Option(
                text=filled(c.text, row),
                verdict=VERDICTS[verdicts[c.id]],
                chosen=c.id == choice.id,
                feedback=filled_markdown(c.feedback, row),
                references=references_for(scenario, c),
                points=sum(c.score.values()),
            )
            for c in shown
        ],
        asked_reason=node.rationale != "none",
        rationale=step.rationale,
        elapsed_ms=step.elapsed_ms,
        ndm=node.ndm,
        losses=losses(scenario, choice, shown),
    )


def losses(scenario, choice, offered):
    """Return, per dimension, how many points the choice scored below the best option offered.

    Only options that fail nothing count as the best: points never excuse an error.
    """
    safe = [c for c in offered if not c.fails]
    found = {}
    for key in scenario.dimensions:
        best = max((c.score.get(key, 0) for c in safe), default=0)
        lost = best - choice.score.get(key, 0)
        if lost > 0:
            found[key] = lost
    return found


def work_on(log):
    """Return the decisions that cost the most, most serious first, at most WORK_ON_LIMIT.

    Order: inappropriate shares, critical errors, choices that cost the pass, then those
    where a better option was available; within each, the most points lost first.
    """
    weak = [d for d in log if not d.verdict.good]
    weak.sort(key=lambda d: (SEVERITY.index(d.verdict.key), -sum(d.losses.values()), d.ordinal))
    return weak[:WORK_ON_LIMIT], max(0, len(weak) - WORK_ON_LIMIT)


def score_reasons(log, result):
    """Return, per dimension key, the decisions that lost points in it, most lost first."""
    reasons = {}
    for dimension in result.dimensions:
        lost = [(d.ordinal, d.losses[dimension.key]) for d in log if dimension.key in d.losses]
        reasons[dimension.key] = sorted(lost, key=lambda pair: (-pair[1], pair[0]))
    return reasons


def grouped_by_stage(log):
    """Group decisions by NDM stage in the model's order, or return one group if none is tagged."""
    if not any(d.ndm for d in log):
        return [(None, log)]
    groups = []
    for key, label in [*NDM_STAGES.items(), (None, OTHER_STAGE)]:
        members = [d for d in log if d.ndm == key]
        if members:
            groups.append((label, members))
    return groups


def failed_sharing_choices(scenario, result, row):
    """Return the text of each choice that failed the sharing criterion."""
    return [filled(choice.text, row) for choice in _choices(scenario, result.failed_sharing)]


def critical_errors(scenario, result, row):
    """Return the text and feedback of each critical error, in the order they were taken."""
    return [
        {"text": filled(choice.text, row), "feedback": filled_markdown(choice.feedback, row)}
        for choice in _choices(scenario, result.critical_errors)
    ]


def _choices(scenario, pairs):
    """Return the choices named by ``(node id, choice id)`` pairs."""
    return [
        next(c for c in scenario.nodes[node_id].choices if c.id == choice_id)
        for node_id, choice_id in pairs
    ]


def duration(ms):
    """Say how long a decision took, in words."""
    seconds = round(ms / 1000)
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s"
