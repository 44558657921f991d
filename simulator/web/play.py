"""The trainee's way through: catalogue, briefing, play, feedback and debrief."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from .. import attempts, debrief, engine, library
from ..db import db
from ..models import ScenarioVersion
from ..rendering import filled, filled_markdown
from . import render_page
from .auth import ANY_ROLE, allow

bp = Blueprint("play", __name__)
STALE_NOTICE = "That answer was already recorded, so nothing changed. This is where you are now."
FORGED_NOTICE = "That option is not available at this point, so nothing was recorded."


@bp.get("/")
@allow(*ANY_ROLE)
def catalogue():
    """List the scenarios offered, those in progress first, then by title."""
    mine = attempts.user_attempts(g.user.id)
    entries = []
    for version in library.offered_versions():
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
    return render_template("play/catalogue.html", entries=entries)


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
    own = attempts.user_attempts(g.user.id, key)
    unfinished = attempts.in_progress(own)
    return render_template(
        "play/briefing.html",
        version=version,
        scenario=library.scenario_for(version),
        in_progress=unfinished,
        resume_url=resume_url(unfinished) if unfinished else None,
        history=[(a, attempts.status(a)) for a in reversed(own)],
        next_number=attempts.next_attempt_number(g.user.id, key),
    )


@bp.post("/scenarios/<key>/attempts")
@allow(*ANY_ROLE)
def start(key):
    """Begin a new attempt, once, however often Start is pressed."""
    version = library.offered_version(key)
    own = attempts.user_attempts(g.user.id, key)
    unfinished = attempts.in_progress(own)
    if unfinished is not None:
        flash("You already have this scenario in progress. Carry on where you left off.", "info")
        return redirect(resume_url(unfinished), 303)
    expected = attempts.next_attempt_number(g.user.id, key)
    if request.form.get("number") != str(expected):
        # Read again: a simultaneous Start may have begun an attempt since `own` was read.
        return already_started(attempts.user_attempts(g.user.id, key))
    try:
        attempt = attempts.start_attempt(g.user, version, expected)
    except attempts.StepConflict:
        return already_started(attempts.user_attempts(g.user.id, key))
    return redirect(url_for("play.play", attempt_id=attempt.id), 303)


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
    attempt = attempts.own_attempt(attempt_id)
    if attempt.abandoned_at is not None:
        return abandoned(attempt)
    if attempt.finished_at is not None:
        return redirect(url_for("play.debrief_page", attempt_id=attempt.id), 303)
    progress = attempts.progress_of(attempt)
    attempts.mark_shown(progress)
    return render_node(progress)


@bp.post("/attempts/<int:attempt_id>/abandon")
@allow(*ANY_ROLE)
def abandon(attempt_id):
    """Give up a practice attempt in progress, so the next Start begins afresh."""
    attempt = attempts.own_attempt(attempt_id)
    if attempts.abandon(attempt):
        flash("You abandoned that attempt. It does not count; start again when you are ready.")
    return redirect(url_for("play.briefing", key=attempt.scenario_key), 303)


def abandoned(attempt):
    """Send a request about an abandoned attempt to the scenario's briefing, saying why."""
    db.session.rollback()
    flash("That attempt was abandoned, so nothing was recorded. You can start again.", "info")
    return redirect(url_for("play.briefing", key=attempt.scenario_key), 303)


def render_node(progress, errors=None, chosen=None, rationale="", status=200):
    """Render the play screen for the node the attempt is at."""
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
    }
    return render_page("play/node.html", **context), status


def picture(version, node, row):
    """Return the address and alternative text of a node's picture, or None."""
    if node.image is None:
        return None
    return {
        "url": url_for("play.image", version_id=version.id, src=node.image.src),
        "alt": filled(node.image.alt, row),
    }


@bp.post("/attempts/<int:attempt_id>")
@allow(*ANY_ROLE)
def take_step(attempt_id):
    """Record one choice, exactly once, and show what follows."""
    attempt = attempts.own_attempt(attempt_id)
    if attempt.abandoned_at is not None:
        return abandoned(attempt)
    progress = attempts.progress_of(attempt)
    posted = request.form.get("step", "")
    if attempt.finished_at is not None or posted != str(progress.next_step_number):
        return stale(progress, posted)
    choice_id = request.form.get("choice", "")
    offered = {c.id: c for c in progress.offered()}
    rationale = request.form.get("rationale", "")
    if choice_id and choice_id not in offered:
        flash(FORGED_NOTICE, "info")
        return redirect(url_for("play.play", attempt_id=attempt.id), 303)
    errors = step_errors(progress.node, choice_id, rationale)
    if errors:
        return render_node(progress, errors, choice_id, rationale, status=422)
    choice = offered[choice_id]
    try:
        step = attempts.record_step(
            progress, choice, attempts.clean_rationale(progress.node, rationale)
        )
    except attempts.StepConflict:
        return stale(attempts.progress_of(attempts.own_attempt(attempt_id)), posted)
    return redirect(after_step(attempt, step, has_feedback(progress, choice)), 303)


