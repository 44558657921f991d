"""Cohorts and their people: create, add and import trainees, share, archive, the audit log.

Pages that show one-time passwords answer the POST itself, with `Cache-Control: no-store`:
the passwords are never stored or sent again, so a trainer sees each one exactly once.
"""

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import Conflict

from ... import accounts, audit, cohorts, memberships, roster
from .. import csrf
from ..auth import allow
from ..safety import accepts_up_to
from . import TRAINERS, bp

COHORT_FIELDS = ("name", "description", "audience")
PERSON_FIELDS = ("username", "display_name", "force", "collar_number")
DETAIL_FIELDS = ("display_name", "force", "collar_number")
# A roster may be larger than the app's MAX_CONTENT_LENGTH (64 KiB): its form gets room for
# the list (roster.MAX_BYTES) and a little more for the token and the multipart boundaries.
ROSTER_REQUEST_MAX = roster.MAX_BYTES + 16 * 1024
LAST_PAGE = 100_000  # keeps ?page= within what an OFFSET takes on every database


def form_of(fields):
    """Return the posted values of these fields."""
    return {field: request.form.get(field, "") for field in fields}


def page_number():
    """Return the page asked for with ?page=, from 1."""
    return min(max(request.args.get("page", 1, type=int), 1), LAST_PAGE)


