"""Setting scenarios for a cohort: assign, change dates, withdraw.

Dates are whole days in London: a scenario opens at the start of its opening day and is due
by the end of its due day (23:59:59.999), stored in UTC, so they follow British Summer Time.
"""

from datetime import UTC, date, datetime, time

from flask import flash, g, redirect, render_template, request, url_for

from ... import assessments, assignments, cohorts, library, results
from ...rendering import LONDON
from ..auth import allow
from . import TRAINERS, bp
from .result_views import results_context

DATE_PARTS = ("day", "month", "year")
DATE_NAMES = {"opens": "opening date", "due": "due date", "closes": "closing date"}
DAY_END = time(23, 59, 59, 999000)
PINS = {"fixed": True, "current": False}


@bp.context_processor
def assignment_rows():
    """Let the cohort page list its assignments through the store (cohort_assignment_rows)."""
    return {"cohort_assignment_rows": results.cohort_assignment_rows}


@bp.route("/cohorts/<int:cohort_id>/assignments/new", methods=["GET", "POST"])
@allow(*TRAINERS)
def new_assignment(cohort_id):
    """Set a scenario for a cohort, fixed to the version offered now or following the current."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    if cohort.archived_at is not None:
        flash("This cohort is archived. Bring it back before setting it a scenario.", "info")
        return redirect(url_for("train.cohort", cohort_id=cohort.id), 303)
    versions = library.offered_versions()
    if request.method == "GET":
        return render_new(cohort, versions, {}, {})
    form = request.form
    version = next((v for v in versions if str(v.id) == form.get("version_id")), None)
    opens_at, due_at, date_errors = posted_dates(form)
    errors = {**choice_errors(version, form), **date_errors}
    if errors:
        return render_new(cohort, versions, form, errors), 422
    pinned = PINS[form["pin"]]
    made = assignments.create_assignment(g.user, cohort, version, pinned, opens_at, due_at)
    flash(f"“{version.title}” is set for {cohort.name}.", "success")
    return redirect(url_for("train.assignment", assignment_id=made.id), 303)


def choice_errors(version, form):
    """Return a message for the scenario and the version choice, if either needs fixing."""
    errors = {}
    if version is None:
        stale = form.get("version_id", "") != ""
        errors["version_id"] = (
            "That version is no longer offered: select the scenario again"
            if stale
            else "Select a scenario"
        )
    if form.get("pin") not in PINS:
        errors["pin"] = "Select which version trainees play"
    return errors


def render_new(cohort, versions, form, errors):
    """Render the form that sets a scenario for a cohort."""
    return render_template(
        "train/assignment_new.html", cohort=cohort, versions=versions, form=form, errors=errors
    )


@bp.get("/assignments/<int:assignment_id>")
@allow(*TRAINERS)
def assignment(assignment_id):
    """Show an assignment: what it plays, its dates, and each trainee's results."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    return render_template(
        "train/assignment.html", **about(assignment), **results_context(assignment)
    )


def about(assignment):
    """Return what every page about an assignment shows of it: cohort, title, version."""
    key = assignment.scenario_key
    found = assessments.settings_of(assignment)
    return {
        "assignment": assignment,
        "cohort": cohorts.visible_cohort(g.user, assignment.cohort_id),
        "title": assignments.scenario_titles([key]).get(key, key),
        "version": assignments.version_for(assignment),
        "assessment": found,
        "overdue_labels": assessments.OVERDUE_LABELS,
        "grade_labels": assessments.GRADE_METHOD_LABELS,
    }


@bp.route("/assignments/<int:assignment_id>/dates", methods=["GET", "POST"])
@allow(*TRAINERS)
def assignment_dates(assignment_id):
    """Change when an assignment opens and when it is due."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    if assignment.mode == "assessment":  # its times are among its settings
        return redirect(url_for("train.assessment_settings", assignment_id=assignment.id), 303)
    if assignment.archived_at is not None:
        flash("This assignment has been withdrawn, so its dates cannot change.", "info")
        return redirect(url_for("train.assignment", assignment_id=assignment.id), 303)
    if request.method == "GET":
        return render_dates(assignment, date_fields(assignment), {})
    opens_at, due_at, errors = posted_dates(request.form, kept_due=assignment.due_at)
    if errors:
        return render_dates(assignment, request.form, errors), 422
    assignments.update_dates(g.user, assignment, opens_at, due_at)
    flash("The assignment’s dates have been changed.", "success")
    return redirect(url_for("train.assignment", assignment_id=assignment.id), 303)


def render_dates(assignment, form, errors):
    """Render the form that changes an assignment's dates."""
    return render_template(
        "train/assignment_dates.html", **about(assignment), form=form, errors=errors
    )


@bp.route("/assignments/<int:assignment_id>/withdraw", methods=["GET", "POST"])
@allow(*TRAINERS)
def withdraw_assignment(assignment_id):
    """Ask, then withdraw an assignment: trainees stop seeing it; their attempts are kept."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    if assignment.archived_at is not None:
        flash("This assignment had already been withdrawn.", "info")
        return redirect(url_for("train.assignment", assignment_id=assignment.id), 303)
    if request.method == "GET":
        return render_template("train/assignment_withdraw.html", **about(assignment))
    assignments.withdraw(g.user, assignment)
    flash("The assignment has been withdrawn. Its trainees’ attempts are kept.", "success")
    return redirect(url_for("train.cohort", cohort_id=assignment.cohort_id), 303)


def posted_dates(form, kept_due=None):
    """Return the posted opening and due times in UTC, and a message for each bad date.

    A due date before today is refused unless it is `kept_due`, the one already stored.
    """
    (opens, opens_error), (due, due_error) = posted_day(form, "opens"), posted_day(form, "due")
    errors = {f"{key}-day": e for key, e in (("opens", opens_error), ("due", due_error)) if e}
    opens_at = in_london(opens, time.min) if opens else None
    due_at = in_london(due, DAY_END) if due else None
    if not errors:
        problems = assignments.date_problems(opens_at, due_at, kept_due)
        errors = {f"{field}-day": message for field, message in problems.items()}
    return opens_at, due_at, errors


def posted_day(form, prefix):
    """Return the day a GOV.UK date input posted (None if left empty), or why it is not one."""
    name = DATE_NAMES[prefix]
    parts = [form.get(f"{prefix}-{part}", "").strip() for part in DATE_PARTS]
    if not any(parts):
        return None, None
    missing = [part for part, value in zip(DATE_PARTS, parts, strict=True) if not value]
    if missing:
        return None, f"The {name} must include a {' and a '.join(missing)}"
    if not all(value.isascii() and value.isdigit() for value in parts):
        return None, f"The {name} must be a real date, written in numbers"
    day, month, year = parts
    if len(year) != 4:
        return None, f"The year of the {name} must have 4 numbers, for example 2026"
    try:
        return date(int(year), int(month), int(day)), None
    except ValueError:
        return None, f"The {name} must be a real date"


def in_london(day, at):
    """Return a time of day on a London date, in UTC."""
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC)


def date_fields(assignment):
    """Return the date inputs' values for an assignment's stored dates, as London days."""
    fields = {}
    for prefix, moment in (("opens", assignment.opens_at), ("due", assignment.due_at)):
        local = moment.astimezone(LONDON) if moment else None
        for part in DATE_PARTS:
            fields[f"{prefix}-{part}"] = str(getattr(local, part)) if local else ""
    return fields
