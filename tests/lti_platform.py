"""A real LTI 1.3 platform (lti1p3platform) on loopback, with the small Flask adapter it needs.

It serves its public key set, a link's launch start (`/launch/<subject>`: the OIDC login
initiation, a redirect to the tool's login URL), and its OIDC authorisation endpoint, which
answers the tool's login redirect with the id_token form a browser posts to the tool's launch
URL: a form of its own with a button, not lti1p3platform's, whose inline script submits it.

For Assignment and Grade Services it also serves a token endpoint (`/token`), which checks
the tool's client-credentials assertion against the tool's key set (`tool_jwks`), and a
line item's scores endpoint (`/lineitems/<id>/scores`), which keeps each score it is given
in `scores`; while `down` is set both answer 503, as an LMS being restarted does. For Names
and Roles Provisioning it lists `members` at `/memberships`, to a service token.
"""

import re
import secrets
import threading

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, redirect, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request
from markupsafe import escape
from werkzeug.serving import make_server

ISSUER = "https://lms.example.test"
CLIENT_ID = "safe-to-report"
DEPLOYMENT_ID = "deployment-1"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
ADMINISTRATOR = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
FIELD = re.compile(r'name="(\w+)" value="([^"]*)"')
ACTION = re.compile(r'action="([^"]*)"')


def private_key_pem():
    """Return a new RSA private key, as PEM text."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(private_pem):
    """Return the public half of a PEM private key, as PEM text."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class FlaskPlatformRequest(Request):
    """lti1p3platform's request, read from Flask's."""

    def build_metadata(self, flask_request):
        """Return the parts of the request the platform reads."""
        return {
            "method": flask_request.method,
            "form_data": flask_request.form.to_dict(),
            "json": None,
            "get_data": flask_request.args.to_dict(),
            "headers": dict(flask_request.headers),
            "content_type": flask_request.content_type,
            "path": flask_request.path,
        }


class PlatformConfig(LTI1P3PlatformConfAbstract):
    """The platform's one registration: this tool."""

    def init_platform_config(self, **kwargs):
        """Keep the registration's details."""
        self.details = kwargs

    def get_registration_by_params(self, **kwargs):
        """Return the registration of the tool."""
        details = self.details
        return (
            Registration()
            .set_iss(ISSUER)
            .set_client_id(CLIENT_ID)
            .set_deployment_id(DEPLOYMENT_ID)
            .set_launch_url(details["launch_url"])
            .set_oidc_login_url(details["login_url"])
            .set_deeplink_launch_url(details["launch_url"])
            .set_platform_public_key(details["public_key"])
            .set_platform_private_key(details["private_key"])
        )


class FlaskPlatformLaunch(LTIAdvantageMessageLaunchAbstract):
    """lti1p3platform's launch, answered with a plain HTML form (the test posts it)."""

    def render_launch_form(self, launch_data, **kwargs):
        """Return the form a browser would post to the tool."""
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{escape(launch_data[name])}">'
            for name in ("id_token", "state")
        )
        action = escape(launch_data["launch_url"])
        return (
            '<!DOCTYPE html><html lang="en"><title>Launching</title>'
            f'<form method="post" action="{action}">{fields}'
            '<button type="submit">Continue to the tool</button></form></html>'
        )


class FlaskPlatformLogin(OIDCLoginAbstract):
    """lti1p3platform's OIDC login initiation, answered with a redirect to the tool."""

    def set_lti_message_hint(self, **kwargs):
        """Keep the hint the tool sends back to the auth endpoint: the link's id."""
        self._lti_message_hint = kwargs["lti_message_hint"]

    def get_redirect(self, url):
        """Send the browser to the tool's login URL."""
        return redirect(url, 302)


