"""Invigilating an assessment: the live view of its candidates, and one candidate's terms.

The live view is a plain page with a Refresh link; with htmx its table refreshes itself
every 15 seconds (never the whole page, never by a meta refresh), and can be stopped.
A candidate's own terms (time limit, dates, attempts allowed) are kept as overrides, each
with who set it and why: a blank field keeps the assessment's own.
"""

from flask import abort, flash, g, redirect, render_template, request, url_for

from ... import assessments, assignments, cohorts, invigilation
from ...models import utcnow
from ...rendering import LONDON
from .. import htmx, render_page
from ..auth import allow
from . import TRAINERS, bp
from .assessment_views import posted_moment, posted_number
from .assignment_views import about

REFRESH_SECONDS = 15


@bp.get("/assignments/<int:assignment_id>/invigilate")
@allow(*TRAINERS)
def invigilate(assignment_id):
    """Show each candidate's state and time left on an assessment, by the server's clock."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    context = about(assignment)  # with the assessment's settings, None for practice
    found = context["assessment"] or abort(404)
    now = utcnow()
    invigilation.bring_up_to_clock(assignment.id, now)
    rows = invigilation.candidates(assignment, found, now)
    response = render_page(
        "train/invigilate.html",
        **context,
        rows=rows,
        counts=invigilation.state_counts(rows),
        state_labels=invigilation.STATE_LABELS,
        now=now,
        live=request.args.get("live") != "off",
        refresh_seconds=REFRESH_SECONDS,
        clock_time=clock_time,
        time_left=invigilation.time_left,
    )
    if not htmx:
        return response
    # A refresh replaces the table only: it must not add an entry to the browser's history.
    return response, {"HX-Push-Url": "false"}


def clock_time(moment, now):
    """Show a time in London as "14:32", with its day where that is not today's."""
    local, today = moment.astimezone(LONDON), now.astimezone(LONDON).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    return f"{local:%H:%M} on {local.day} {local:%B %Y}"


@bp.route("/assignments/<int:assignment_id>/people/<int:user_id>/terms", methods=["GET", "POST"])
@allow(*TRAINERS)
def candidate_terms(assignment_id, user_id):
    """Give one candidate their own time limit, dates or attempts allowed, saying why."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    found = assessments.settings_of(assignment) or abort(404)
    person = cohorts.member(assignment.cohort_id, user_id) or abort(404)
    if assignment.archived_at is not None:
        flash("This assessment has been withdrawn, so no one’s terms can change.", "info")
        return redirect(url_for("train.invigilate", assignment_id=assignment.id), 303)
    newest = assessments.newest_overrides(assignment.id).get(person.id)
    if request.method == "GET":
        return render_terms(assignment, found, person, override_fields(newest), {})
    values, reason, errors = posted_terms(request.form, assignment, found)
    if errors:
        return render_terms(assignment, found, person, request.form, errors), 422
    assessments.set_override(g.user, assignment, person, values, reason)
    flash(f"{person.name}’s terms have been saved.", "success")
    return redirect(
        url_for("train.candidate_terms", assignment_id=assignment.id, user_id=person.id), 303
    )


def render_terms(assignment, found, person, form, errors):
    """Render a candidate's terms: the form, what applies now, and who set what, when, why."""
    newest = assessments.newest_overrides(assignment.id).get(person.id)
    return render_template(
        "train/candidate_terms.html",
        **about(assignment),
        person=person,
        own=assessments.terms_of(assignment, found),
        terms=assessments.terms_of(assignment, found, newest),
        history=assessments.overrides_of(assignment.id, person.id),
        form=form,
        errors=errors,
        reason_max=assessments.REASON_MAX,
        limit_max=assessments.LIMIT_MINUTES_MAX,
        attempts_max=assessments.ATTEMPTS_MAX,
    )


def posted_terms(form, assignment, found):
    """Return the posted override's values, its reason, and a message for each bad field."""
    errors = {}
    limit = posted_number(form, "time_limit", errors, 1, assessments.LIMIT_MINUTES_MAX)
    opens_at = posted_moment(form, "opens", "opening", errors, required=False)
    closes_at = posted_moment(form, "closes", "closing", errors, required=False)
    allowed = posted_number(form, "attempts", errors, 1, assessments.ATTEMPTS_MAX)
    opens, closes = opens_at or assignment.opens_at, closes_at or found.closes_at
    if not errors and opens is not None and closes <= opens:
        field = "closes-day" if closes_at else "opens-day"
        errors[field] = "The closing time must be after the opening time"
    reason = form.get("reason", "").strip()
    if not reason:
        errors["reason"] = "Enter why this candidate’s terms differ"
    elif len(reason) > assessments.REASON_MAX:
        errors["reason"] = f"The reason must be {assessments.REASON_MAX:,} characters or fewer"
    values = {
        "time_limit_s": limit * 60 if limit else None,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "attempts_allowed": allowed,
    }
    return values, reason, errors


def override_fields(override):
    """Return the form's values for a candidate's newest override (London times), or none."""
    if override is None:
        return {}
    fields = {
        "time_limit": str(override.time_limit_s // 60) if override.time_limit_s else "",
        "attempts": str(override.attempts_allowed) if override.attempts_allowed else "",
    }
    for prefix, moment in (("opens", override.opens_at), ("closes", override.closes_at)):
        local = moment.astimezone(LONDON) if moment else None
        for part in ("day", "month", "year"):
            fields[f"{prefix}-{part}"] = str(getattr(local, part)) if local else ""
        fields[f"{prefix}-time"] = f"{local:%H:%M}" if local else ""
    return fields
