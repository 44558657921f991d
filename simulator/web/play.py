"""The trainee's way through: catalogue, assignments, briefing, play, feedback and debrief."""

import functools

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from .. import (
    analytics,
    assessments,
    assignments,
    attempts,
    cohorts,
    debrief,
    engine,
    library,
    story,
)
from ..db import db
from ..models import WITHOUT_BYTES, ScenarioVersion, utcnow
from ..rendering import LONDON, filled, filled_markdown
from . import assessing, htmx, render_page
from .assets import ONE_YEAR
from .auth import ANY_ROLE, allow
from .errors import repeatable

bp = Blueprint("play", __name__)
STALE_NOTICE = "That answer was already recorded, so nothing changed. This is where you are now."
FORGED_NOTICE = "That option is not available at this point, so nothing was recorded."
WITHDRAWN_NOTICE = (
    "This scenario has been taken out of the library, so it cannot be started. "
    "Your attempts at it are kept."
)

# How a scenario's summary or objective starts its content note, and the note for a scenario
# that has none of its own.
CONTENT_NOTE = "Content note:"
GENERIC_CONTENT_NOTE = (
    "this scenario is about domestic abuse. It includes threats, controlling behaviour and "
    "fear of deportation."
)

# The GOV.UK tag colour of each status on an assignment (assignments.STATUSES); the words
# carry the meaning too, so colour is never the only sign.
STATUS_TAGS = {
    assignments.NOT_STARTED: "govuk-tag--grey",
    assignments.IN_PROGRESS: "govuk-tag--blue",
    assignments.FINISHED: "govuk-tag--yellow",
    assignments.PASSED: "govuk-tag--green",
}
bp.add_app_template_global(STATUS_TAGS, "status_tags")


@bp.app_template_filter("london_day")
def london_day(moment):
    """Show a stored UTC time as its day in London, e.g. '1 December 2026'."""
    if moment is None:
        return ""
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y}"


@bp.app_template_filter("london_time")
def london_time(moment):
    """Show a stored UTC time as its time and day in London, e.g. '17:00 on 1 December 2026'."""
    if moment is None:
        return ""
    return f"{moment.astimezone(LONDON):%H:%M} on {london_day(moment)}"


@bp.get("/")
@allow(*ANY_ROLE)
def catalogue():
    """List the person's assignments, then the scenarios for their cohorts' audiences."""
    offered = library.offered_versions()
    audiences = {cohort.audience for cohort in cohorts.person_cohorts(g.user.id)}
    suited = [v for v in offered if not audiences or audiences & set(v.audience.split(","))]
    show_all = request.args.get("all") == "1"
    return render_template(
        "play/catalogue.html",
        assigned=assigned_entries(g.user),
        entries=library_entries(offered if show_all else suited),
        hidden=len(offered) - len(suited),
        show_all=show_all,
        audiences=[cohorts.AUDIENCE_LABELS[a] for a in sorted(audiences)],
    )


def library_entries(versions):
    """Return the catalogue's entry for each version: free practice, in progress first."""
    mine = attempts.user_attempts(g.user.id)
    entries = []
    for version in versions:
        own = [a for a in mine if a.scenario_key == version.scenario_key]
        unfinished = attempts.in_progress(own)
        entries.append(
            {
                "version": version,
                "audience": version.audience.split(","),
                "in_progress": unfinished,
                "resume_url": resume_url(unfinished) if unfinished else None,
                "best": attempts.best_attempt(own),
            }
        )
    entries.sort(key=lambda e: (e["in_progress"] is None, title_key(e["version"].title)))
    return entries


def assigned_entries(user):
    """Return the person's live assignments, soonest due first, with where they stand on each."""
    rows = assignments.person_assignments(user.id)
    if not rows:
        return []
    mine = attempts.assigned_attempts(user.id, [assignment.id for assignment, _ in rows])
    titles = assignments.scenario_titles(assignment.scenario_key for assignment, _ in rows)
    settings = assessments.settings_for([assignment.id for assignment, _ in rows])
    entries = []
    for assignment, cohort in rows:
        own = [a for a in mine if a.assignment_id == assignment.id]
        unfinished = attempts.in_progress(own)
        entry = {
            "assignment": assignment,
            "cohort": cohort,
            "title": titles.get(assignment.scenario_key, assignment.scenario_key),
            "standing": assignments.standing(assignment, own),
            "open": assignments.is_open(assignment),
            "resume_url": resume_url(unfinished) if unfinished else None,
        }
        entries.append(
            entry | assessment_entry(user, assignment, settings.get(assignment.id), own)
        )
    return entries