class Platform:
    """An LMS on a loopback port; `next_launch` says who and what the next launch carries."""

    def __init__(self, tool_url="http://localhost"):
        self.private_key = private_key_pem()
        self.public_key = public_key_pem(self.private_key)
        self.tool_url = tool_url
        self.next_launch = {}
        self.tool_jwks = {"keys": []}
        self.tokens = set()
        self.scores = []  # (line item id, score) as received
        self.down = False
        self.members = []  # the course's membership, as NRPS lists it
        self.refused = set()  # subjects whose scores the gradebook refuses (not enrolled)
        self.app = self.make_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        """Start serving; return the platform."""
        self.thread.start()
        return self

    def stop(self):
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def config(self):
        """Return the platform's configuration of the tool."""
        return PlatformConfig(
            launch_url=f"{self.tool_url}/lti/launch",
            login_url=f"{self.tool_url}/lti/login",
            public_key=self.public_key,
            private_key=self.private_key,
        )

    def make_app(self):
        """Return the platform's own small web app: key set, launch start and auth endpoint."""
        app = Flask("platform")
        app.add_url_rule("/jwks", "jwks", self.jwks)
        app.add_url_rule("/launch/<subject>", "launch", self.start_launch)
        app.add_url_rule("/auth", "auth", self.authorise, methods=["GET", "POST"])
        app.add_url_rule("/token", "token", self.token, methods=["POST"])
        app.add_url_rule("/lineitems/<item>/scores", "scores", self.take_score, methods=["POST"])
        app.add_url_rule("/memberships", "memberships", self.memberships)
        return app

    def memberships(self):
        """List the course's members to a service token, as an LMS does."""
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return jsonify({"error": "invalid_token"}), 401
        body = {"id": f"{self.url}/memberships", "members": self.members}
        response = jsonify(body)
        response.content_type = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
        return response

    def token(self):
        """Give a service token for a client assertion signed by one of the tool's keys."""
        if self.down:
            return "Down for maintenance", 503
        form = request.form
        if form.get("grant_type") != "client_credentials" or not form.get("client_assertion"):
            return jsonify({"error": "invalid_request"}), 400
        try:
            assertion = form["client_assertion"]
            kid = jwt.get_unverified_header(assertion).get("kid")
            key = jwt.PyJWKSet.from_dict(self.tool_jwks)[kid].key
            claims = jwt.decode(assertion, key, algorithms=["RS256"], audience=f"{self.url}/token")
        except (jwt.PyJWTError, KeyError):
            return jsonify({"error": "invalid_client"}), 401
        if claims["iss"] != CLIENT_ID or claims["sub"] != CLIENT_ID:
            return jsonify({"error": "invalid_client"}), 401
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return jsonify(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": form.get("scope", ""),
            }
        )

    def take_score(self, item):
        """Keep a score posted with a service token, as a gradebook does."""
        if self.down:
            return "Down for maintenance", 503
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return jsonify({"error": "invalid_token"}), 401
        if request.content_type != "application/vnd.ims.lis.v1.score+json":
            return jsonify({"error": "unsupported media type"}), 415
        score = request.get_json(force=True)
        if score.get("userId") in self.refused:
            return jsonify({"error": "not enrolled"}), 400
        self.scores.append((item, score))
        return "", 204

    def jwks(self):
        """Serve the platform's public key set."""
        return jsonify({"keys": self.keys()})

    def keys(self):
        """Return the platform's public keys."""
        return self.config().get_registration().get_jwks()

    def start_launch(self, subject):
        """Start a launch, as an LMS does when a person follows a link: log in at the tool."""
        login = FlaskPlatformLogin(FlaskPlatformRequest(request), self.config())
        login.set_lti_message_hint(
            lti_message_hint=self.next_launch.get("resource_link", "link-1")
        )
        return login.initiate_login(subject)

    def authorise(self):
        """Answer the tool's authorisation request with a signed launch, as an LMS does."""
        launch = FlaskPlatformLaunch(FlaskPlatformRequest(request), self.config())
        wanted = self.next_launch
        launch.set_user_data(
            request.args["login_hint"], wanted.get("roles", [LEARNER]), wanted.get("name")
        )
        launch.set_resource_link_claim(wanted.get("resource_link", "link-1"))
        if wanted.get("context"):
            context_id, title = wanted["context"]
            launch.set_launch_context_claim(context_id, context_title=title)
        if wanted.get("custom"):
            launch.set_custom_parameters_claim(wanted["custom"])
        launch.set_id_token_expiration(wanted.get("expires_in", 300))
        if wanted.get("deep_link"):
            launch.set_dl(f"{self.url}/return", accept_types={"ltiResourceLink"})
        if wanted.get("target"):
            launch.set_launch_url(wanted["target"])
        if wanted.get("memberships"):
            launch.set_nrps(f"{self.url}/memberships")
        if wanted.get("lineitem"):
            launch.set_ags(
                lineitems_url=f"{self.url}/lineitems",
                lineitem_url=f"{self.url}/lineitems/{wanted['lineitem']}",
                allow_creating_lineitems=False,
            )
        return launch.lti_launch()


def form_of(html):
    """Return the action and fields of the platform's launch form."""
    return ACTION.search(html).group(1), dict(FIELD.findall(html))
