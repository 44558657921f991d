"""The library in the browser: upload and check, see, preview, compare, publish and retire.

For trainers and admins. Any of them may see every scenario and version, upload drafts
and preview them; only a scenario's owner or an admin publishes or retires it, and other
trainers copy it as a new draft (library.may_manage).
"""

from pathlib import Path

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup

from .. import attempts, library, maps, uploads
from ..db import db
from ..models import ScenarioVersion
from ..scenario.excerpt import excerpt
from .auth import allow
from .safety import accepts_up_to

bp = Blueprint("author", __name__, url_prefix="/library")
TRAINERS = ("trainer", "admin")
STARTER = Path(__file__).resolve().parents[2] / "docs" / "starter-scenario.yaml"


def version_or_404(version_id):
    """Return a stored version, or 404."""
    return db.session.get(ScenarioVersion, version_id) or abort(404)


@bp.get("")
@allow(*TRAINERS)
def index():
    """List every scenario in the library, versions that fail the checks first."""
    found = library.entries()
    failing = [(e, v) for e in found for v in e.failing]
    owners = library.people(e.scenario.owner_id for e in found)
    return render_template("author/index.html", entries=found, failing=failing, owners=owners)


@bp.get("/upload")
@allow(*TRAINERS)
def upload_form():
    """Show the upload form with its limits."""
    return render_upload()


@bp.post("/upload")
@allow(*TRAINERS)
@accepts_up_to(uploads.MAX_UPLOAD_BYTES + 64 * 1024)
def upload():
    """Check an uploaded file; store it as a draft if it passes, else show every problem."""
    file = request.files.get("file")
    if file is None or not file.filename:
        errors = {"file": "Choose a scenario file (.yaml) or a zip to upload"}
        return render_upload(errors=errors, status=422)
    try:
        given = uploads.read_upload(file.filename, file.read(uploads.MAX_UPLOAD_BYTES + 1))
    except uploads.UploadRefused as refused:
        return render_upload(errors={"file": str(refused)}, status=422)
    checked = library.check(given.yaml_name, given.yaml, given.pictures)
    if not checked.ok:
        return render_upload(checked=checked, source=given.yaml, notes=given.notes, status=422)
    try:
        version, created = library.upload(g.user, checked)
    except library.Refused as refused:
        return render_upload(errors={"file": str(refused)}, status=403)
    if created:
        flash("Uploaded as a draft. Nothing changes for trainees until it is published.", "info")
    else:
        flash("This exact file is already in the library: here it is.", "info")
    for note in given.notes:
        flash(note, "info")
    return redirect(url_for("author.version", version_id=version.id), 303)


def render_upload(errors=None, checked=None, source=b"", notes=(), status=200):
    """Render the upload page, with a refused file's problems and their lines."""
    problems = []
    if checked is not None:
        for problem in checked.report.problems:
            problems.append((problem, excerpt(source, problem.line, problem.column)))
        if any(p.is_error for p in checked.report.problems):
            errors = {"problems": "The file was not stored: fix the problems listed below"}
    page = render_template(
        "author/upload.html",
        errors=errors or {},
        checked=checked,
        problems=problems,
        notes=notes,
        limits=uploads.limits_in_words(),
    )
    return page, status


@bp.get("/starter.yaml")
@allow(*TRAINERS)
def starter():
    """Download a starter scenario to write from."""
    return yaml_download(STARTER.read_bytes(), "starter-scenario.yaml")


def yaml_download(data, filename):
    """Answer with a YAML file to save, never to show."""
    response = Response(data, mimetype="application/yaml")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/scenarios/<key>")
@allow(*TRAINERS)
def scenario(key):
    """Show a scenario's versions, who brought each and when, and what can be done."""
    found = library.entry(key)
    ids = [found.scenario.owner_id, found.scenario.retired_by_id]
    ids += [v.uploaded_by_id for v in found.versions] + [v.published_by_id for v in found.versions]
    return render_template(
        "author/scenario.html",
        entry=found,
        people=library.people(ids),
        may_manage=library.may_manage(g.user, found.scenario),
        owner=library.owner_name(found.scenario),
    )


@bp.get("/scenarios/<key>/compare")
@allow(*TRAINERS)
def compare(key):
    """Show what changed between two versions of a scenario: lines and the graph."""
    found = library.entry(key)
    by_id = {str(v.id): v for v in found.versions}
    older, newer = by_id.get(request.args.get("from", "")), by_id.get(request.args.get("to", ""))
    if older is None or newer is None:
        flash("Choose two versions of this scenario to compare.", "info")
        return redirect(url_for("author.scenario", key=key), 303)
    old_v, new_v = version_or_404(older.id), version_or_404(newer.id)
    rows = maps.line_diff(text_of(old_v), text_of(new_v))
    changes = maps.graph_changes(library.scenario_for(old_v), library.scenario_for(new_v))
    return render_template(
        "author/compare.html", entry=found, older=old_v, newer=new_v, rows=rows, changes=changes
    )


