"""The printable record of one attempt, with its chain and seal checked as it is shown.

Everything a reviewer needs on paper: the candidate, the assignment, the scenario version
and its digest, the times, the state changes, every step with its link, the result, the
seal, and how to check it all again (`flask records verify --attempt N`). Only a trainer
or admin who can see the attempt may see its record (`results.visible_attempt`).
"""

from dataclasses import dataclass
from datetime import UTC

from flask import g, render_template

from ... import assessments, assignments, attempts, chain, cohorts, debrief, records, results
from ...engine import ChoiceNotOffered
from ...models import AttemptStep, utcnow
from ...rendering import LONDON, filled
from ..auth import allow
from . import TRAINERS, bp

NOT_CHECKED = "not checked"  # beside chain.VERIFIED, NOT_CHAINED and FAILED: no key to check with


@dataclass(frozen=True)
class RecordedStep:
    """One step of the record, with the decision it answered (None for a step that only
    went on) as the debrief describes it."""

    step: AttemptStep
    decision: debrief.Decision | None

    @property
    def verdict(self):
        """Return the verdict recorded with the step, else the one the engine gives it now."""
        recorded = debrief.VERDICTS.get(self.step.verdict)
        return recorded or (self.decision.verdict if self.decision else None)


@dataclass(frozen=True)
class Check:
    """What checking the attempt's record found now, and any unlock left open."""

    status: str  # chain.VERIFIED, chain.NOT_CHAINED, chain.FAILED or NOT_CHECKED
    problems: tuple[str, ...] = ()
    unlocks: int = 0

    @property
    def verified(self):
        """Say whether the chain (and the seal, where there is one) matched."""
        return self.status == chain.VERIFIED

    @property
    def failed(self):
        """Say whether the check found a change made after the record was."""
        return self.status == chain.FAILED

    @property
    def not_chained(self):
        """Say whether the attempt was recorded before the chain existed."""
        return self.status == chain.NOT_CHAINED


@bp.get("/attempts/<int:attempt_id>/record")
@allow(*TRAINERS)
def attempt_record(attempt_id):
    """Show an attempt's record, ready to print, with its chain and seal checked now."""
    attempt, person = results.visible_attempt(g.user, attempt_id)
    # First: the check lets go of the objects it read, so what follows reads afresh.
    check = checked(attempt.id)
    progress = attempts.progress_of(attempt)
    cohort = cohort_of(attempt)
    steps, replay_problem = recorded_steps(progress)
    return render_template(
        "train/record.html",
        attempt=attempt,
        person=person,
        version=progress.version,
        cohort=cohort,
        times=times_of(attempt),
        events=assessments.events_of(attempt.id),
        state_labels=assessments.STATE_LABELS,
        steps=steps,
        replay_problem=replay_problem,
        outcome=outcome_of(progress),
        grade=attempts.stored_grade(attempt.result) if attempt.result else None,
        check=check,
        command=f"flask records verify --attempt {attempt.id}",
        made_at=utcnow(),
        duration=debrief.duration,
        london_time=london_time,
        utc_time=utc_time,
        iso_time=iso_time,
    )


def checked(attempt_id):
    """Check one attempt's chain, seal and reasons exactly as `flask records verify` does."""
    try:
        found = list(records.verify(attempt_id))
    except records.MissingRecordsKey as error:
        return Check(NOT_CHECKED, (str(error),))
    verdict = found[0].verdict
    return Check(verdict.status, verdict.problems, records.open_unlocks())


def cohort_of(attempt):
    """Return the cohort of the attempt's assignment, or None for free practice."""
    if attempt.assignment_id is None:
        return None
    assignment = assignments.visible_assignment(g.user, attempt.assignment_id)
    return cohorts.visible_cohort(g.user, assignment.cohort_id)


def recorded_steps(progress):
    """Return every step with its decision, and why the steps cannot be replayed, if so.

    A step changed behind the app's back may take a choice the scenario never offered
    there: the record still shows every step as stored, without the decisions' words.
    """
    attempt, steps = progress.attempt, progress.steps
    try:
        log = debrief.decisions(
            progress.scenario, steps, progress.row, attempt.seed, attempt.choice_order
        )
    except ChoiceNotOffered as error:
        return [RecordedStep(step, None) for step in steps], str(error)
    by_number = {decision.number: decision for decision in log}
    return [RecordedStep(step, by_number.get(step.step_number + 1)) for step in steps], None


def times_of(attempt):
    """Return the attempt's times as (what, when, what to say where it has none)."""
    rows = [
        ("Started", attempt.started_at, ""),
        ("Deadline", attempt.deadline_at, "No deadline"),
        ("Grace period ends", attempt.grace_until, "No grace period"),
        ("Finished", attempt.finished_at, "Not finished"),
    ]
    if attempt.abandoned_at is not None:
        rows.append(("Abandoned", attempt.abandoned_at, ""))
    return rows


def outcome_of(progress):
    """Return the outcome of the ending the attempt reached, in its cast, or None."""
    ending = progress.attempt.ending
    node = progress.scenario.nodes.get(ending) if ending else None
    if node is None or node.end is None:
        return None
    return filled(node.end.outcome, progress.row)


def aware(moment):
    """Return a stored time with its zone (UTC where the database gave none)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def london_time(moment):
    """Show a time in London to the second with its zone: '1 December 2026, 09:05:03 GMT'."""
    local = aware(moment).astimezone(LONDON)
    return f"{local.day} {local:%B %Y, %H:%M:%S %Z}"


def iso_time(moment):
    """Return a time in ISO 8601 with its offset, for a <time> element."""
    return aware(moment).isoformat(timespec="seconds")


def utc_time(moment):
    """Show a time in UTC to the second: '2026-12-01 09:05:03 UTC'."""
    return f"{aware(moment).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
