"""The admin's pages: accounts (find, create, import, reset, role, disable, unlock), data
protection (everything held about a person, erasure), and the LTI platforms (learning
management systems) that may launch the app.

Pages that show one-time passwords answer the POST itself, with `Cache-Control: no-store`,
so each password is seen exactly once. The work is done by administration.py, privacy.py,
roster.py, throttle.py and lti.py; these views parse, call and render.
"""

import json

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import accounts, administration, audit, lti, privacy, roster, throttle
from ..db import db
from ..models import ROLES, User
from . import csrf
from .auth import allow
from .safety import accepts_up_to
from .train.cohort_views import ROSTER_REQUEST_MAX, no_store, page_number, roster_text

bp = Blueprint("admin", __name__, url_prefix="/admin")


def account_of(user_id):
    """Return the account with this id, or 404."""
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    return person


def pages(page, total, **query):
    """Return govukPagination's parameters for the account list, or None for one page."""
    count = max(-(-total // administration.PAGE_SIZE), 1)
    if count == 1:
        return None

    def href(n):
        return url_for("admin.accounts", page=n, **query)

    return {
        "previous": {"href": href(page - 1)} if page > 1 else None,
        "next": {"href": href(page + 1)} if page < count else None,
        "items": [
            {"number": n, "href": href(n), "current": n == page}
            for n in range(1, count + 1)
            if n in (1, count) or abs(n - page) <= 2
        ],
    }


@bp.get("/", endpoint="accounts")
@allow("admin")
def account_list():
    """List accounts, searched by username or name and filtered by role, 50 a page."""
    search = request.args.get("q", "")[: administration.SEARCH_MAX]
    role = request.args.get("role", "")
    role = role if role in ROLES else ""
    page = page_number()
    found, total = administration.find_accounts(search, role, page)
    query = {key: value for key, value in (("q", search), ("role", role)) if value}
    return render_template(
        "admin/accounts.html",
        accounts=found,
        total=total,
        search=search,
        role=role,
        roles=ROLES,
        pagination=pages(page, total, **query),
        page=page,
        first_page=url_for("admin.accounts", **query),
    )


@bp.route("/accounts/new", methods=["GET", "POST"])
@allow("admin")
def new_account():
    """Add one account, with a one-time password shown this once."""
    form = {field: request.form.get(field, "") for field in ("username", "display_name", "role")}
    if request.method == "GET":
        return render_template("admin/account_new.html", form=form, errors={}, roles=ROLES)
    errors = administration.account_problems(**form)
    if errors:
        page = render_template("admin/account_new.html", form=form, errors=errors, roles=ROLES)
        return page, 422
    person, password = administration.create_account(g.user, **form)
    return no_store(render_template("admin/password.html", person=person, password=password))


@bp.get("/accounts/import")
@allow("admin")
def import_form():
    """Ask for a list of trainees to create, pasted or as a CSV file."""
    return render_import("", [], "roster")


@bp.post("/accounts/import")
@accepts_up_to(ROSTER_REQUEST_MAX)  # before the NUL check reads the form
@csrf.exempt  # checked in the view, once the roster's larger size limit is set
@allow("admin")
def import_accounts():
    """Create a trainee account for everyone on a list, or, if any line is bad, for no one."""
    request.max_content_length = ROSTER_REQUEST_MAX
    csrf.protect()
    pasted = request.form.get("roster", "")
    upload = request.files.get("roster_file")
    source = "roster_file" if upload and upload.filename else "roster"
    try:
        added = roster.apply(g.user, None, roster.parse(roster_text(pasted, upload)))
    except roster.ImportRefused as refused:
        return render_import(pasted, refused.problems, source), 422
    return no_store(render_template("admin/imported.html", added=added))


def render_import(pasted, problems, source):
    """Render the bulk-creation form, with what was wrong with the last list sent."""
    return render_template(
        "admin/import.html",
        pasted=pasted,
        problems=problems,
        source=source,
        max_lines=roster.MAX_LINES,
        max_kb=roster.MAX_BYTES // 1024,
    )


@bp.get("/accounts/<int:user_id>")
@allow("admin")
def account(user_id, errors=None, status=200):
    """Show one account and what an admin can do with it."""
    person = account_of(user_id)
    page = render_template(
        "admin/account.html",
        person=person,
        roles=ROLES,
        errors=errors or {},
        erased=administration.is_erased(person),
    )
    return page, status


def refused(user_id, field, message):
    """Show the account page again with a message saying why the action was refused."""
    return account(user_id=user_id, errors={field: message}, status=422)


@bp.route("/accounts/<int:user_id>/password", methods=["GET", "POST"])
@allow("admin")
def reset_password(user_id):
    """Ask, then give an account a new one-time password, shown once; ends its sessions."""
    person = account_of(user_id)
    if person.id == g.user.id or person.disabled_at is not None:
        abort(409)
    if request.method == "GET":
        return render_template("admin/reset.html", person=person)
    password = roster.reset_password(g.user, person)
    return no_store(render_template("admin/password.html", person=person, password=password))


@bp.post("/accounts/<int:user_id>/role")
@allow("admin")
def change_role(user_id):
    """Change an account's role, ending its sessions; the last admin stays one."""
    person = account_of(user_id)
    try:
        changed = administration.change_role(g.user, person, request.form.get("role", ""))
    except administration.Refused as error:
        return refused(user_id, "role", str(error))
    if changed:
        article = "an" if person.role[0] in "aeiou" else "a"
        flash(f"{person.name} is now {article} {person.role}. They must sign in again.", "success")
    if person.id == g.user.id:
        return redirect(url_for("auth.login"), 303)
    return redirect(url_for("admin.account", user_id=user_id), 303)


@bp.post("/accounts/<int:user_id>/disable")
@allow("admin")
def disable(user_id):
    """Stop an account signing in, and end its sessions."""
    person = account_of(user_id)
    try:
        if administration.disable(g.user, person):
            flash(f"{person.name}’s account is disabled and they have been signed out.", "success")
    except administration.Refused as error:
        return refused(user_id, "disable", str(error))
    return redirect(url_for("admin.account", user_id=user_id), 303)


@bp.post("/accounts/<int:user_id>/enable")
@allow("admin")
def enable(user_id):
    """Let a disabled account sign in again."""
    person = account_of(user_id)
    try:
        if administration.enable(g.user, person):
            flash(f"{person.name}’s account can sign in again.", "success")
    except administration.Refused as error:
        return refused(user_id, "enable", str(error))
    return redirect(url_for("admin.account", user_id=user_id), 303)


@bp.post("/accounts/<int:user_id>/unlock")
@allow("admin")
def unlock(user_id):
    """Clear an account's failed sign-ins, so that it need not wait."""
    person = account_of(user_id)
    if throttle.unlock(g.user, person.username):
        flash(f"{person.name}’s failed sign-ins are cleared: they can sign in now.", "success")
    else:
        flash(f"{person.name} had no failed sign-ins to clear.", "info")
    return redirect(url_for("admin.account", user_id=user_id), 303)


@bp.get("/accounts/<int:user_id>/data.json")
@allow("admin")
def subject_access(user_id):
    """Download everything held about a person, as JSON (a subject-access request)."""
    person = account_of(user_id)
    held = privacy.subject_access(person)
    audit.record(
        g.user, "account.subject_access", person, f"Downloaded the data of {person.username!r}"
    )
    db.session.commit()
    response = make_response(json.dumps(held, indent=2, ensure_ascii=False))
    response.mimetype = "application/json"
    response.headers["Cache-Control"] = "no-store"
    name = f"safe-to-report-account-{person.id}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/accounts/<int:user_id>/erase", methods=["GET", "POST"])
@allow("admin")
def erase(user_id):
    """Ask for a reason, then erase a person: pseudonymise them, remove the text about them."""
    person = account_of(user_id)
    if person.id == g.user.id or administration.is_erased(person):
        abort(409)
    reason = request.form.get("reason", "")
    if request.method == "GET":
        return render_template("admin/erase.html", person=person, reason="", errors={})
    if problem := privacy.reason_problem(reason):
        errors = {"reason": problem}
        page = render_template("admin/erase.html", person=person, reason=reason, errors=errors)
        return page, 422
    privacy.erase(g.user, person, reason)
    flash(f"Account {user_id} has been erased.", "success")
    return redirect(url_for("admin.account", user_id=user_id), 303)


PLATFORM_FIELDS = (
    "issuer",
    "client_id",
    "deployment_ids",
    "login_url",
    "token_url",
    "key_set_url",
)


def platform_of(platform_id):
    """Return the registered LTI platform with this id, or 404."""
    platform = lti.platform_by_id(platform_id)
    if platform is None:
        abort(404)
    return platform


@bp.get("/lti")
@allow("admin")
def lti_platforms():
    """List the LTI platforms, and the tool's addresses an LMS admin gives them."""
    registered = lti.platforms()
    return render_template(
        "admin/lti_platforms.html",
        platforms=registered,
        owners=accounts.users_by_id(p.created_by_id for p in registered),
        tool=tool_addresses(),
    )


def tool_addresses():
    """Return the tool's absolute LTI addresses, as a platform is configured with them."""
    launch = url_for("lti.launch", _external=True)
    return {
        "login": url_for("lti.login", _external=True),
        "launch": launch,
        "deep_link": launch,  # one endpoint takes both kinds of launch
        "jwks": url_for("lti.jwks", _external=True),
    }


@bp.route("/lti/new", methods=["GET", "POST"])
@allow("admin")
def new_platform():
    """Register an LTI platform, owned by the admin who registers it."""
    if request.method == "GET":
        return render_platform_form(None, platform_form(), {})
    form = platform_form()
    if errors := lti.platform_problems(**form):
        return render_platform_form(None, form, errors), 422
    lti.add_platform(g.user, **form)
    flash(f"Registered {form['issuer']}. Give it the tool’s addresses below.", "success")
    return redirect(url_for("admin.lti_platforms"), 303)


@bp.route("/lti/<int:platform_id>/edit", methods=["GET", "POST"])
@allow("admin")
def edit_platform(platform_id):
    """Change an LTI platform's registration."""
    platform = platform_of(platform_id)
    if request.method == "GET":
        return render_platform_form(platform, lti.platform_details(platform), {})
    form = platform_form()
    if errors := lti.platform_problems(**form, platform=platform):
        return render_platform_form(platform, form, errors), 422
    lti.update_platform(g.user, platform, **form)
    flash(f"Saved the registration of {platform.issuer}.", "success")
    return redirect(url_for("admin.lti_platforms"), 303)


def platform_form():
    """Return the platform form's fields, trimmed, with the deployment ids as a list."""
    form = {field: request.form.get(field, "").strip() for field in PLATFORM_FIELDS}
    form["deployment_ids"] = lti.deployment_list(form["deployment_ids"])
    return form


def render_platform_form(platform, form, errors):
    """Render the form registering a platform (platform None) or changing one."""
    return render_template(
        "admin/lti_platform_form.html", platform=platform, form=form, errors=errors
    )