def assessment_entry(user, assignment, found, own):
    """Return what an assessment's card adds: where the person stands, as its briefing
    says (assessing.where_candidate_stands). Nothing for practice."""
    if found is None:
        return {"terms": None, "counting": None, "start_problem": None, "review_shows": {}}
    terms = assessments.terms_for(assignment, found, user.id)
    return assessing.where_candidate_stands(found, terms, own, utcnow())


def title_key(title):
    """Return a title's sort key: letters and digits only, ignoring case and leading quotes."""
    return "".join(ch for ch in title.casefold() if ch.isalnum() or ch.isspace()).strip()


def resume_url(attempt):
    """Return where Resume leads: feedback left unread, else the current node."""
    number = attempts.awaiting_feedback(attempts.progress_of(attempt))
    if number is not None:
        return url_for("play.feedback", attempt_id=attempt.id, number=number)
    return url_for("play.play", attempt_id=attempt.id)


@bp.get("/scenarios/<key>")
@allow(*ANY_ROLE)
def briefing(key):
    """Show what a scenario asks of the officer and how it is scored, then Start."""
    version = library.offered_version(key)
    return render_briefing(version, *attempts.attempts_and_next(g.user.id, key))


@bp.get("/assignments/<int:assignment_id>")
@allow(*ANY_ROLE)
def assignment(assignment_id):
    """Show the briefing of a scenario assigned to the person, their attempts at it, and Start."""
    return assignment_briefing(assignments.own_assignment(g.user, assignment_id))


def assignment_briefing(assignment, errors=None):
    """Render an assignment's briefing; an assessment's shows its terms (and form errors)."""
    assignment, cohort = assignments.own_assignment_row(g.user, assignment.id)
    own, next_number = attempts.attempts_and_next(
        g.user.id, assignment.scenario_key, assignment.id
    )
    for attempt in own:
        assessing.settle(attempt)
    extra = {"errors": errors or {}}
    if assignment.mode == "assessment":
        extra |= assessing.briefing_context(assignment, own)
    version = assignments.version_for(assignment)
    return render_briefing(version, own, next_number, assignment, cohort, **extra)


def render_briefing(version, own, next_number, assignment=None, cohort=None, **extra):
    """Render a briefing: free practice, or an assignment's (whose version may be gone).

    `own` are the person's attempts at it and `next_number` their next one's.
    """
    key = version.scenario_key if version else assignment.scenario_key
    assignment_id = assignment.id if assignment else None
    unfinished = attempts.in_progress(own)
    scenario = library.scenario_for(version) if version else None
    summary, note, objectives = (
        content_note(version.summary, scenario.objectives) if scenario else (None, None, [])
    )
    return render_template(
        "play/briefing.html",
        version=version,
        scenario=scenario,
        summary=summary,
        content_note=note,
        objectives=objectives,
        title=version.title if version else assignments.scenario_titles([key]).get(key, key),
        assignment=assignment,
        cohort=cohort,
        standing=assignments.standing(assignment, own) if assignment else None,
        opened=assignment is None or assignments.is_open(assignment),
        start_url=start_url(key, assignment_id),
        in_progress=unfinished,
        resume_url=resume_url(unfinished) if unfinished else None,
        history=[(a, attempts.status(a)) for a in reversed(own)],
        next_number=next_number,
        **extra,
    )


def content_note(summary, objectives):
    """Return a briefing's summary, content note and objectives, with the note said once.

    Library scenarios end their summary with a content note and repeat it, in fuller words,
    as their first objective. The briefing shows it once, in its own box: the objective's
    words where there are some, else the summary's, else a general note.
    """
    lead, _, in_summary = summary.partition(CONTENT_NOTE)
    notes = [o for o in objectives if o.startswith(CONTENT_NOTE)]
    rest = [o for o in objectives if not o.startswith(CONTENT_NOTE)]
    note = notes[0].removeprefix(CONTENT_NOTE) if notes else in_summary or GENERIC_CONTENT_NOTE
    return lead.strip(), note.strip(), rest


