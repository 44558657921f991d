"""Error pages in plain words, never a traceback."""

import time

import sqlalchemy as sa
from flask import current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .. import sessions
from ..db import db, nothing_ran

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
    app.register_error_handler(sa.exc.DBAPIError, database_error)
    app.register_error_handler(sa.exc.TimeoutError, database_error)


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


def server_error(error):
    """Roll back whatever the request was writing and apologise (503 if the database is away)."""
    db.session.rollback()
    # A database error outside the view (opening the session, say) arrives here wrapped.
    original = getattr(error, "original_exception", None)
    if isinstance(original, sa.exc.SQLAlchemyError) and database_away(original):
        return database_unavailable()
    return error_page(500)


# While the database restarts or is out of reach: ask the browser to come back shortly.
RETRY_AFTER_SECONDS = 5
# A request safe to repeat runs once more after this pause, long enough for a restart's blip.
RETRY_PAUSE_SECONDS = 0.25
SAFE_METHODS = ("GET", "HEAD")
BUSY_HEADING = "The service is busy for a moment"
BUSY_MESSAGES = {
    "safe": "Try again in a few seconds. Nothing you have done so far has been lost.",
    "unsafe": (
        "What you sent could not be recorded. Wait a few seconds, reload the page to see "
        "where things stand, and send it again if you need to."
    ),
}


def repeatable(view):
    """Mark a POST view as safe to run again when the database went away while it ran.

    Such a view records what it was sent at most once however often it runs, because the
    form names what it is for: a step's number (the step is recorded once, and a second
    run finds it recorded and says so), or the number of the attempt Start begins. Whether
    the first run's COMMIT reached the database or not, a second run leaves one record.
    """
    view.repeatable = True
    return view


def safe_to_repeat():
    """Say whether the request may run again: a GET or HEAD, or a `repeatable` POST."""
    if request.method in SAFE_METHODS:
        return True
    return getattr(current_app.view_functions.get(request.endpoint), "repeatable", False)


def database_error(error):
    """Retry a request safe to repeat once while the database is out of reach, then 503.

    A request whose very first statement met a connection the server had dropped since
    its last use (it restarted) runs again at once on a fresh connection, whatever its
    method: the database saw nothing of it (`db.nothing_ran`).
    """
    if not database_away(error):
        return server_error(error)
    db.session.rollback()
    if dropped_before_use(error) and not g.get("reconnected"):
        g.reconnected = True
        return retry_request()
    if safe_to_repeat() and not g.get("database_retried"):
        g.database_retried = True
        time.sleep(RETRY_PAUSE_SECONDS)
        return retry_request()
    return database_unavailable()


def database_away(error):
    """Say whether an error means the database is unreachable or busy, not a bug."""
    if isinstance(error, sa.exc.OperationalError | sa.exc.TimeoutError):
        return True
    return bool(getattr(error, "connection_invalidated", False))


def dropped_before_use(error):
    """Say whether the error is a dead connection's, met before any statement ran."""
    return bool(getattr(error, "connection_invalidated", False)) and nothing_ran()


def retry_request():
    """Run the request's hooks and view again, handling what they raise as usual."""
    app = current_app._get_current_object()
    try:
        sessions.reopen()
        response = app.preprocess_request()
        return app.dispatch_request() if response is None else response
    except Exception as error:  # handled as on the first run; anything unhandled re-raises
        return app.handle_user_exception(error)


def database_unavailable():
    """Say the service is busy, and whether what was sent was recorded (it was not)."""
    kind = "safe" if request.method in SAFE_METHODS else "unsafe"
    # The rollback expired the signed-in person; reading them again for the page's menu
    # would need the database that is away, so the busy page is drawn as for nobody.
    g.user = None
    html, code = error_page(503, BUSY_HEADING, BUSY_MESSAGES[kind])
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    return html, code, headers
