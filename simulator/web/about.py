"""Public pages about the service: the privacy notice and the accessibility statement."""

from flask import Blueprint, render_template

from .auth import public

bp = Blueprint("about", __name__)


@bp.get("/privacy")
@public
def privacy():
    """Say what the service holds about people, who sees it, and for how long."""
    return render_template("about/privacy.html")


@bp.get("/accessibility")
@public
def accessibility():
    """Say how accessible the service is, how it is tested, and how to report a problem."""
    return render_template("about/accessibility.html")