def start_url(key, assignment_id=None):
    """Return where Start posts: the scenario's free practice, or the assignment."""
    if assignment_id is None:
        return url_for("play.start", key=key)
    return url_for("play.start_assigned", assignment_id=assignment_id)


def redirects_whole(view):
    """Turn a Start view's redirects into htmx's HX-Redirect, so the page named loads whole.

    htmx's request would follow a 303 itself and put the page's region where the whole of
    <main> belongs. Every other answer to Start is either the node in place or a whole page
    with an error, which static/app.js shows as it shows any error page.
    """

    @functools.wraps(view)
    def starting(*args, **kwargs):
        response = current_app.make_response(view(*args, **kwargs))
        if not htmx or response.status_code != 303:
            return response
        answer = current_app.make_response(("", 200))
        answer.headers["HX-Redirect"] = response.headers["Location"]
        return answer

    return starting


@bp.post("/scenarios/<key>/attempts")
@repeatable
@allow(*ANY_ROLE)
@redirects_whole
def start(key):
    """Begin a new free-practice attempt, once, however often Start is pressed."""
    return start_once(library.offered_version(key))


@bp.post("/assignments/<int:assignment_id>/attempts")
@repeatable
@allow(*ANY_ROLE)
@redirects_whole
def start_assigned(assignment_id):
    """Begin a new attempt at an assignment that has opened, once, however often pressed."""
    assignment = assignments.own_assignment(g.user, assignment_id)
    here = url_for("play.assignment", assignment_id=assignment.id)
    if not assignments.is_open(assignment):
        opens = london_day(assignment.opens_at)
        flash(f"This scenario opens on {opens}. You can start it from then.", "info")
        return redirect(here, 303)
    version = assignments.version_for(assignment)
    if version is None:
        flash(WITHDRAWN_NOTICE, "info")
        return redirect(here, 303)
    if assignment.mode == "assessment":
        refused = assessing.refusal(assignment)
        if refused is not None:
            return refused
        errors = assessing.code_errors(assignment)
        if errors:
            return assignment_briefing(assignment, errors), 422
        return start_once(version, assignment, assessing.beginner(assignment))
    return start_once(version, assignment)


def start_once(version, assignment=None, begin=attempts.start_attempt):
    """Begin the person's next attempt on a version, unless one is in progress or begun.

    `begin(user, version, number, assignment, shown=...)` starts it (an assessment sets its
    clock); `shown` says that its first node is shown as it begins. htmx's Start is
    answered with that node at once (`started_in_place`).
    """
    key = version.scenario_key
    assignment_id = assignment.id if assignment else None
    own, expected = attempts.attempts_and_next(g.user.id, key, assignment_id)
    unfinished = attempts.in_progress(own)
    if unfinished is not None:
        flash("You already have this scenario in progress. Carry on where you left off.", "info")
        return redirect(resume_url(unfinished), 303)
    if request.form.get("number") != str(expected):
        # Read again: a simultaneous Start may have begun an attempt since `own` was read.
        return already_started(attempts.user_attempts(g.user.id, key, assignment_id))
    in_place = bool(htmx)  # a POST is never a history restore
    try:
        attempt = begin(g.user, version, expected, assignment, shown=in_place)
    except attempts.StepConflict:
        return already_started(attempts.user_attempts(g.user.id, key, assignment_id))
    if in_place:
        return started_in_place(attempts.Progress(attempt, version, []))
    return redirect(url_for("play.play", attempt_id=attempt.id), 303)


def started_in_place(progress):
    """Answer htmx's Start with the attempt's first node, in place of the briefing.

    This spares the redirect's request, as a step's answer does (`shown_in_place`). The
    node was marked shown as the attempt began, and the address bar moves to the attempt.
    """
    page, _status = render_node(progress, whole=True)
    return shown_in_place(page, url_for("play.play", attempt_id=progress.attempt.id))


