"""Results: per assignment, per trainee, and a trainee's debrief read-only."""

from flask import g, render_template, request, url_for

from ... import assessments, attempts, cohorts, results
from .. import render_page
from ..auth import allow
from ..play import debrief_context
from . import TRAINERS, bp

ARIA_SORT = {"asc": "ascending", "desc": "descending"}


def results_context(assignment):
    """Return the results table of an assignment, sorted as asked with ?sort= and ?order=."""
    rows, dimensions = results.assignment_results(assignment)
    sort = request.args.get("sort", "name")
    sort = sort if sort in results.SORTS else "name"
    order = "desc" if request.args.get("order") == "desc" else "asc"
    return {
        "rows": results.sorted_rows(rows, sort, order),
        "dimensions": dimensions,
        "sort_links": sort_links(assignment, sort, order),
        "human_duration": results.human_duration,
    }


def sort_links(assignment, sort, order):
    """Return each sortable column's link (which turns its order round) and its aria-sort."""
    links = {}
    for column in results.SORTS:
        here = column == sort
        then = "desc" if here and order == "asc" else "asc"
        links[column] = {
            "href": url_for(
                "train.assignment",
                assignment_id=assignment.id,
                sort=column,
                order=then,
                _anchor="results",
            ),
            "aria_sort": ARIA_SORT[order] if here else "none",
        }
    return links


@bp.get("/people/<int:user_id>")
@allow(*TRAINERS)
def person(user_id):
    """Show a person's details, and their cohorts and attempts that the viewer can see."""
    person = cohorts.visible_person(g.user, user_id)
    visible = {c.id for c in cohorts.visible_cohorts(g.user, archived=None)}
    theirs = cohorts.person_cohorts(person.id, archived=True)
    return render_template(
        "train/person.html",
        person=person,
        cohorts=[c for c in theirs if c.id in visible],
        attempts=results.person_attempts(person.id, g.user),
    )


@bp.get("/attempts/<int:attempt_id>")
@allow(*TRAINERS)
def attempt_debrief(attempt_id):
    """Show a trainee's debrief as they see it, read-only; an unfinished one shows its log."""
    attempt, person = results.visible_attempt(g.user, attempt_id)
    assessments.close_if_due(attempt)  # opening an attempt brings it up to the clock
    context = debrief_context(attempts.progress_of(attempt), "train.attempt_debrief")
    return render_page("play/debrief.html", **context, read_only=True, person=person)