def pagination(endpoint, page, total, size):
    """Return govukPagination's parameters for a paged list, or None if it fits on one page."""
    pages = max(-(-total // size), 1)
    if pages == 1:
        return None
    return {
        "previous": {"href": url_for(endpoint, page=page - 1)} if page > 1 else None,
        "next": {"href": url_for(endpoint, page=page + 1)} if page < pages else None,
        "items": [
            {"number": n, "href": url_for(endpoint, page=n), "current": n == page}
            for n in range(1, pages + 1)
            if n in (1, pages) or abs(n - page) <= 2
        ],
    }


def no_store(html):
    """Return a page that no browser or proxy may keep (it shows a one-time password)."""
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


def administered_cohort(cohort_id):
    """Return a cohort the viewer may share and archive: 404 if unseen, 403 if not theirs."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    if not cohorts.can_administer(g.user, cohort):
        abort(403)
    return cohort


def live_cohort(cohort_id):
    """Return a cohort the viewer can see and add people to: not an archived one."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    if cohort.archived_at is not None:
        error = Conflict()
        error.plain_message = (
            "This cohort is archived, so no one can be added to it. "
            "Bring it back from the cohort’s page first."
        )
        raise error
    return cohort


@bp.get("/", endpoint="cohorts")
@allow(*TRAINERS)
def landing():
    """List the cohorts the trainer runs (with ?archived=1, the archived ones)."""
    archived = request.args.get("archived") == "1"
    shown = cohorts.visible_cohorts(g.user, archived)
    return render_template(
        "train/cohorts.html",
        cohorts=shown,
        archived=archived,
        counts=cohorts.member_counts([c.id for c in shown]),
        owners=accounts.users_by_id(c.owner_id for c in shown),
        audiences=cohorts.AUDIENCE_LABELS,
    )


@bp.route("/cohorts/new", methods=["GET", "POST"])
@allow(*TRAINERS)
def new_cohort():
    """Ask for a new cohort's details and create it, owned by the trainer."""
    if request.method == "GET":
        return render_cohort_form(None, dict.fromkeys(COHORT_FIELDS, ""), {})
    form = form_of(COHORT_FIELDS)
    errors = cohorts.cohort_problems(**form, owner_id=g.user.id)
    if errors:
        return render_cohort_form(None, form, errors), 422
    cohort = cohorts.create_cohort(g.user, **form)
    flash(f"Cohort “{cohort.name}” created. Now add its trainees.", "success")
    return redirect(url_for("train.cohort", cohort_id=cohort.id), 303)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@allow(*TRAINERS)
def edit_cohort(cohort_id):
    """Change a cohort's name, description and audience."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    if request.method == "GET":
        form = {field: getattr(cohort, field) for field in COHORT_FIELDS}
        return render_cohort_form(cohort, form, {})
    form = form_of(COHORT_FIELDS)
    errors = cohorts.cohort_problems(**form, owner_id=cohort.owner_id, cohort_id=cohort.id)
    if errors:
        return render_cohort_form(cohort, form, errors), 422
    cohorts.update_cohort(g.user, cohort, **form)
    flash("The cohort’s details have been saved.", "success")
    return redirect(url_for("train.cohort", cohort_id=cohort.id), 303)


def render_cohort_form(cohort, form, errors):
    """Render the form for a new cohort (cohort None) or an existing one's details."""
    return render_template(
        "train/cohort_form.html",
        cohort=cohort,
        form=form,
        errors=errors,
        audiences=cohorts.AUDIENCE_LABELS,
        name_max=cohorts.NAME_MAX,
        description_max=cohorts.DESCRIPTION_MAX,
    )


@bp.get("/cohorts/<int:cohort_id>", endpoint="cohort")
@allow(*TRAINERS)
def cohort_page(cohort_id):
    """Show a cohort: its details, its people and its history."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    people = cohorts.members(cohort.id)
    history, history_total = audit.entries(target=("cohorts", cohort.id))
    return render_template(
        "train/cohort.html",
        cohort=cohort,
        people=people,
        owner=accounts.users_by_id([cohort.owner_id])[cohort.owner_id],
        shared_with=cohorts.shares(cohort.id),
        administer=cohorts.can_administer(g.user, cohort),
        resettable={p.id for p in people if roster.may_reset_password(g.user, p)},
        history=history,
        history_total=history_total,
        audiences=cohorts.AUDIENCE_LABELS,
        from_lms=memberships.linked_course(cohort) is not None,
    )


@bp.route("/cohorts/<int:cohort_id>/archive", methods=["GET", "POST"])
@allow(*TRAINERS)
def archive(cohort_id):
    """Ask, then archive a cohort: it leaves the list, and its records are kept."""
    cohort = administered_cohort(cohort_id)
    if request.method == "GET":
        return render_template("train/cohort_archive.html", cohort=cohort)
    if cohort.archived_at is None:
        cohorts.set_archived(g.user, cohort, True)
    flash(f"Cohort “{cohort.name}” is archived. You can find it under archived cohorts.")
    return redirect(url_for("train.cohorts"), 303)


@bp.post("/cohorts/<int:cohort_id>/unarchive")
@allow(*TRAINERS)
def unarchive(cohort_id):
    """Bring an archived cohort back to the list."""
    cohort = administered_cohort(cohort_id)
    if cohort.archived_at is not None:
        cohorts.set_archived(g.user, cohort, False)
    flash(f"Cohort “{cohort.name}” is back in your list of cohorts.", "success")
    return redirect(url_for("train.cohort", cohort_id=cohort.id), 303)


@bp.route("/cohorts/<int:cohort_id>/members/<int:user_id>/remove", methods=["GET", "POST"])
@allow(*TRAINERS)
def remove_member(cohort_id, user_id):
    """Ask, then take a person out of a cohort, keeping their attempts and results."""
    cohort = cohorts.visible_cohort(g.user, cohort_id)
    person = cohorts.member(cohort.id, user_id)
    if request.method == "GET":
        if person is None:
            abort(404)
        return render_template("train/cohort_remove.html", cohort=cohort, person=person)
    if person is None:
        flash("That person was no longer in the cohort, so nothing changed.")
    else:
        cohorts.remove_member(g.user, cohort, person)
        flash(f"{person.name} is no longer in “{cohort.name}”. Their results are kept.")
    return redirect(url_for("train.cohort", cohort_id=cohort.id), 303)


@bp.route("/cohorts/<int:cohort_id>/sharing", methods=["GET", "POST"])
@allow(*TRAINERS)
def sharing(cohort_id):
    """Show whom a cohort is shared with, and share it with another trainer."""
    cohort = administered_cohort(cohort_id)
    if request.method == "GET":
        return render_sharing(cohort, "", {})
    username = request.form.get("username", "")
    trainer, problem = cohorts.share_problem(cohort, username)
    if problem:
        return render_sharing(cohort, username, {"username": problem}), 422
    cohorts.share(g.user, cohort, trainer)
    flash(f"“{cohort.name}” is now shared with {trainer.name}.", "success")
    return redirect(url_for("train.sharing", cohort_id=cohort.id), 303)


def render_sharing(cohort, username, errors):
    """Render a cohort's sharing page."""
    return render_template(
        "train/cohort_sharing.html",
        cohort=cohort,
        shared_with=cohorts.shares(cohort.id),
        username=username,
        errors=errors,
    )


@bp.post("/cohorts/<int:cohort_id>/sharing/<int:trainer_id>/stop")
@allow(*TRAINERS)
def unshare(cohort_id, trainer_id):
    """Stop sharing a cohort with a trainer."""
    cohort = administered_cohort(cohort_id)
    trainer = next((t for t in cohorts.shares(cohort.id) if t.id == trainer_id), None)
    if trainer is None:
        flash("The cohort was no longer shared with that trainer, so nothing changed.")
    else:
        cohorts.unshare(g.user, cohort, trainer)
        flash(f"“{cohort.name}” is no longer shared with {trainer.name}.", "success")
    return redirect(url_for("train.sharing", cohort_id=cohort.id), 303)


@bp.route("/cohorts/<int:cohort_id>/people/new", methods=["GET", "POST"])
@allow(*TRAINERS)
def add_person(cohort_id):
    """Add one trainee to a cohort, creating their account if it does not exist."""
    cohort = live_cohort(cohort_id)
    if request.method == "GET":
        return render_add_person(cohort, dict.fromkeys(PERSON_FIELDS, ""), {})
    form = form_of(PERSON_FIELDS)
    row, errors = roster.person_row(**form)
    if errors:
        return render_add_person(cohort, form, errors), 422
    try:
        added = roster.apply(g.user, cohort, [row])
    except roster.ImportRefused as refused:
        return render_add_person(cohort, form, {"username": refused.problems[0][1]}), 422
    if added[0].password is not None:
        return show_added(cohort, added)
    flash(*existing_account_notice(cohort, row, added[0]))
    return redirect(url_for("train.cohort", cohort_id=cohort.id), 303)


def existing_account_notice(cohort, row, added):
    """Return the notice and its kind for an existing account used as it is: a success only
    if it joined the cohort and nothing typed was left unused."""
    person = added.user
    known_as = f", as {person.display_name}," if person.display_name else ""
    where = "is now in" if added.joined else "was already in"
    notice = f"{person.username} already has an account{known_as} and {where} “{cohort.name}”."
    if row.display_name != person.display_name:
        unused = f"The name you typed (“{row.display_name}”) was not used"
    elif (row.force, row.collar_number) != (person.force, person.collar_number):
        unused = "The force and collar number you typed were not used"
    else:
        return notice, "success" if added.joined else "info"
    kept = "the account keeps its own details, which only an admin can change"
    return f"{notice} {unused}: {kept}.", "info"


def render_add_person(cohort, form, errors):
    """Render the form for adding one trainee."""
    return render_template(
        "train/cohort_add_person.html",
        cohort=cohort,
        form=form,
        errors=errors,
        limits=detail_limits(),
        username_max=accounts.USERNAME_MAX,
    )


def detail_limits():
    """Return the longest each of a person's details may be."""
    return {
        "display_name": accounts.NAME_MAX,
        "force": accounts.FORCE_MAX,
        "collar_number": accounts.COLLAR_MAX,
    }


def show_added(cohort, added):
    """Show the people just added, with each new account's one-time password, this once."""
    return no_store(render_template("train/cohort_added.html", cohort=cohort, added=added))


@bp.post("/cohorts/<int:cohort_id>/lms-fill")
@allow(*TRAINERS)
def fill_from_lms(cohort_id):
    """Add the learners of the LMS course the cohort was made for, making their accounts."""
    cohort = live_cohort(cohort_id)
    try:
        filled = memberships.fill_cohort(g.user, cohort)
    except memberships.FillFailed as error:
        flash(f"No one was added. {error}")
    else:
        flash(
            f"Added {filled.added} learner(s) from the LMS course; {filled.already} were "
            f"already in the cohort; {filled.not_learners} instructor(s) were not added.",
            "success",
        )
    return redirect(url_for("train.cohort", cohort_id=cohort.id), 303)


@bp.get("/cohorts/<int:cohort_id>/import")
@allow(*TRAINERS)
def import_form(cohort_id):
    """Ask for a list of trainees, pasted or as a CSV file."""
    return render_import(live_cohort(cohort_id), "", [], "roster")


@bp.post("/cohorts/<int:cohort_id>/import")
@accepts_up_to(ROSTER_REQUEST_MAX)  # before the NUL check reads the form
@csrf.exempt  # checked in the view, once the roster's larger size limit is set
@allow(*TRAINERS)
def import_roster(cohort_id):
    """Add everyone on a list, creating missing accounts, or, if any line is bad, no one."""
    request.max_content_length = ROSTER_REQUEST_MAX
    csrf.protect()
    cohort = live_cohort(cohort_id)
    pasted = request.form.get("roster", "")
    upload = request.files.get("roster_file")
    source = "roster_file" if upload and upload.filename else "roster"
    try:
        added = roster.apply(g.user, cohort, roster.parse(roster_text(pasted, upload)))
    except roster.ImportRefused as refused:
        return render_import(cohort, pasted, refused.problems, source), 422
    return show_added(cohort, added)


def roster_text(pasted, upload):
    """Return the list's text, pasted or uploaded, or raise ImportRefused saying what is wrong."""
    data = upload.read(roster.MAX_BYTES + 1) if upload and upload.filename else None
    if data is not None and pasted.strip():
        raise roster.ImportRefused([(0, "Paste a list or choose a file, not both")])
    if data == b"":
        raise roster.ImportRefused([(0, "The file you chose is empty")])
    if data is None and not pasted.strip():
        raise roster.ImportRefused([(0, "Paste the list of trainees, or choose a CSV file")])
    return pasted if data is None else roster.read_upload(data)


def render_import(cohort, pasted, problems, source):
    """Render the import form, with what was wrong with the last list sent."""
    return render_template(
        "train/cohort_import.html",
        cohort=cohort,
        pasted=pasted,
        problems=problems,
        source=source,
        max_lines=roster.MAX_LINES,
        max_kb=roster.MAX_BYTES // 1024,
        columns=roster.COLUMNS,
    )


@bp.get("/people")
@allow(*TRAINERS)
def people():
    """List the people whose records the viewer may see: their trainees (an admin, everyone)."""
    page = page_number()
    shown, total = cohorts.visible_people(g.user, page)
    return render_template(
        "train/people.html",
        people=shown,
        total=total,
        pagination=pagination("train.people", page, total, cohorts.PEOPLE_PAGE_SIZE),
        resettable={p.id for p in shown if roster.may_reset_password(g.user, p)},
    )


@bp.route("/people/<int:user_id>/password", methods=["GET", "POST"])
@allow(*TRAINERS)
def reset_password(user_id):
    """Ask, then give an account a new one-time password, shown this once."""
    person = cohorts.visible_person(g.user, user_id)
    if not roster.may_reset_password(g.user, person):
        abort(403)
    if request.method == "GET":
        return render_template("train/people_reset.html", person=person)
    password = roster.reset_password(g.user, person)
    return no_store(
        render_template("train/people_password.html", person=person, password=password)
    )


@bp.route("/people/<int:user_id>/details", methods=["GET", "POST"])
@allow("admin")
def person_details(user_id):
    """Change anyone's name, force and collar number (admins only)."""
    person = cohorts.visible_person(g.user, user_id)
    if request.method == "GET":
        form = {field: getattr(person, field) for field in DETAIL_FIELDS}
        return render_person_details(person, form, {})
    form = form_of(DETAIL_FIELDS)
    errors = accounts.details_problems(**form)
    if errors:
        return render_person_details(person, form, errors), 422
    accounts.update_details(g.user, person, **form)
    flash(f"{person.name}’s details have been saved.", "success")
    return redirect(url_for("train.person", user_id=person.id), 303)


def render_person_details(person, form, errors):
    """Render the admin's form for a person's details."""
    return render_template(
        "train/people_details.html",
        person=person,
        form=form,
        errors=errors,
        limits=detail_limits(),
    )


@bp.get("/audit", endpoint="audit")
@allow(*TRAINERS)
def audit_log():
    """Show the audit log, newest first: all of it to an admin, a trainer's own actions to them."""
    page = page_number()
    actor_id = None if g.user.role == "admin" else g.user.id
    entries, total = audit.entries(page=page, actor_id=actor_id)
    return render_template(
        "train/audit.html",
        entries=entries,
        total=total,
        everyone=actor_id is None,
        pagination=pagination("train.audit", page, total, audit.PAGE_SIZE),
    )