def already_started(own):
    """Answer a repeated Start by showing the attempt it already began."""
    if not own:
        abort(409)
    flash("That attempt had already been started, so no new one was begun.", "info")
    return redirect(url_for("play.play", attempt_id=own[-1].id), 303)


@bp.get("/attempts/<int:attempt_id>")
@allow(*ANY_ROLE)
def play(attempt_id):
    """Show the attempt's current node."""
    progress = attempts.own_progress(attempt_id)
    attempt = progress.attempt
    if attempt.abandoned_at is not None:
        return abandoned(attempt)
    closed = assessing.settle(attempt)
    if closed is not None:
        return closed
    if attempt.abandoned_at is not None:
        return abandoned(attempt)
    if attempt.finished_at is not None:
        return redirect(url_for("play.debrief_page", attempt_id=attempt.id), 303)
    attempts.mark_shown(progress)
    return render_node(progress)


@bp.post("/attempts/<int:attempt_id>/abandon")
@allow(*ANY_ROLE)
def abandon(attempt_id):
    """Give up a practice attempt in progress, so the next Start begins afresh."""
    attempt = attempts.own_attempt(attempt_id)
    if attempts.abandon(attempt):
        flash("You abandoned that attempt. It does not count; start again when you are ready.")
    return redirect(home_url(attempt), 303)


def abandoned(attempt):
    """Send a request about an abandoned attempt to the scenario's briefing, saying why."""
    db.session.rollback()
    if attempt.mode == "assessment":
        flash(f"That attempt is closed. {attempt.closed_reason or ''}".strip(), "info")
    else:
        flash("That attempt was abandoned, so nothing was recorded. You can start again.", "info")
    return redirect(home_url(attempt), 303)


def home_url(attempt):
    """Return the page an attempt was started from: its scenario's briefing or its assignment."""
    if attempt.assignment_id is None:
        return url_for("play.briefing", key=attempt.scenario_key)
    if live_assignment(attempt.assignment_id) is None:
        return url_for("play.catalogue")
    return url_for("play.assignment", assignment_id=attempt.assignment_id)


def live_assignment(assignment_id):
    """Return the signed-in person's live assignment with this id, or None."""
    for assignment, _cohort in assignments.person_assignments(g.user.id):
        if assignment.id == assignment_id:
            return assignment
    return None


def render_node(
    progress, errors=None, chosen=None, rationale="", status=200, shown_after=None, whole=False
):
    """Render the play screen for the node the attempt is at.

    `shown_after` is given for a node sent ahead with the feedback before it (`ahead`): the
    form then carries the field the script fills in when it shows the node. With `whole`,
    htmx gets all of <main>, not the play region alone (Start shows the first node in
    place of the briefing).
    """
    node, row = progress.node, progress.row
    fewest, most = engine.steps_left(progress.scenario, progress.state)
    context = {
        "steps_left": (fewest, most),
        "rationale_max": attempts.RATIONALE_MAX,
        "attempt": progress.attempt,
        "scenario": progress.scenario,
        "node": node,
        "text": filled_markdown(node.text, row),
        "speaker": filled(node.speaker, row),
        "image": picture(progress.version, node, row),
        "choices": [(c.id, filled(c.text, row)) for c in progress.offered()],
        "step_number": progress.next_step_number,
        "errors": errors or {},
        "chosen": chosen,
        "rationale": rationale,
        "clock": assessing.clock(progress.attempt),
        "preview_panel": preview_panel(progress, row),
        "shown_after": shown_after,
    }
    swapped = "content" if whole else "region"
    return render_page("play/node.html", swapped=swapped, **context), status


def preview_panel(progress, row):
    """Return what a trainer previewing a library version sees beside the node, or None:
    the node's id, the flags set, and each option offered with its scores and tags."""
    attempt = progress.attempt
    if not attempt.preview or attempt.assignment_id is not None:
        return None
    return {
        "node_id": progress.node.id,
        "flags": sorted(progress.state.flags),
        "library_url": url_for("author.version", version_id=attempt.scenario_version_id),
        "options": [
            {
                "id": c.id,
                "text": filled(c.text, row),
                "next": c.next,
                "score": dict(c.score),
                "sharing": c.sharing,
                "critical": c.critical,
                "sets": sorted(c.set),
                "clears": sorted(c.clear),
            }
            for c in progress.offered()
        ],
    }


