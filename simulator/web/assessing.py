"""The candidate's side of a CPD assessment, for the play views: briefing, start, clock, review.

The play views stay the same for practice and assessment; where an assignment is an
assessment they ask this module. The server is the clock: every request about a live
assessment attempt first brings its state up to the time (`assessments.close_if_due`).
"""

from flask import flash, g, redirect, request, url_for

from .. import assessments, attempts, marking
from ..db import db
from ..models import Assignment, utcnow
from ..rendering import LONDON


def briefing_context(assignment, own):
    """Return what an assessment's briefing adds: its terms, attempts used, and why not."""
    found, terms = assessments.own_assessment(g.user, assignment)
    return {
        "assessment": found,
        "used": assessments.attempts_used(own),
        **where_candidate_stands(found, terms, own, utcnow()),
        "grade_method": assessments.GRADE_METHOD_LABELS[found.grade_method],
        "overdue_rule": assessments.OVERDUE_LABELS[found.overdue],
    }


def where_candidate_stands(found, terms, own, now):
    """Return where a candidate stands at an assessment, as its briefing and its catalogue
    card say: their terms, the attempt that counts, why no attempt can start now (None if
    one can), and what the review matrix lets them see of each attempt now (as its review
    page does: no outcome or grade before the trainer's settings allow)."""
    return {
        "terms": terms,
        "counting": assessments.counting_attempt(own, found.grade_method),
        "start_problem": assessments.start_problem(terms, own, now),
        "review_shows": {a.id: assessments.review_allows(found, a, terms, now) for a in own},
    }


def feedback_during(attempt):
    """Say whether an attempt shows feedback after each decision: practice always; an
    assessment only where its review options show feedback during the attempt."""
    if attempt.mode != "assessment":
        return True
    found = assessments.settings_of_id(attempt.assignment_id)
    return "feedback" in assessments.normal_review(found.review)["during"]


def refusal(assignment):
    """Return a redirect to the briefing saying why an attempt cannot start now, or None."""
    found, terms = assessments.own_assessment(g.user, assignment)
    own = attempts.user_attempts(g.user.id, assignment.scenario_key, assignment.id)
    problem = assessments.start_problem(terms, own, utcnow())
    if problem is None:
        return None
    flash(problem, "info")
    return redirect(url_for("play.assignment", assignment_id=assignment.id), 303)


def code_errors(assignment):
    """Return the briefing form's errors for the access code posted with Start, if any."""
    found = assessments.settings_of(assignment)
    problem = assessments.code_problem(found, request.form.get("code"))
    return {"code": problem} if problem else {}


def beginner(assignment):
    """Return the function that begins an assessment attempt with its clock set."""
    found, terms = assessments.own_assessment(g.user, assignment)

    def begin(user, version, number, assignment, shown=False):
        return assessments.start(user, version, number, assignment, found, terms, shown=shown)

    return begin


def settle(attempt):
    """Bring an assessment attempt up to the clock; return a redirect if it has closed."""
    if attempt.mode != "assessment":
        return None
    if not assessments.close_if_due(attempt):
        return None
    flash(closed_notice(attempt), "info")
    return redirect(url_for("play.debrief_page", attempt_id=attempt.id), 303)


def closed_notice(attempt):
    """Say that an attempt closed because its time was over, and when."""
    at = attempt.grace_until if attempt.grace_until else attempt.deadline_at
    return (
        f"Time ran out at {at.astimezone(LONDON):%H:%M}, so nothing more can be recorded. "
        f"{attempt.closed_reason}"
    )


def before_step(attempt):
    """Refuse a step posted after the deadline (and grace); mark a step in grace late.

    Returns a redirect when the step is refused, else None.
    """
    if attempt.mode != "assessment":
        return None
    refused = settle(attempt)
    if refused is not None:
        return refused
    if assessments.phase(attempt, utcnow()) == "grace":
        attempt.late = True
    return None


def clock(attempt):
    """Return what every page of a live assessment attempt says of its time, or None."""
    if attempt.mode != "assessment" or attempt.deadline_at is None:
        return None
    now = utcnow()
    in_grace = assessments.phase(attempt, now) == "grace"
    until = attempt.grace_until if in_grace else attempt.deadline_at
    return {
        "until": until,
        "until_text": f"{until.astimezone(LONDON):%H:%M}",
        "seconds_left": max(0, int((until - now).total_seconds())),
        "in_grace": in_grace,
    }


def review_context(attempt):
    """Return what a candidate may see of a finished assessment attempt, by the matrix.

    Everything a practice debrief shows is kept in the context; `shows` says which
    parts the page may show now, and `summary` is the plain summary always shown.
    """
    found, terms = assessments.own_assessment(g.user, attempt_assignment(attempt))
    now = utcnow()
    shows = assessments.review_allows(found, attempt, terms, now)
    return {
        "shows": shows,
        "review_when": assessments.review_when(attempt, terms, now),
        "closes_at": terms.closes_at,
        "assessment": found,
        "events": assessments.events_of(attempt.id),
        # A trainer's marks of the reasons are feedback: shown only when feedback is.
        "marks": marking.decision_marks(attempt.id) if "feedback" in shows else {},
        "rubric": marking.RUBRIC,
    }


def attempt_assignment(attempt):
    """Return the assignment an assessment attempt belongs to (live or not)."""
    return db.session.get(Assignment, attempt.assignment_id)
