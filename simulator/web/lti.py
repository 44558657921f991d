"""LTI 1.3 endpoints: OIDC login initiation, the resource-link launch, deep linking, the
tool's key set, and the `flask lti` commands that register platforms and make keys.

The login and launch are exempt from CSRF: the platform posts them from another site, and
the signed id_token, the one-time state and the nonce protect them instead (lti.py).
"""

from urllib.parse import parse_qs, urlsplit

import click
import requests
from flask import Blueprint, g, jsonify, redirect, render_template, request, session, url_for
from flask.cli import AppGroup
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.cookie import CookieService
from pylti1p3.exception import (
    LtiException,
    LtiInvalidNonceException,
    LtiMessageValidationException,
    OIDCException,
)

from .. import grades, library, lti, memberships
from ..accounts import find_user
from . import CONTENT_SECURITY_POLICY, csrf
from .auth import allow, public

bp = Blueprint("lti", __name__, url_prefix="/lti")
lti_cli = AppGroup("lti", help="Register LTI 1.3 platforms and make the tool's keys.")
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DEEP_LINK_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DEEP_LINK = "lti_deep_link"  # the session key of the deep linking request being answered
KEY_SET_TIMEOUT = 10  # seconds to wait for a platform's key set
# pylti1p3's refusals, and what a token of the wrong shape (a list for a body) raises in it.
LAUNCH_ERRORS = (LtiException, OIDCException, AttributeError, TypeError, ValueError)


def init_app(app):
    """Register the blueprint and the `flask lti` commands."""
    app.register_blueprint(bp)
    app.cli.add_command(lti_cli)


class NoCookies(CookieService):
    """Set and read no cookies: the state and nonce are in the database (lti.py)."""

    def get_cookie(self, name):
        """Return nothing."""
        return None

    def set_cookie(self, name, value, exp=3600):
        """Keep nothing."""

    def update_response(self, response):
        """Leave the response alone."""


class KeySetSession(requests.Session):
    """A requests session that gives up on a platform's key set after KEY_SET_TIMEOUT."""

    def request(self, *args, **kwargs):
        """Send the request with a timeout."""
        kwargs.setdefault("timeout", KEY_SET_TIMEOUT)
        return super().request(*args, **kwargs)


class ToolLaunch(FlaskMessageLaunch):
    """pylti1p3's launch, with the state used once from the database instead of a cookie."""

    _login_nonce = None

    def validate_state(self):
        """Use the login the state names, once; refuse an unknown, used or old one."""
        state = self._get_request_param("state")
        self._login_nonce = lti.use_login(state) if state else None
        if self._login_nonce is None:
            raise LtiMessageValidationException("its sign-in is unknown, used or too old")
        return self

    def validate_nonce(self):
        """Require the token's nonce to be the one its own login sent."""
        super().validate_nonce()
        if self._get_jwt_body().get("nonce") != self._login_nonce:
            raise LtiInvalidNonceException("its nonce is not its sign-in's")
        return self

    def save_launch_data(self):
        """Keep nothing: the launch is used once, now."""
        return self


def refused(reason, status=400):
    """Answer a login or launch that cannot go on, in plain words."""
    return render_template("lti/refused.html", reason=reason), status


@bp.route("/login", methods=["GET", "POST"])
@public
@csrf.exempt
def login():
    """Start an LTI launch: send the browser to the platform with a new state and nonce."""
    oidc = FlaskOIDCLogin(
        FlaskRequest(),
        lti.DatabaseToolConfig(),
        cookie_service=NoCookies(),
        launch_data_storage=lti.DatabaseLaunchData(),
    )
    try:
        target = oidc.get_redirect_object(url_for("lti.launch", _external=True))
    except (OIDCException, LtiException) as error:
        return refused(f"The sign-in from your learning platform was not accepted: {error}.")
    address = target.get_redirect_url()
    query = parse_qs(urlsplit(address).query)
    lti.remember_login(query["state"][0], query["nonce"][0])
    return redirect(address, 302)


@bp.post("/launch")
@public
@csrf.exempt
def launch():
    """Take a resource-link launch: sign the person in and open what the link names."""
    message = ToolLaunch(
        FlaskRequest(),
        lti.DatabaseToolConfig(),
        cookie_service=NoCookies(),
        launch_data_storage=lti.DatabaseLaunchData(),
        requests_session=KeySetSession(),
    )
    try:
        data = message.validate().get_launch_data()
    except LAUNCH_ERRORS as error:
        return refused(f"The launch from your learning platform was refused: {error}.")
    if not (message.is_resource_launch() or message.is_deep_link_launch()):
        return refused("This kind of LTI launch is not supported yet: add a plain link.")
    if not isinstance(data.get("sub"), str) or not data["sub"]:
        return refused("The launch did not say who you are: your platform sent no subject.")
    platform = lti.find_platform(data["iss"], message.get_client_id())
    user = lti.person(platform, data["sub"], lti.role_of(data.get(CLAIM + "roles")), name_of(data))
    if user.disabled_at is not None:
        return refused("Your account has been disabled. Ask an administrator.", 403)
    lti.course_cohort(platform, data.get(CLAIM + "context") or {}, user)
    memberships.remember_launch(
        platform, data.get(CLAIM + "context"), data.get(memberships.NRPS_CLAIM)
    )
    if message.is_deep_link_launch():
        return start_choosing(platform, data, user)
    link_id = (data.get(CLAIM + "resource_link") or {}).get("id")
    key, assignment_id = lti.resource_target(platform, link_id, asked_target(data))
    grades.remember_launch(platform, link_id, user, data.get(grades.AGS_CLAIM))
    session.clear()
    session["user_id"] = user.id
    return redirect(destination(key, assignment_id), 303)