def picture(version, node, row):
    """Return the address and alternative text of a node's picture, or None."""
    if node.image is None:
        return None
    return {
        "url": url_for("play.image", version_id=version.id, src=node.image.src),
        "alt": filled(node.image.alt, row),
    }


@bp.post("/attempts/<int:attempt_id>")
@repeatable
@allow(*ANY_ROLE)
def take_step(attempt_id):
    """Record one choice, exactly once, and show what follows."""
    progress = attempts.own_progress(attempt_id)
    attempt = progress.attempt
    refused = assessing.before_step(attempt)
    if refused is not None:
        return refused
    if attempt.abandoned_at is not None:
        return abandoned(attempt)
    posted = request.form.get("step", "")
    if attempt.finished_at is not None or posted != str(progress.next_step_number):
        return stale(progress, posted)
    choice_id = request.form.get("choice", "")
    offered = {c.id: c for c in progress.offered()}
    rationale = request.form.get("rationale", "")
    if choice_id and choice_id not in offered:
        flash(FORGED_NOTICE, "info")
        return redirect(url_for("play.play", attempt_id=attempt.id), 303)
    shown_after = request.form.get("shown_after")
    errors = step_errors(progress.node, choice_id, rationale)
    if errors:
        kept = None if shown_after is None else shown_after[:8]  # read again when posted
        return render_node(progress, errors, choice_id, rationale, 422, kept)
    choice = offered[choice_id]
    feedback = has_feedback(progress, choice)
    to_feedback_page = to_feedback(attempt, progress.node.kind == "decision", feedback)
    # htmx is answered with the next node at once, so it is shown as the step is recorded.
    shows_next = bool(htmx) and not to_feedback_page
    try:
        step = attempts.record_step(
            progress,
            choice,
            attempts.clean_rationale(progress.node, rationale),
            shows_next=shows_next,
            shown_after=attempts.shown_after(shown_after),
        )
    except attempts.StepConflict:
        return stale(attempts.own_progress(attempt_id), posted)
    following = after_step(attempt, step, feedback)
    if not htmx or (attempt.finished_at is not None and attempt.mode == "assessment"):
        return redirect(following, 303)
    after = attempts.Progress(attempt, progress.version, [*progress.steps, step])
    if to_feedback_page:
        page = feedback_page(after, len(after.steps))
    elif attempt.finished_at is None:
        page, _status = render_node(after)  # marked shown with the step (`shows_next`)
    else:
        page = practice_debrief(after)
    return shown_in_place(page, following)


def shown_in_place(page, address):
    """Answer htmx's step with what follows it (`page`, the region at `address`: the
    feedback on the step, the next node, or the debrief), sparing the redirect's request.

    The address bar moves to `address` (HX-Push-Url), which shows the same thing when
    reloaded or opened without JavaScript. An assessment's review still follows a 303,
    as without JavaScript.
    """
    response = current_app.make_response(page)
    response.headers["HX-Push-Url"] = address
    return response


def has_feedback(progress, choice):
    """Say whether a choice just taken has anything to say: feedback, or a verdict not good.

    A good choice with no feedback goes straight on to what follows.
    """
    if choice.feedback or progress.node.kind != "decision":
        return bool(choice.feedback)
    judged = engine.last_verdict(progress.scenario, [*progress.choice_ids, choice.id])
    return judged.verdict != engine.GOOD


def step_errors(node, choice_id, rationale):
    """Return a message for each field of the play form that needs fixing."""
    errors = {}
    if not choice_id:
        errors["choice"] = "Select what you would do"
    if node.rationale == "required" and not rationale.strip():
        errors["rationale"] = "Write down why you chose this"
    if len(rationale) > attempts.RATIONALE_MAX:
        errors["rationale"] = f"Your reason must be {attempts.RATIONALE_MAX:,} characters or fewer"
    return errors