def has_feedback(progress, choice):
    """Say whether a choice just taken has anything to say: feedback, or a verdict not good.

    A good choice with no feedback goes straight on to what follows.
    """
    if choice.feedback or progress.node.kind != "decision":
        return bool(choice.feedback)
    judged = engine.verdicts(progress.scenario, [*progress.choice_ids, choice.id])
    return judged[-1].verdict != engine.GOOD


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


def after_step(attempt, step, feedback=True):
    """Return where to go once a step is recorded."""
    if step.is_decision and attempt.mode == "practice" and feedback:
        return url_for("play.feedback", attempt_id=attempt.id, number=step.step_number + 1)
    if attempt.finished_at is not None:
        return url_for("play.debrief_page", attempt_id=attempt.id)
    return url_for("play.play", attempt_id=attempt.id)


def stale(progress, posted):
    """Record nothing and show where the attempt stands, with a plain notice."""
    db.session.rollback()
    flash(STALE_NOTICE, "info")
    attempt = progress.attempt
    last = progress.steps[-1] if progress.steps else None
    if last is not None and posted == str(last.step_number) and last.is_decision:
        return redirect(after_step(attempt, last), 303)
    if attempt.finished_at is not None:
        return redirect(url_for("play.debrief_page", attempt_id=attempt.id), 303)
    return redirect(url_for("play.play", attempt_id=attempt.id), 303)


@bp.get("/attempts/<int:attempt_id>/feedback/<int:number>")
@allow(*ANY_ROLE)
def feedback(attempt_id, number):
    """Say whether decision `number` was a good one, why, and the guidance behind it."""
    attempt = attempts.own_attempt(attempt_id)
    if attempt.mode != "practice":
        abort(404)
    progress = attempts.progress_of(attempt)
    if not 1 <= number <= len(progress.steps):
        abort(404)
    log = debrief.decisions(
        progress.scenario,
        progress.steps[:number],
        progress.row,
        attempt.seed,
        attempt.choice_order,
    )
    if not log or log[-1].number != number:
        return redirect(url_for("play.play", attempt_id=attempt.id), 303)
    finished = attempt.finished_at is not None and number == len(progress.steps)
    return render_page(
        "play/feedback.html",
        attempt=attempt,
        scenario=progress.scenario,
        decision=log[-1],
        finished=finished,
        next_url=url_for("play.debrief_page" if finished else "play.play", attempt_id=attempt.id),
        latest=number == len(progress.steps),
    )


@bp.get("/attempts/<int:attempt_id>/debrief")
@allow(*ANY_ROLE)
def debrief_page(attempt_id):
    """Show the outcome, the sharing criterion first, the scores and the decision log."""
    attempt = attempts.own_attempt(attempt_id)
    if attempt.finished_at is None:
        return redirect(url_for("play.play", attempt_id=attempt.id), 303)
    progress = attempts.progress_of(attempt)
    scenario, row = progress.scenario, progress.row
    result = engine.result(scenario, progress.choice_ids)
    if not attempts.same_result(attempt.result, attempts.result_record(result)):
        current_app.logger.error("Attempt %s: stored result differs from its log", attempt.id)
    ending = scenario.nodes[result.ending]
    log = debrief.decisions(scenario, progress.steps, row, attempt.seed, attempt.choice_order)
    work_on, more_to_work_on = debrief.work_on(log)
    by_stage = request.args.get("view") == "stage"
    return render_page(
        "play/debrief.html",
        attempt=attempt,
        version=progress.version,
        scenario=scenario,
        result=result,
        ending_text=filled_markdown(ending.text, row),
        ending_speaker=filled(ending.speaker, row),
        ending_image=picture(progress.version, ending, row),
        outcome=filled(ending.end.outcome, row),
        ending_debrief=filled_markdown(ending.end.debrief, row),
        failed_choices=debrief.failed_sharing_choices(scenario, result, row),
        critical_errors=debrief.critical_errors(scenario, result, row),
        log=log,
        by_stage=by_stage,
        groups=debrief.grouped_by_stage(log) if by_stage else [(None, log)],
        work_on=work_on,
        more_to_work_on=more_to_work_on,
        score_reasons=debrief.score_reasons(log, result),
        decision_count=len(log),
        next_number=attempts.next_attempt_number(g.user.id, attempt.scenario_key),
        offered=library.is_offered(attempt.scenario_key),
        duration=debrief.duration,
    )


@bp.get("/versions/<int:version_id>/images/<path:src>")
@allow(*ANY_ROLE)
def image(version_id, src):
    """Send a picture that a scenario version shows."""
    version = db.session.get(ScenarioVersion, version_id) or abort(404)
    scenario = library.scenario_for(version)
    sources = {n.image.src for n in scenario.nodes.values() if n.image is not None}
    if src not in sources:
        abort(404)
    folder = library.version_folder(version)
    return send_from_directory(folder, src, max_age=3600)
