"""Marking rationales: a trainer's mark of an officer's written reason against a rubric.

Marks are evidence for the officer's CPD record, never part of the result: the pass and the
grade stay the objective result of the choices (`engine.result`), and nothing here reads or
writes them. Marks are append-only (`RationaleMark`), each with who and when; the newest
mark of a step applies. A rationale awaits marking while its step has no mark at all.
"""

from sqlalchemy import func
from sqlmodel import select

from . import audit
from .db import db
from .models import Attempt, AttemptStep, RationaleMark, User, utcnow

RUBRIC = (
    ("risk", "States the risk"),
    ("policy", "Names the policy or power"),
    ("options", "Considers the options"),
)
COMMENT_MAX = 2000


def rationale_steps(attempt_id):
    """Return an attempt's decisions that recorded a rationale, in the order taken."""
    statement = select(AttemptStep).where(
        AttemptStep.attempt_id == attempt_id,
        AttemptStep.is_decision,
        AttemptStep.rationale.is_not(None),
    )
    return db.session.exec(statement.order_by(AttemptStep.step_number)).all()


def rationale_step(attempt_id, step_id):
    """Return the step with this id (as posted) if it is one of the attempt's rationales."""
    return next((s for s in rationale_steps(attempt_id) if str(s.id) == step_id), None)


def latest_marks(attempt_id):
    """Return {step id: (its newest mark, the marker)} for an attempt's marked steps."""
    statement = (
        select(RationaleMark, User)
        .join(User, User.id == RationaleMark.marker_id)
        .where(RationaleMark.attempt_id == attempt_id)
        .order_by(RationaleMark.at, RationaleMark.id)
    )
    return {mark.step_id: (mark, marker) for mark, marker in db.session.exec(statement).all()}


def decision_marks(attempt_id):
    """Return {decision number (step number + 1): its newest mark} for an attempt."""
    statement = (
        select(RationaleMark, AttemptStep.step_number)
        .join(AttemptStep, AttemptStep.id == RationaleMark.step_id)
        .where(RationaleMark.attempt_id == attempt_id)
        .order_by(RationaleMark.at, RationaleMark.id)
    )
    return {number + 1: mark for mark, number in db.session.exec(statement).all()}


EMPTY_MARK = "Select what the reason does, or write a comment saying why it does none of these"


def comment_problem(comment):
    """Return why a mark's comment cannot be kept, or None."""
    if len(comment) > COMMENT_MAX:
        return f"The comment must be {COMMENT_MAX:,} characters or fewer"
    return None


def empty_mark_problem(met, comment):
    """Return why a mark with no criterion met and no comment is refused, or None.

    Marks are never removed, so an empty one (a stray click) would stay for good; a mark of
    "none met" says so in its comment.
    """
    if not met & {key for key, _label in RUBRIC} and not comment:
        return EMPTY_MARK
    return None


def add_mark(actor, attempt, person, step, met, comment, now=None):
    """Mark a rationale: which criteria of the rubric it meets, and a comment. Audited."""
    criteria = {key: key in met for key, _label in RUBRIC}
    mark = RationaleMark(
        attempt_id=attempt.id,
        step_id=step.id,
        marker_id=actor.id,
        at=now or utcnow(),
        criteria=criteria,
        comment=comment,
    )
    db.session.add(mark)
    db.session.flush()
    audit.record(
        actor,
        "rationale.mark",
        attempt,
        f"Marked {person.username!r}'s reason at decision {decision_ordinal(step)} "
        f"of attempt {attempt.number}",
        step_id=step.id,
        mark_id=mark.id,
        criteria=criteria,
    )
    db.session.commit()
    return mark


def decision_ordinal(step):
    """Return which decision of its attempt a step is: 1 for the first, as the debrief counts."""
    statement = select(func.count(AttemptStep.id)).where(
        AttemptStep.attempt_id == step.attempt_id,
        AttemptStep.is_decision,
        AttemptStep.step_number <= step.step_number,
    )
    return db.session.exec(statement).one()


def awaiting_by_attempt(assignment_id):
    """Return {attempt id: rationales not yet marked} for an assignment, in one query.

    Only finished assessment attempts count (a practice attempt may be marked, but nothing
    awaits it), previews never; an attempt with none awaiting is left out.
    """
    marked = select(RationaleMark.id).where(RationaleMark.step_id == AttemptStep.id).exists()
    statement = (
        select(AttemptStep.attempt_id, func.count(AttemptStep.id))
        .join(Attempt, Attempt.id == AttemptStep.attempt_id)
        .where(
            Attempt.assignment_id == assignment_id,
            Attempt.mode == "assessment",
            Attempt.finished_at.is_not(None),
            Attempt.preview.is_(False),
            AttemptStep.is_decision,
            AttemptStep.rationale.is_not(None),
            ~marked,
        )
        .group_by(AttemptStep.attempt_id)
    )
    return dict(db.session.exec(statement).all())
