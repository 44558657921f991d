"""Marking an attempt's written reasons against the rubric (`marking.RUBRIC`).

Only a trainer or admin who can see the attempt may see or mark it (`results.visible_attempt`);
free practice is never marked. A mark never changes the pass or the grade.
"""

from flask import abort, flash, g, redirect, render_template, request, url_for

from ... import attempts, debrief, marking, results
from ..auth import allow
from . import TRAINERS, bp

NOTHING_TO_MARK = "That decision has no written reason to mark, so nothing was recorded."


@bp.route("/attempts/<int:attempt_id>/marks", methods=["GET", "POST"])
@allow(*TRAINERS)
def attempt_marks(attempt_id):
    """Show an attempt's written reasons with their newest marks, and mark one."""
    attempt, person = results.visible_attempt(g.user, attempt_id)
    if attempt.assignment_id is None or attempt.preview:
        abort(404)
    if request.method == "GET":
        return render_marks(attempt, person)
    here = url_for("train.attempt_marks", attempt_id=attempt.id)
    step = marking.rationale_step(attempt.id, request.form.get("step_id", ""))
    if step is None:
        flash(NOTHING_TO_MARK, "info")
        return redirect(here, 303)
    comment = request.form.get("comment", "").strip()
    met = set(request.form.getlist("criteria"))
    errors = mark_errors(step, met, comment)
    if errors:
        return render_marks(attempt, person, step.id, request.form, errors), 422
    marking.add_mark(g.user, attempt, person, step, met, comment)
    flash(f"Your mark of decision {marking.decision_ordinal(step)} has been saved.", "success")
    return redirect(f"{here}#decision-{step.id}", 303)


def mark_errors(step, met, comment):
    """Return a message for each field of a step's marking form that needs fixing."""
    if problem := marking.comment_problem(comment):
        return {f"comment-{step.id}": problem}
    if problem := marking.empty_mark_problem(met, comment):
        return {criteria_field(step.id): problem}
    return {}


def criteria_field(step_id):
    """Return the id of a step's first criterion checkbox, where its error summary links."""
    return f"criteria-{step_id}-{marking.RUBRIC[0][0]}"


def render_marks(attempt, person, posted_step_id=None, form=None, errors=None):
    """Render the marking page: each written reason, its newest mark, and a form to mark it."""
    progress = attempts.progress_of(attempt)
    log = debrief.decisions(
        progress.scenario, progress.steps, progress.row, attempt.seed, attempt.choice_order
    )
    marks = marking.latest_marks(attempt.id)
    items = []
    for decision in log:
        step = progress.steps[decision.number - 1]
        if step.rationale is None:
            continue
        mark, marker = marks.get(step.id, (None, None))
        posted = form if step.id == posted_step_id else None
        items.append(mark_item(decision, step, mark, marker, posted))
    return render_template(
        "train/marks.html",
        attempt=attempt,
        person=person,
        scenario=progress.scenario,
        items=items,
        rubric=marking.RUBRIC,
        comment_max=marking.COMMENT_MAX,
        errors=errors or {},
        criteria_field=criteria_field,
    )


def mark_item(decision, step, mark, marker, posted):
    """Return one written reason to mark, with the form's values: as posted, else its mark."""
    if posted is not None:
        checked, comment = set(posted.getlist("criteria")), posted.get("comment", "")
    elif mark is not None:
        checked, comment = {key for key, met in mark.criteria.items() if met}, mark.comment
    else:
        checked, comment = set(), ""
    return {
        "decision": decision,
        "step": step,
        "mark": mark,
        "marker": marker,
        "checked": checked,
        "comment": comment,
    }
