"""Accounts: signing in and out, password hashing, and the role check on every route."""

import functools
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from ..accounts import USERNAME_MAX, check_password, find_user
from ..db import db
from ..models import ROLES, User

bp = Blueprint("auth", __name__)
PUBLIC = "public"
ANY_ROLE = ROLES


def allow(*roles):
    """Let only signed-in people with one of these roles use the view."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def decorator(view):
        @functools.wraps(view)
        def checked(**kwargs):
            if g.user is None:
                back = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("auth.login", next=back))
            if g.user.role not in roles:
                abort(403)
            return view(**kwargs)

        checked.allowed_roles = roles
        return checked

    return decorator


def public(view):
    """Mark a view as open to people who are not signed in."""
    view.allowed_roles = PUBLIC
    return view


@bp.before_app_request
def load_user():
    """Load the signed-in user, and refuse any view that declares no access rule."""
    user_id = session.get("user_id")
    g.user = db.session.get(User, user_id) if user_id is not None else None
    view = current_app.view_functions.get(request.endpoint)
    if view is not None:
        if getattr(view, "allowed_roles", None) is None:
            current_app.logger.error("View %s declares no access rule", request.endpoint)
            abort(403)


# What a person holding a one-time password may still reach (static files never reach Flask:
# WhiteNoise serves them, see assets.py).
BEFORE_OWN_PASSWORD = {"account.password", "auth.login", "auth.logout"}


@bp.before_app_request
def require_own_password():
    """Send someone still on a one-time password to choose their own, recording nothing."""
    user = g.get("user")
    if user is None or not user.must_change_password:
        return None
    if request.endpoint is None or request.endpoint in BEFORE_OWN_PASSWORD:
        return None
    return redirect(url_for("account.password"), 303)


@bp.app_context_processor
def inject_user():
    """Make the signed-in user available to every template."""
    return {"current_user": g.get("user")}


def safe_next(target):
    """Return a same-site path to go to after signing in, or the catalogue."""
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/"):
        return url_for("play.catalogue")
    if target.startswith("//") or "\\" in target:
        return url_for("play.catalogue")
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def login():
    """Show the sign-in form and sign a person in."""
    if request.method == "GET":
        if g.user is not None:
            return redirect(url_for("play.catalogue"))
        return render_template("auth/login.html", errors={}, username="")
    username = request.form.get("username", "")[:USERNAME_MAX]
    password = request.form.get("password", "")
    errors = login_errors(username, password)
    user = None if errors else find_user(username)
    if not errors and not check_password(user, password):
        errors = {"username": "Enter a correct username and password"}
    if errors:
        return render_template("auth/login.html", errors=errors, username=username), 422
    session.clear()
    session["user_id"] = user.id
    return redirect(safe_next(request.args.get("next")), 303)


def login_errors(username, password):
    """Return a message for each empty sign-in field."""
    errors = {}
    if not username.strip():
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"
    return errors


@bp.post("/sign-out")
@allow(*ANY_ROLE)
def logout():
    """Sign the person out."""
    session.clear()
    flash("You have signed out. Your progress is saved.", "success")
    return redirect(url_for("auth.login"), 303)
