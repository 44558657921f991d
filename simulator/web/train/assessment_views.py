"""Setting a CPD assessment for a cohort, changing its settings, and previewing it.

An assessment opens and closes at a date and time in London (stored in UTC); its other
settings are those of `assessments` (time limit, what happens when time runs out, attempts
allowed, which attempt counts, an access code, the review options).
"""

import re
from datetime import time

from flask import abort, flash, g, redirect, render_template, request, url_for

from ... import assessments, assignments, attempts, cohorts, library
from ...models import GRADE_METHODS, OVERDUE_RULES, utcnow
from ...rendering import LONDON
from ..auth import allow
from . import TRAINERS, bp
from .assignment_views import PINS, about, choice_errors, in_london, posted_day

CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
PRINTABLE_CODE = re.compile(r"^[\x21-\x7e]+$")


@bp.route("/cohorts/<int:cohort_id>/assessments/new", methods=["GET", "POST"])
@allow(*TRAINERS)
def new_assessment(cohort_id):
    """Set a scenario as an assessment for a cohort."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    if cohort.archived_at is not None:
        flash("This cohort is archived. Bring it back before setting it an assessment.", "info")
        return redirect(url_for("train.cohort", cohort_id=cohort.id), 303)
    versions = library.offered_versions()
    if request.method == "GET":
        return render_form(cohort, versions, default_fields(), {})
    form = request.form
    version = next((v for v in versions if str(v.id) == form.get("version_id")), None)
    opens_at, settings, errors = posted_settings(form)
    errors = {**choice_errors(version, form), **errors}
    if not errors and settings["closes_at"] <= utcnow():
        errors["closes-day"] = "The closing time must be in the future"
    if errors:
        return render_form(cohort, versions, form, errors), 422
    made = assessments.create(g.user, cohort, version, PINS[form["pin"]], opens_at, settings)
    flash(f"“{version.title}” is set as an assessment for {cohort.name}.", "success")
    return redirect(url_for("train.assignment", assignment_id=made.id), 303)


@bp.route("/assignments/<int:assignment_id>/settings", methods=["GET", "POST"])
@allow(*TRAINERS)
def assessment_settings(assignment_id):
    """Change an assessment's settings (its scenario and version stay as set)."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    found = assessments.settings_of(assignment) or abort(404)
    if assignment.archived_at is not None:
        flash("This assessment has been withdrawn, so its settings cannot change.", "info")
        return redirect(url_for("train.assignment", assignment_id=assignment.id), 303)
    if request.method == "GET":
        return render_settings(assignment, stored_fields(assignment, found), {})
    opens_at, settings, errors = posted_settings(request.form)
    if errors:
        return render_settings(assignment, request.form, errors), 422
    assessments.update(g.user, assignment, found, opens_at, settings)
    flash("The assessment’s settings have been changed.", "success")
    return redirect(url_for("train.assignment", assignment_id=assignment.id), 303)


@bp.post("/assignments/<int:assignment_id>/preview")
@allow(*TRAINERS)
def preview_assessment(assignment_id):
    """Start a preview of an assessment as the trainer: it never counts or shows in results."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    found = assessments.settings_of(assignment) or abort(404)
    version = assignments.version_for(assignment)
    if version is None:
        flash("This scenario has been taken out of the library, so it cannot be previewed.")
        return redirect(url_for("train.assignment", assignment_id=assignment.id), 303)
    own = attempts.user_attempts(g.user.id, assignment.scenario_key, assignment.id)
    unfinished = attempts.in_progress(own)
    if unfinished is not None:
        return redirect(url_for("play.play", attempt_id=unfinished.id), 303)
    number = attempts.next_attempt_number(g.user.id, assignment.scenario_key, assignment.id)
    terms = assessments.Terms(None, max(found.closes_at, utcnow()), found.time_limit_s, 1)
    try:
        attempt = assessments.start(
            g.user, version, number, assignment, found, terms, preview=True
        )
    except attempts.StepConflict:
        return redirect(url_for("train.assignment", assignment_id=assignment.id), 303)
    flash("This is a preview: it is never a result and never in analytics.", "info")
    return redirect(url_for("play.play", attempt_id=attempt.id), 303)


def render_form(cohort, versions, form, errors):
    """Render the form that sets an assessment."""
    return render_template(
        "train/assessment_new.html",
        cohort=cohort,
        versions=versions,
        overdue_labels=assessments.OVERDUE_LABELS,
        grade_labels=assessments.GRADE_METHOD_LABELS,
        **form_context(form, errors),
    )


def render_settings(assignment, form, errors):
    """Render the form that changes an assessment's settings."""
    return render_template(
        "train/assessment_settings.html", **about(assignment), **form_context(form, errors)
    )


def form_context(form, errors):
    """Return what both assessment forms show: the values, errors and the review's labels
    (the labels of the other choices come with `about` or `render_form`)."""
    return {
        "form": form,
        "errors": errors,
        "review_when": assessments.REVIEW_WHEN_LABELS,
        "review_what": assessments.REVIEW_WHAT_LABELS,
    }


