"""What feedback and the debrief show, built from a scenario and an attempt's step log."""

from dataclasses import dataclass

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


@dataclass
class Verdict:
    """Whether a choice was a good one, in a word and a sentence."""

    kind: str  # "good", "better-available", "poor" or "critical"
    title: str


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
    alternatives: list
    rationale: str | None
    elapsed_ms: int
    ndm: str | None


VERDICTS = {
    engine.INAPPROPRIATE_SHARE: Verdict(
        "critical", "This choice shared immigration information inappropriately"
    ),
    engine.CRITICAL: Verdict("critical", "A critical error: this choice fails the attempt"),
    engine.COSTS_THE_PASS: Verdict("poor", "This choice cost you the pass"),
    engine.BETTER_AVAILABLE: Verdict("better-available", "A better option was available"),
    engine.GOOD: Verdict("good", "A good choice"),
}


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
        options = dict((c.id, v) for c, v in judgement.offered)
        result.append(
            decision(scenario, step, node, judgement, shown, options, row, len(result) + 1)
        )
    return result


def decision(scenario, step, node, judgement, shown, options, row, ordinal):
    """Describe one decision."""
    choice = judgement.choice
    return Decision(
        number=step.step_number + 1,
        ordinal=ordinal,
        question=filled_markdown(node.text, row),
        chosen=filled(choice.text, row),
        verdict=VERDICTS[judgement.verdict],
        sharing=choice.sharing,
        feedback=filled_markdown(choice.feedback, row),
        references=references_for(scenario, choice),
        alternatives=[
            {
                "text": filled(c.text, row),
                "feedback": filled_markdown(c.feedback, row),
                "verdict": VERDICTS[options[c.id]],
            }
            for c in shown
            if c.id != choice.id
        ],
        rationale=step.rationale,
        elapsed_ms=step.elapsed_ms,
        ndm=node.ndm,
    )


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
