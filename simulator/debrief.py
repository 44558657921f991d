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


def total(choice):
    """Return a choice's points over all dimensions."""
    return sum(choice.score.values())


def verdict(choice, offered):
    """Judge a choice against the others offered with it."""
    if choice.inappropriate:
        return Verdict("critical", "This choice shared immigration information inappropriately")
    safe = [total(c) for c in offered if not c.inappropriate]
    if total(choice) >= max(safe, default=total(choice)):
        return Verdict("good", "A good choice")
    if total(choice) < 0:
        return Verdict("poor", "Not a good choice")
    return Verdict("better-available", "A better option was available")


def references_for(scenario, choice):
    """Return the references a choice cites."""
    return [scenario.references[key] for key in choice.refs if key in scenario.references]


def decisions(scenario, steps, row):
    """Return every decision of the log (steps left out), with what was offered at each."""
    walked = engine.walk(scenario, [step.choice_id for step in steps])
    result = []
    for step, (state, choice) in zip(steps, walked, strict=True):
        node = scenario.nodes[state.node]
        if node.kind != "decision":
            continue
        offered = engine.offered_choices(scenario, state)
        result.append(decision(scenario, step, node, choice, offered, row, len(result) + 1))
    return result


def decision(scenario, step, node, choice, offered, row, ordinal):
    """Describe one decision."""
    return Decision(
        number=step.step_number + 1,
        ordinal=ordinal,
        question=filled_markdown(node.text, row),
        chosen=filled(choice.text, row),
        verdict=verdict(choice, offered),
        sharing=choice.sharing,
        feedback=filled_markdown(choice.feedback, row),
        references=references_for(scenario, choice),
        alternatives=[
            {"text": filled(c.text, row), "feedback": filled_markdown(c.feedback, row)}
            for c in offered
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
    texts = []
    for node_id, choice_id in result.failed_sharing:
        node = scenario.nodes[node_id]
        choice = next(c for c in node.choices if c.id == choice_id)
        texts.append(filled(choice.text, row))
    return texts


def duration(ms):
    """Say how long a decision took, in words."""
    seconds = round(ms / 1000)
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s"
