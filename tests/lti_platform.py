"""A real LTI 1.3 platform (lti1p3platform) on loopback, with the small Flask adapter it needs.

It serves its public key set and its OIDC authorisation endpoint, which answers the tool's
login redirect with the id_token form a browser would post to the tool's launch URL.
"""

import re
import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
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
        return f'<form method="post" action="{escape(launch_data["launch_url"])}">{fields}</form>'


class Platform:
    """An LMS on a loopback port; `next_launch` says who and what the next launch carries."""

    def __init__(self, tool_url="http://localhost"):
        self.private_key = private_key_pem()
        self.public_key = public_key_pem(self.private_key)
        self.tool_url = tool_url
        self.next_launch = {}
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
        """Return the platform's own small web app: its key set and its auth endpoint."""
        app = Flask("platform")
        app.add_url_rule("/jwks", "jwks", self.jwks)
        app.add_url_rule("/auth", "auth", self.authorise, methods=["GET", "POST"])
        return app

    def jwks(self):
        """Serve the platform's public key set."""
        return jsonify({"keys": self.keys()})

    def keys(self):
        """Return the platform's public keys."""
        return self.config().get_registration().get_jwks()

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
        return launch.lti_launch()


def form_of(html):
    """Return the action and fields of the platform's launch form."""
    return ACTION.search(html).group(1), dict(FIELD.findall(html))
