"""A person's own account: their details for the record of training, and their password."""

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from .. import accounts, sessions
from .auth import ANY_ROLE, allow

bp = Blueprint("account", __name__, url_prefix="/account")
DETAILS = ("display_name", "force", "collar_number")
PASSWORDS = ("current_password", "new_password", "confirm_password")


def details_form(person=None):
    """Return the details as posted, or as the person's account holds them."""
    if person is not None:
        return {field: getattr(person, field) for field in DETAILS}
    return {field: request.form.get(field, "") for field in DETAILS}


@bp.route("", methods=["GET", "POST"])
@allow(*ANY_ROLE)
def details():
    """Show and change the signed-in person's name, force and collar number."""
    if request.method == "GET":
        return render_details(details_form(g.user), {})
    form = details_form()
    errors = accounts.details_problems(**form)
    if errors:
        return render_details(form, errors), 422
    accounts.update_details(g.user, g.user, **form)
    flash("Your details have been saved.", "success")
    return redirect(url_for("account.details"), 303)


def render_details(form, errors):
    """Render the account page with its details form."""
    return render_template(
        "account/details.html", form=form, errors=errors, limits=detail_limits()
    )


def detail_limits():
    """Return the longest each detail may be, for the form's hints."""
    return {
        "display_name": accounts.NAME_MAX,
        "force": accounts.FORCE_MAX,
        "collar_number": accounts.COLLAR_MAX,
    }


@bp.route("/password", methods=["GET", "POST"])
@allow(*ANY_ROLE)
def password():
    """Change the signed-in person's password: required while they hold a one-time one."""
    forced = g.user.must_change_password
    if request.method == "GET":
        return render_password(forced, {})
    current, new, confirm = (request.form.get(field, "") for field in PASSWORDS)
    errors = accounts.password_change_problems(g.user, current, new, confirm)
    if errors:
        return render_password(forced, errors), 422
    accounts.choose_password(g.user, new)
    ended = sessions.end_sessions(g.user.id, keep=session.token)
    sessions.renew(session)  # a copy of this browser's cookie stops working too
    others = f" You were signed out everywhere else ({ended})." if ended else ""
    flash(f"Your password has been changed. Use it next time you sign in.{others}", "success")
    return redirect(url_for("play.catalogue" if forced else "account.details"), 303)


def render_password(forced, errors):
    """Render the change-password page."""
    return render_template(
        "account/password.html",
        forced=forced,
        errors=errors,
        password_min=accounts.PASSWORD_MIN,
    )
