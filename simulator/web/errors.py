"""Error pages in plain words, never a traceback."""

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..db import db

MESSAGES = {
    400: (
        "Something was wrong with that request",
        "The page could not use what was sent. Go back, reload the page and try again.",
    ),
    403: (
        "You cannot open this page",
        "Your account does not have access to this page. "
        "If you think it should, ask a trainer or an administrator.",
    ),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. "
        "If you followed a link, the page may have been removed.",
    ),
    405: (
        "That action is not available here",
        "Go back and use the buttons and links on the page.",
    ),
    409: (
        "That could not be done",
        "Something changed since the page was shown. Reload the page to see where things stand.",
    ),
    413: ("That was too much text", "Shorten what you wrote and try again."),
    500: (
        "Sorry, there is a problem with the service",
        "Nothing you did caused this. Try again later. "
        "Your progress up to your last completed step has been kept.",
    ),
}


def init_app(app):
    """Register the error pages."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(InternalServerError, server_error)


def error_page(code, heading=None, message=None):
    """Render the error page for a status code."""
    default_heading, default_message = MESSAGES.get(code, MESSAGES[400])
    html = render_template(
        "errors/error.html",
        code=code,
        heading=heading or default_heading,
        message=message or default_message,
    )
    return html, code


def http_error(error):
    """Show a plain page for any HTTP error."""
    if error.code >= 500:
        return server_error(error)
    return error_page(error.code, message=getattr(error, "plain_message", None))


def csrf_error(_error):
    """Explain an expired or missing form token without blaming the person."""
    return error_page(
        400,
        "This page had expired",
        "For your security, forms stop working after a while or when you sign out "
        "in another tab. Go back, reload the page and try again; nothing was recorded.",
    )


def server_error(_error):
    """Roll back whatever the request was writing and apologise."""
    db.session.rollback()
    return error_page(500)
