"""Before any view runs: refuse what the database could not hold, and let HEAD change nothing.

NUL bytes and ids beyond PostgreSQL's `integer` would otherwise reach a query and fail there.
"""

from flask import current_app, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

# The largest value of PostgreSQL's `integer`, the type of every id column.
LARGEST_ID = 2**31 - 1
NUL = "\x00"


class IdConverter(IntegerConverter):
    """Flask's `int` converter, matching no number beyond a database id, so those are a 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=LARGEST_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class NulByte(BadRequest):
    """A request holding a NUL character, which no text column can store."""

    plain_message = (
        "What was sent held a NUL character (a zero byte), which the service cannot accept. "
        "Go back, remove it (it may have come from pasting) and try again."
    )


def init_app(app):
    """Use bounded ids for every `<int:...>` route; refuse NUL bytes and tame HEAD first."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_bytes)
    app.before_request(answer_head_as_get)


def accepts_up_to(size):
    """Let a view take a request body of up to `size` bytes, more than the app's limit.

    The limit must be raised before anything reads the form, and the NUL check below reads
    it before any view runs, so the view says its size here rather than setting it itself.
    """

    def decorator(view):
        view.max_content_length = size
        return view

    return decorator


def refuse_nul_bytes():
    """Refuse a request with a NUL byte in its path, query, form or file names (value unlogged)."""
    view = current_app.view_functions.get(request.endpoint)
    larger = getattr(view, "max_content_length", None)
    if larger is not None:
        request.max_content_length = larger
    where = nul_byte_place()
    if where is not None:
        current_app.logger.warning("Refused a request with a NUL byte in its %s", where)
        raise NulByte()


def nul_byte_place():
    """Return which part of the request holds a NUL byte, or None."""
    if NUL in request.path:
        return "path"
    if holds_nul(request.args):
        return "query"
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if holds_nul(request.form):
        return "form"
    if any(NUL in (file.filename or "") or NUL in name for name, file in request.files.items()):
        return "file names"
    return None


def holds_nul(fields):
    """Say whether any name or value of a MultiDict holds a NUL byte."""
    return any(NUL in name or NUL in value for name, value in fields.items(multi=True))


def answer_head_as_get():
    """Let every view treat HEAD as GET, so no HEAD runs a POST branch (CSRF skips HEAD).

    The body is still left out: Werkzeug reads the method from the WSGI environ for that.
    """
    if request.method == "HEAD":
        request.method = "GET"
