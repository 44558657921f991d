"""CSV downloads of results and steps, for one assignment or every assignment of a cohort.

Each download is recorded in the audit log, then streamed as it is read from the
database (`exports`), marked as an attachment that no browser or proxy keeps.
"""

from flask import Response, g, stream_with_context

from ... import assignments, cohorts, exports
from ..auth import allow
from . import TRAINERS, bp


@bp.get("/assignments/<int:assignment_id>/results.csv")
@allow(*TRAINERS)
def export_results(assignment_id):
    """Download one row per attempt at an assignment."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    return download(exports.assignment_scope(assignment), "results")


@bp.get("/assignments/<int:assignment_id>/steps.csv")
@allow(*TRAINERS)
def export_steps(assignment_id):
    """Download one row per choice recorded in attempts at an assignment."""
    assignment = assignments.visible_assignment(g.user, assignment_id)
    return download(exports.assignment_scope(assignment), "steps")


@bp.get("/cohorts/<int:cohort_id>/results.csv")
@allow(*TRAINERS)
def export_cohort_results(cohort_id):
    """Download one row per attempt at any of a cohort's assignments."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    return download(exports.cohort_scope(cohort), "results")


@bp.get("/cohorts/<int:cohort_id>/steps.csv")
@allow(*TRAINERS)
def export_cohort_steps(cohort_id):
    """Download one row per choice recorded at any of a cohort's assignments."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    return download(exports.cohort_scope(cohort), "steps")


def download(scope, kind):
    """Record the download, then stream the export as a CSV attachment."""
    exports.record_download(g.user, scope, kind)
    lines = exports.result_lines(scope) if kind == "results" else exports.step_lines(scope)
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers.set(
        "Content-Disposition", "attachment", filename=exports.filename(scope, kind)
    )
    response.headers["Cache-Control"] = "no-store"
    return response
