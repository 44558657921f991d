"""Analytics: where a cohort goes wrong, decision by decision.

The filters are a plain GET form (version, first or all attempts, a date range), so
every figure has an address and works without JavaScript. A filter that makes no sense
shows an error summary and no figures (status 400), rather than figures it did not ask for.
"""

from datetime import date
from functools import partial

from flask import abort, g, render_template, request

from ... import analytics, assignments, charts, cohorts, counting, debrief, library
from ..auth import allow
from . import TRAINERS, bp

VERDICT_KINDS = {key: verdict.kind for key, verdict in debrief.VERDICTS.items()}


@bp.get("/scenarios")
@allow(*TRAINERS)
def scenarios():
    """List every scenario ever published, each with a link to its figures across cohorts."""
    versions = library.published_versions()
    return render_template("train/analytics_scenarios.html", versions=versions)


@bp.get("/assignments/<int:assignment_id>/analytics")
@allow(*TRAINERS)
def assignment_analytics(assignment_id):
    """Show where an assignment's trainees go wrong, decision by decision."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    cohort = cohorts.visible_cohort(g.user, assignment.cohort_id)
    return render_figures(
        partial(analytics.assignment_analytics, assignment),
        partial(analytics.versions_with_attempts, assignment=assignment),
        assignment=assignment,
        cohort=cohort,
    )


@bp.get("/scenarios/<key>/analytics")
@allow(*TRAINERS)
def scenario_analytics(key):
    """Show where trainees go wrong on a scenario, across every cohort the trainer can see."""
    if not analytics.scenario_exists(key):
        abort(404)
    return render_figures(
        partial(analytics.scenario_analytics, g.user, key),
        partial(analytics.versions_with_attempts, viewer=g.user, scenario_key=key),
        scenario_key=key,
    )


@bp.get("/attempts/<int:attempt_id>/path")
@allow(*TRAINERS)
def attempt_path(attempt_id):
    """Show a trainee's attempt beside the best path and their cohort's most common choices."""
    context = analytics.attempt_path(g.user, attempt_id)
    return render_template("train/analytics_path.html", verdict_kinds=VERDICT_KINDS, **context)


def render_figures(figures_for, versions, **context):
    """Render an analytics page for the filters asked for, or their errors with status 400."""
    chosen, errors = read_filters(request.args)
    found = None if errors else figures_for(**chosen)
    if found is not None and found.version is None and found.filters.version_id is not None:
        errors, found = {"version": "Select a version that has attempts"}, None
    page = render_template(
        "train/analytics.html",
        found=found,
        versions=found.versions if found is not None else versions(),
        form=request.args,
        dates={name: iso_day(request.args.get(name, "")) for name in ("from", "to")},
        errors=errors,
        charts=charts,
        duration=counting.duration,
        percent=counting.percent,
        verdict_kinds=VERDICT_KINDS,
        **context,
    )
    return page, 400 if errors else 200


def read_filters(args):
    """Return the filters asked for in the query string, and a message for each bad one."""
    errors, chosen = {}, {"first_only": args.get("attempts") == "first"}
    version = args.get("version", "").strip()
    if version and not version.isdigit():
        errors["version"] = "Select a version that has attempts"
    chosen["version_id"] = int(version) if version.isdigit() else None
    for field, name in (("since", "from"), ("until", "to")):
        text = args.get(name, "").strip()
        chosen[field] = parse_day(text)
        if text and chosen[field] is None:
            errors[name] = f"Enter the ‘{name}’ date as a real date, for example 2026-03-27"
    if chosen["since"] and chosen["until"] and chosen["until"] < chosen["since"]:
        errors["to"] = "The ‘to’ date must be the same as or after the ‘from’ date"
    return chosen, errors


def iso_day(text):
    """Return a date input's value for the text asked for: ISO, or empty if not a date."""
    day = parse_day(text.strip())
    return day.isoformat() if day else ""


def parse_day(text):
    """Return the date in an ISO (2026-03-27) or day/month/year (27/3/2026) text, or None."""
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