def text_of(version):
    """Return a version's file as text, bytes that are not UTF-8 shown replaced."""
    return version.source.decode("utf-8", errors="replace")


@bp.post("/scenarios/<key>/retire")
@allow(*TRAINERS)
def retire(key):
    """Take a scenario out of the catalogue; attempts and results stay."""
    done = "Retired: trainees no longer see it. Attempts and results stay readable."
    return set_retired(key, True, done)


@bp.post("/scenarios/<key>/restore")
@allow(*TRAINERS)
def restore(key):
    """Return a retired scenario to the catalogue."""
    return set_retired(key, False, "Returned to the catalogue.")


def set_retired(key, retired, done):
    """Retire or restore a scenario, saying what happened, and show its page again."""
    found = library.entry(key)
    try:
        library.set_retired(g.user, found.scenario, retired)
    except library.Refused as refused:
        flash(str(refused))
    else:
        flash(done, "info")
    return redirect(url_for("author.scenario", key=key), 303)


@bp.get("/versions/<int:version_id>")
@allow(*TRAINERS)
def version(version_id):
    """Show one version: its state, what the checks found, its map and its outline."""
    chosen = version_or_404(version_id)
    found = library.entry(chosen.scenario_key)
    played = library.scenario_for(chosen)
    people = library.people([chosen.uploaded_by_id, chosen.published_by_id])
    return render_template(
        "author/version.html",
        version=chosen,
        entry=found,
        people=people,
        outline=maps.outline(played, problem_list(chosen)),
        # Cleaned by maps.render_svg when the version was checked, and stored as it returned.
        map_svg=Markup(chosen.map_svg) if chosen.map_svg else None,
        may_manage=library.may_manage(g.user, found.scenario),
        publish_problem=library.publish_problem(g.user, chosen, found.scenario),
        source=chosen.source,
    )


def problem_list(version):
    """Return the problems kept with a version as objects with code, line and message."""
    from ..scenario import Problem

    return [
        Problem(version.path, p["line"], p["column"], p["code"], p["severity"], p["message"])
        for p in version.problems
    ]


@bp.get("/versions/<int:version_id>/source.yaml")
@allow(*TRAINERS)
def source(version_id):
    """Download a version's file exactly as it was stored."""
    chosen = version_or_404(version_id)
    return yaml_download(chosen.source, f"{chosen.scenario_key}-v{chosen.version}.yaml")


@bp.post("/versions/<int:version_id>/publish")
@allow(*TRAINERS)
def publish(version_id):
    """Make a draft the version trainees get."""
    chosen = version_or_404(version_id)
    try:
        library.publish(g.user, chosen)
    except library.Refused as refused:
        flash(str(refused))
    else:
        flash(f"Published: trainees now get version {chosen.version}.", "info")
    return redirect(url_for("author.version", version_id=version_id), 303)


@bp.get("/versions/<int:version_id>/copy")
@allow(*TRAINERS)
def copy_form(version_id):
    """Ask for the new id of a copy."""
    return render_copy(version_or_404(version_id))


@bp.post("/versions/<int:version_id>/copy")
@allow(*TRAINERS)
def copy(version_id):
    """Store a copy of a version under a new id, as the person's draft."""
    chosen = version_or_404(version_id)
    key = request.form.get("key", "").strip()
    if not key:
        return render_copy(chosen, key, {"key": "Enter an id for the copy"}, 422)
    try:
        made = library.copy_as_draft(g.user, chosen, key)
    except library.Refused as refused:
        return render_copy(chosen, key, {"key": str(refused)}, 422)
    flash(f"Copied as the draft '{key}'. Download it, edit it, and upload it again.", "info")
    return redirect(url_for("author.version", version_id=made.id), 303)


def render_copy(chosen, key="", errors=None, status=200):
    """Render the copy form."""
    page = render_template("author/copy.html", version=chosen, key=key, errors=errors or {})
    return page, status


@bp.post("/versions/<int:version_id>/preview")
@allow(*TRAINERS)
def preview(version_id):
    """Play a version as a trainer: a preview, never a result or in analytics."""
    chosen = version_or_404(version_id)
    number = attempts.next_attempt_number(g.user.id, chosen.scenario_key)
    try:
        attempt = attempts.start_attempt(g.user, chosen, number, preview=True)
    except attempts.StepConflict:
        flash("Another preview began at the same moment: press Preview again.")
        return redirect(url_for("author.version", version_id=version_id), 303)
    flash("This is a preview: it is never a result and never in analytics.", "info")
    return redirect(url_for("play.play", attempt_id=attempt.id), 303)
