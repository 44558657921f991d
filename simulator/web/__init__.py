"""Shared web plumbing: CSRF, htmx, and rendering a page or just its swappable region."""

from flask import current_app, g, render_template, request
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFProtect

from .. import rendering, sessions
from . import safety

csrf = CSRFProtect()
# The GOV.UK tag colour of each verdict kind (debrief.VERDICTS); the words carry the
# meaning too, so colour is never the only sign.
VERDICT_TAGS = {
    "good": "govuk-tag--green",
    "better-available": "govuk-tag--yellow",
    "poor": "govuk-tag--orange",
    "critical": "govuk-tag--red",
}
htmx = HTMX()


def init_app(app):
    """Bind CSRF and htmx, and register template filters and response headers."""
    safety.init_app(app)  # first, so a NUL byte is refused before CSRF reads the form
    # Before CSRF reads the session's token: a session the database kept unread is a 503
    # (retried once if safe), never a form that "had expired".
    app.before_request(sessions.reachable)
    csrf.init_app(app)
    htmx.init_app(app)
    app.add_template_filter(rendering.markdown, "markdown")
    app.add_template_filter(rendering.london, "london")
    app.add_template_global(VERDICT_TAGS, "verdict_tags")
    app.after_request(vary_on_htmx)
    app.after_request(security_headers)


PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)
HSTS = "max-age=31536000; includeSubDomains"
# Only the app's own files: no inline script, style attribute or handler, nothing from
# elsewhere, no plugins, no framing, forms posting only here, and no <base> to redirect
# relative addresses. A scenario's text is escaped anyway; this stops what escaping misses.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    )
)


def security_headers(response):
    """Allow only the app's own content; forbid framing, sniffing and device features.

    Signed-in pages stay out of caches, addresses out of other sites' logs, and a browser
    that came over HTTPS is told to keep to it. Error pages come here too; static files
    never do: WhiteNoise serves them (see assets.py). A view may set its own policy first.
    """
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    if g.get("user") is not None and "immutable" not in response.headers.get("Cache-Control", ""):
        # Every signed-in page may hold personal data (names, rationales, one-time passwords);
        # an unchanging file (a scenario's picture, under its own address) is not a page.
        response.headers["Cache-Control"] = "no-store"
    return response


def vary_on_htmx(response):
    """Tell caches that htmx requests get a different body, and keep the address bar right.

    A view that sets HX-Push-Url itself (a region that refreshes itself says "false") keeps it.
    """
    response.vary.add("HX-Request")
    if htmx and request.method == "GET" and response.status_code == 200:
        response.headers.setdefault("HX-Push-Url", request.full_path.rstrip("?"))
    return response


def render_page(template, *, swapped="region", **context):
    """Render the whole page, or for htmx only its title and swappable region.

    `swapped` names the block htmx swaps: the page's own region, or "content" (all of
    <main>) for an answer that replaces another kind of page, as Start replaces the briefing.
    """
    # A history restore after a cache miss replaces the whole body, so it needs the page.
    if htmx and not htmx.history_restore_request:
        title, region = render_blocks(template, ("title", swapped), context)
        title = title.strip()
        full_title = f"{title} – Safe to Report" if title else "Safe to Report"
        return f"<title>{full_title}</title>\n{region}"
    return render_template(template, **context)


def render_blocks(name, blocks, context):
    """Return each of a template's `blocks` rendered alone, in one context made once.

    A block renders with the page's context, Flask's context processors included, run
    once for all of the blocks: htmx's answers, which are rendered at every step, want
    the title and the region, and making the context twice cost as much as a block.
    """
    app = current_app._get_current_object()
    app.update_template_context(context)
    template = app.jinja_env.get_template(name)
    made = template.new_context(context)
    try:
        return [app.jinja_env.concat(template.blocks[block](made)) for block in blocks]
    except Exception:  # Jinja rewrites the traceback to point at the template's lines
        app.jinja_env.handle_exception()