def start_choosing(platform, data, user):
    """Sign an instructor in to choose a scenario for their course (deep linking)."""
    if user.role == "trainee":
        return refused("Only a course's instructors can add activities from this tool.", 403)
    session.clear()
    session["user_id"] = user.id
    session[DEEP_LINK] = {
        "platform_id": platform.id,
        "deployment_id": data[CLAIM + "deployment_id"],
        "settings": data[DEEP_LINK_CLAIM],
    }
    return redirect(url_for("lti.deep_link"), 303)


@bp.get("/deep-link")
@allow("trainer", "admin")
def deep_link():
    """List the scenarios, and the assignments of the instructor's cohorts, that may be
    added to the course that asked."""
    waiting = DEEP_LINK in session
    versions = library.offered_versions() if waiting else []
    set_work = lti.assignments_to_offer(g.user) if waiting else []
    return render_template(
        "lti/deep_link.html", waiting=waiting, versions=versions, assignments=set_work
    )


@bp.post("/deep-link")
@allow("trainer", "admin")
def add_to_course():
    """Answer the course with the chosen scenario: a page whose button posts it back."""
    waiting = session.get(DEEP_LINK)
    if waiting is None:
        return refused("No course is waiting for a choice: start from its activity chooser.", 409)
    chosen = chosen_link(request.form)
    if chosen is None:
        return refused("That is not offered. Go back and choose another.", 422)
    title, custom = chosen
    if not lti.active_keys():
        return refused("The tool has no signing key yet: an admin must make one.", 409)
    platform = lti.platform_by_id(waiting["platform_id"])
    settings = waiting["settings"]
    token = lti.deep_link_response(
        platform,
        waiting["deployment_id"],
        settings,
        title,
        custom,
        url_for("lti.launch", _external=True),
    )
    return_url = settings.get("deep_link_return_url", "")
    if urlsplit(return_url).scheme not in ("http", "https"):
        return refused("Your platform gave no address to return to.", 400)
    session.pop(DEEP_LINK)
    page = render_template(
        "lti/deep_link_response.html", return_url=return_url, token=token, title=title
    )
    return page, 200, {"Content-Security-Policy": posting_to(return_url)}


def chosen_link(form):
    """Return the title and custom parameters of what the instructor chose, or None:
    an offered scenario, or a live assignment of a cohort they can see."""
    key = form.get("scenario", "")
    if key:
        if not library.is_offered(key):
            return None
        return library.offered_version(key).title, {"scenario": key}
    for assignment, cohort, title in lti.assignments_to_offer(g.user):
        if form.get("assignment") == str(assignment.id):
            return f"{title} ({cohort.name})", {"assignment": str(assignment.id)}
    return None


def posting_to(address):
    """Return the app's content security policy, letting forms post to this address too."""
    parts = urlsplit(address)
    origin = f"{parts.scheme}://{parts.netloc}".translate({ord(c): None for c in " ;,'\""})
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


def name_of(data):
    """Return the person's name from a launch, or nothing."""
    return data.get("name") or " ".join(
        part for part in (data.get("given_name"), data.get("family_name")) if part
    )


def asked_target(data):
    """Return the (scenario key, assignment id) a launch names, in custom parameters or link."""
    custom = data.get(CLAIM + "custom") or {}
    target = urlsplit(data.get(CLAIM + "target_link_uri") or "")
    query = parse_qs(target.query)
    key = custom.get("scenario") or (query.get("scenario") or [None])[0]
    assignment = custom.get("assignment") or (query.get("assignment") or [None])[0]
    assignment_id = int(assignment) if str(assignment or "").isdigit() else None
    return key, assignment_id


def destination(key, assignment_id):
    """Return where a launch lands: the assignment, the scenario's briefing, or the list."""
    if assignment_id is not None:
        return url_for("play.assignment", assignment_id=assignment_id)
    if key:
        return url_for("play.briefing", key=key)
    return url_for("play.catalogue")


@bp.get("/jwks")
@public
def jwks():
    """Serve the tool's public key set, for platforms to check its signatures."""
    return jsonify(lti.public_key_set())


@lti_cli.command("generate-key")
def generate_key_command():
    """Make a new RSA key pair for the tool and print its key id."""
    click.echo(lti.generate_key().kid)


@lti_cli.command("add-platform")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="The client id it gave this tool.")
@click.option("--deployment-id", "deployment_ids", multiple=True, required=True)
@click.option("--login-url", required=True, help="Its OIDC authorisation endpoint.")
@click.option("--token-url", required=True, help="Its OAuth 2 token endpoint.")
@click.option("--key-set-url", required=True, help="Its public key set (JWKS).")
@click.option("--owner", required=True, help="Username of the admin who owns its cohorts.")
def add_platform_command(issuer, client_id, deployment_ids, login_url, token_url, **more):
    """Register an LMS that may launch the tool."""
    owner = find_user(more["owner"])
    if owner is None or owner.role == "trainee":
        raise click.ClickException(f"There is no trainer or admin called {more['owner']!r}.")
    try:
        lti.add_platform(
            owner, issuer, client_id, deployment_ids, login_url, token_url, more["key_set_url"]
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Registered {issuer}. Set the tool to open in a new window, not embedded.")


@lti_cli.command("list")
def list_command():
    """Print the registered platforms, one per line, and the tool's active key ids."""
    for platform in lti.platforms():
        click.echo(lti.describe(platform))
    for key in lti.active_keys():
        click.echo(f"key {key.kid}")


@lti_cli.command("purge-logins")
def purge_logins_command():
    """Delete LTI logins older than the launch window (safe to run on several machines)."""
    click.echo(f"Deleted {lti.purge_logins()} old LTI logins.")