def default_fields():
    """Return the new assessment form's starting values (the review options' defaults)."""
    fields = {"overdue": "close", "attempts": "1", "grade_method": "highest", "grace": "5"}
    fields |= review_fields(assessments.DEFAULT_REVIEW)
    return fields


def review_fields(review):
    """Return the review checkboxes that are ticked for a review matrix."""
    return {f"review-{when}-{what}": "on" for when, whats in review.items() for what in whats}


def stored_fields(assignment, found):
    """Return the form's values for an assessment's stored settings (London times)."""
    fields = {
        "time_limit": str(found.time_limit_s // 60) if found.time_limit_s else "",
        "overdue": found.overdue,
        "grace": str(found.grace_s // 60) if found.grace_s else "",
        "attempts": str(found.attempts_allowed),
        "grade_method": found.grade_method,
        "access_code": found.access_code or "",
    }
    for prefix, moment in (("opens", assignment.opens_at), ("closes", found.closes_at)):
        local = moment.astimezone(LONDON) if moment else None
        for part in ("day", "month", "year"):
            fields[f"{prefix}-{part}"] = str(getattr(local, part)) if local else ""
        fields[f"{prefix}-time"] = f"{local:%H:%M}" if local else ""
    return fields | review_fields(assessments.normal_review(found.review))


def posted_settings(form):
    """Return the posted opening time, the settings and a message for each bad field."""
    errors = {}
    opens_at = posted_moment(form, "opens", "opening", errors, required=False)
    closes_at = posted_moment(form, "closes", "closing", errors, required=True)
    if opens_at and closes_at and closes_at <= opens_at:
        errors["closes-day"] = "The closing time must be after the opening time"
    limit = posted_number(form, "time_limit", errors, 1, assessments.LIMIT_MINUTES_MAX)
    overdue = form.get("overdue")
    if overdue not in OVERDUE_RULES:
        errors["overdue"] = "Select what happens when time runs out"
    grace = None
    if overdue == "grace":
        grace = posted_number(form, "grace", errors, 1, assessments.GRACE_MINUTES_MAX)
        if grace is None and "grace" not in errors:
            errors["grace"] = "Enter how many minutes the grace period lasts"
    attempts_allowed = posted_number(form, "attempts", errors, 1, assessments.ATTEMPTS_MAX)
    if attempts_allowed is None and "attempts" not in errors:
        errors["attempts"] = "Enter how many attempts each candidate is allowed"
    if form.get("grade_method") not in GRADE_METHODS:
        errors["grade_method"] = "Select which attempt counts"
    code = form.get("access_code", "").strip()
    if len(code) > assessments.CODE_MAX:
        most = assessments.CODE_MAX
        errors["access_code"] = f"The access code must be {most} characters or fewer"
    elif code and not PRINTABLE_CODE.match(code):
        errors["access_code"] = "The access code must be letters, numbers or symbols, no spaces"
    settings = {
        "closes_at": closes_at,
        "time_limit_s": limit * 60 if limit else None,
        "overdue": overdue,
        "grace_s": grace * 60 if grace else 0,
        "attempts_allowed": attempts_allowed,
        "grade_method": form.get("grade_method"),
        "access_code": code or None,
        "review": posted_review(form),
    }
    return opens_at, settings, errors


def posted_moment(form, prefix, name, errors, required):
    """Return a posted London date and time (HH:MM) in UTC, recording any error."""
    day, error = posted_day(form, prefix)
    clock = form.get(f"{prefix}-time", "").strip()
    if error:
        errors[f"{prefix}-day"] = error
        return None
    if day is None:
        if required:
            errors[f"{prefix}-day"] = f"Enter the {name} date"
        elif clock:
            errors[f"{prefix}-day"] = f"Enter the {name} date, or leave the time empty"
        return None
    if not clock:
        errors[f"{prefix}-time"] = f"Enter the {name} time, for example 14:30"
        return None
    found = CLOCK.match(clock)
    if found is None:
        errors[f"{prefix}-time"] = f"The {name} time must be a 24-hour time, for example 14:30"
        return None
    return in_london(day, time(int(found[1]), int(found[2])))


NUMBER_NAMES = {
    "time_limit": "the time limit as a whole number of minutes",
    "grace": "the grace period as a whole number of minutes",
    "attempts": "the number of attempts allowed as a whole number",
}


def posted_number(form, name, errors, low, high):
    """Return a posted whole number between low and high (None if empty), recording errors
    that say which field they are about (NUMBER_NAMES), as an error summary needs."""
    text = form.get(name, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        errors[name] = f"Enter {NUMBER_NAMES[name]} from {low} to {high:,}"
        return None
    return int(text)


def posted_review(form):
    """Return the review matrix the checkboxes posted."""
    return {
        when: [what for what in assessments.REVIEW_WHAT if form.get(f"review-{when}-{what}")]
        for when in assessments.REVIEW_WHEN
    }
