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

from .. import sessions, throttle
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
    if g.user is not None and g.user.disabled_at is not None:
        g.user = None  # its sessions were ended when it was disabled; this is a backstop
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
    if target.startswith("//") or "\\" in target or has_control_characters(target):
        return url_for("play.catalogue")
    return target


def has_control_characters(text):
    """Say whether text holds a control character (CR, LF, NUL, tab, DEL and the like)."""
    return any(ord(character) < 32 or ord(character) == 127 for character in text)


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def login():
    """Show the sign-in form and sign a person in."""
    if request.method != "POST":  # HEAD too: it never reads a form or signs anyone in
        if g.user is not None:
            return redirect(url_for("play.catalogue"))
        return render_template("auth/login.html", errors={}, username="")
    username = request.form.get("username", "")[:USERNAME_MAX]
    password = request.form.get("password", "")
    errors = login_errors(username, password)
    if errors:
        return render_template("auth/login.html", errors=errors, username=username), 422
    address = request.remote_addr
    standing = throttle.standing(username, address)
    if standing.wait is not None:  # before any password is hashed
        return too_many(username, standing.wait)
    user = find_user(username)
    # A disabled account is refused with the same words as a wrong password.
    if not check_password(user, password) or user.disabled_at is not None:
        throttle.failed(username, address, user)
        errors = {"username": "Enter a correct username and password"}
        return render_template("auth/login.html", errors=errors, username=username), 422
    sessions.sign_in(session, user.id)
    throttle.succeeded(username, address, standing.counted)  # commits both
    return redirect(safe_next(request.args.get("next")), 303)


def too_many(username, wait):
    """Answer a sign-in that must wait: 429, how long, and the same words for every name."""
    words = throttle.wait_words(wait)
    errors = {"username": f"Too many failed sign-ins. Wait {words}, then try again"}
    response = render_template("auth/login.html", errors=errors, username=username)
    return response, 429, {"Retry-After": str(max(1, int(wait.total_seconds() + 0.999)))}


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
    """Sign the person out everywhere: every session of theirs ends, on every device."""
    sessions.end_sessions(g.user.id)
    session.clear()
    flash("You have signed out here and on any other device. Your progress is saved.", "success")
    return redirect(url_for("auth.login"), 303)