def to_feedback(attempt, decision, feedback=True):
    """Say whether a step leads to its feedback page: a decision's, with something to say,
    while the attempt's mode gives feedback as it goes."""
    return decision and feedback and assessing.feedback_during(attempt)


def after_step(attempt, step, feedback=True):
    """Return where to go once a step is recorded."""
    if to_feedback(attempt, step.is_decision, feedback):
        return url_for("play.feedback", attempt_id=attempt.id, number=step.step_number + 1)
    if attempt.finished_at is not None:
        return url_for("play.debrief_page", attempt_id=attempt.id)
    return url_for("play.play", attempt_id=attempt.id)


def stale(progress, posted):
    """Record nothing and show where the attempt stands, with a plain notice."""
    attempt = progress.attempt
    last = progress.steps[-1] if progress.steps else None
    if last is not None and posted == str(last.step_number) and last.is_decision:
        target = after_step(attempt, last)
    elif attempt.finished_at is not None:
        target = url_for("play.debrief_page", attempt_id=attempt.id)
    else:
        target = url_for("play.play", attempt_id=attempt.id)
    # Only now: a rollback expires the loaded rows, which the lines above would read again.
    db.session.rollback()
    flash(STALE_NOTICE, "info")
    return redirect(target, 303)


@bp.get("/attempts/<int:attempt_id>/feedback/<int:number>")
@allow(*ANY_ROLE)
def feedback(attempt_id, number):
    """Say whether decision `number` was a good one, why, and the guidance behind it."""
    progress = attempts.own_progress(attempt_id)
    if not assessing.feedback_during(progress.attempt):
        abort(404)
    if not 1 <= number <= len(progress.steps):
        abort(404)
    return feedback_page(progress, number)


def feedback_page(progress, number):
    """Render the feedback on decision `number` of an attempt (or go on, if it was none)."""
    attempt = progress.attempt
    decision = debrief.last_decision(
        progress.scenario,
        progress.steps[:number],
        progress.row,
        attempt.seed,
        attempt.choice_order,
    )
    if decision is None:  # step `number` was no decision
        return redirect(url_for("play.play", attempt_id=attempt.id), 303)
    finished = attempt.finished_at is not None and number == len(progress.steps)
    latest = number == len(progress.steps)
    return render_page(
        "play/feedback.html",
        attempt=attempt,
        scenario=progress.scenario,
        decision=decision,
        finished=finished,
        next_url=url_for("play.debrief_page" if finished else "play.play", attempt_id=attempt.id),
        latest=latest,
        ahead=ahead(progress) if latest else None,
    )


def ahead(progress):
    """Return what follows a feedback, to send with it: the next node's region, the
    debrief's, or None.

    htmx's answer with a practice attempt's latest feedback carries what follows, for the
    script to show at Continue (or See your debrief) without a second request. A node's
    form says when it was shown (`shown_after`), so time to decide still leaves out the
    reading of the feedback. Whole pages and assessments (where the server alone keeps the
    times, and which never show feedback as they go) go on by a request, as before.
    """
    attempt = progress.attempt
    if not htmx or htmx.history_restore_request or attempt.mode != "practice":
        return None
    if attempt.finished_at is not None:
        page = practice_debrief(progress)
    else:
        page, _status = render_node(progress, shown_after="")
    return Markup(page)  # noqa: S704 - rendered by Jinja with autoescaping, as every page is


@bp.get("/attempts/<int:attempt_id>/debrief")
@allow(*ANY_ROLE)
def debrief_page(attempt_id):
    """Show the outcome, the sharing criterion first, the scores and the decision log."""
    progress = attempts.own_progress(attempt_id)
    attempt = progress.attempt
    assessing.settle(attempt)
    if attempt.finished_at is None and attempt.mode == "assessment":
        if attempt.abandoned_at is not None:
            return abandoned(attempt)
    if attempt.finished_at is None:
        return redirect(url_for("play.play", attempt_id=attempt.id), 303)
    if attempt.mode == "assessment":
        context = debrief_context(progress, "play.debrief_page")
        context.update(assessing.review_context(attempt))
        if "best_path" in context["shows"]:
            context["best"] = story.best_steps(progress.scenario, progress.row)
        return render_page("play/review.html", **context, **try_again(attempt))
    return practice_debrief(progress)


def practice_debrief(progress):
    """Render the debrief of a finished attempt that is not an assessment."""
    context = debrief_context(progress, "play.debrief_page")
    context["cohort_lines"] = analytics.cohort_lines(progress.attempt)
    return render_page("play/debrief.html", **context, **try_again(progress.attempt))


def debrief_context(progress, endpoint):
    """Return what the debrief shows of an attempt: everything once finished, else its log so far.

    `endpoint` is the debrief's own view, for its links between orders of the log.
    """
    attempt, scenario, row = progress.attempt, progress.scenario, progress.row
    log = debrief.decisions(scenario, progress.steps, row, attempt.seed, attempt.choice_order)
    by_stage = request.args.get("view") == "stage"
    context = {
        "attempt": attempt,
        "version": progress.version,
        "scenario": scenario,
        "debrief_endpoint": endpoint,
        "log": log,
        "by_stage": by_stage,
        "groups": debrief.grouped_by_stage(log) if by_stage else [(None, log)],
        "decision_count": len(log),
        "duration": debrief.duration,
        "result": None,
        "status": attempts.status(attempt),
    }
    if attempt.ending is not None:
        context.update(outcome_context(progress, log))
    return context


def outcome_context(progress, log):
    """Return what the debrief says of a finished attempt: ending, criteria, scores."""
    attempt, scenario, row = progress.attempt, progress.scenario, progress.row
    result = engine.result(scenario, progress.choice_ids)
    if not attempts.same_result(attempt.result, attempts.result_record(result)):
        current_app.logger.error("Attempt %s: stored result differs from its log", attempt.id)
    ending = scenario.nodes[result.ending]
    work_on, more_to_work_on = debrief.work_on(log)
    return {
        "result": result,
        "ending_text": filled_markdown(ending.text, row),
        "ending_speaker": filled(ending.speaker, row),
        "ending_image": picture(progress.version, ending, row),
        "outcome": filled(ending.end.outcome, row),
        "ending_debrief": filled_markdown(ending.end.debrief, row),
        "failed_choices": debrief.failed_sharing_choices(scenario, result, row),
        "critical_errors": debrief.critical_errors(scenario, result, row),
        "work_on": work_on,
        "more_to_work_on": more_to_work_on,
        "score_reasons": debrief.score_reasons(log, result),
    }


def try_again(attempt):
    """Return where the debrief's Try again starts the next attempt, if it can, and its number.

    An assigned attempt tries the same assignment again, while it is live and playable.
    """
    key, assignment_id = attempt.scenario_key, attempt.assignment_id
    assignment = live_assignment(assignment_id) if assignment_id is not None else None
    if assignment_id is None:
        next_number, playable = attempts.next_number_if_offered(g.user.id, key)
    else:
        next_number = attempts.next_attempt_number(g.user.id, key, assignment_id)
        playable = assignment is not None and assignments.version_for(assignment) is not None
    if assignment is not None and assignment.mode == "assessment":
        playable = False  # another attempt starts from the briefing, with its access code
    library_preview = attempt.preview and assignment_id is None
    return {
        "again_url": start_url(key, assignment_id) if playable and not library_preview else None,
        "library_url": (
            url_for("author.version", version_id=attempt.scenario_version_id)
            if library_preview
            else None
        ),
        "next_number": next_number,
        "assignment_url": (
            url_for("play.assignment", assignment_id=assignment.id) if assignment else None
        ),
    }


@bp.get("/versions/<int:version_id>/images/<path:src>")
@allow(*ANY_ROLE)
def image(version_id, src):
    """Send a picture that a scenario version shows: its own pictures only, from the library.

    The address names one version's picture, which never changes, so it may be kept a year.
    """
    version = db.session.get(ScenarioVersion, version_id, options=WITHOUT_BYTES) or abort(404)
    picture = library.version_picture(version, src) or abort(404)
    response = Response(picture.data, mimetype=picture.media_type)
    response.headers["Cache-Control"] = f"private, max-age={ONE_YEAR}, immutable"
    response.set_etag(picture.digest)
    return response.make_conditional(request)
