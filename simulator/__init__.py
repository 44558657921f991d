"""Safe to Report: a training simulator for domestic-abuse scenarios."""

import os
import secrets
from pathlib import Path

import click
from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.middleware.proxy_fix import ProxyFix

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEXT_SETTINGS = (
    "SECRET_KEY", "RECORDS_KEY", "DATABASE_URL", "SCENARIOS_DIR", "ENV", "HASH_SLOTS_DIR",
)  # fmt: skip


def create_app(test_config=None):
    """Create and configure the Flask application."""
    # No static route of Flask's own: simulator/assets.py serves the hashed build of static/.
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder=None,
    )
    app.config.from_mapping(
        DATABASE_URL="sqlite:///simulator.sqlite",
        SCENARIOS_DIR=str(PROJECT_ROOT / "scenarios"),
        MIGRATIONS_DIR=str(PROJECT_ROOT / "migrations"),
        ASSETS_DIR=str(PROJECT_ROOT / "static" / "dist"),
        ENV="production",
        LOAD_LIBRARY_ON_START=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,
        # A form stays valid for as long as its session: a trainee may read for a long time.
        WTF_CSRF_TIME_LIMIT=None,
        # Server-side sessions (sessions.py): idle and absolute timeouts, never during a
        # candidate's assessment attempt.
        SESSION_IDLE_MINUTES=60,
        SESSION_HOURS=12,
        # How many proxies in front of the app set X-Forwarded-For (deploy/: nginx, 1): the
        # client's address for sign-in throttling is read from them. 0 trusts none.
        TRUSTED_PROXIES=0,
        # Password hashes at once on this machine, across its processes (hashslots.py):
        # one per core; 0 for no limit. Their lock files go in HASH_SLOTS_DIR.
        HASH_SLOTS=os.cpu_count() or 1,
        HASH_SLOTS_DIR=None,
    )
    app.config.from_prefixed_env("SIMULATOR")
    if test_config is not None:
        app.config.from_mapping(test_config)
    for key in TEXT_SETTINGS:
        # from_prefixed_env reads values as JSON: a key of digits would become a number.
        if app.config.get(key) is not None:
            app.config[key] = str(app.config[key])
    if is_development(app):
        # Plain http on 127.0.0.1 during development: a Secure cookie would not be sent.
        app.config["SESSION_COOKIE_SECURE"] = False
    configure_secret_key(app)
    configure_records_key(app)
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    configure_hash_slots(app)
    register_extensions(app)
    register_blueprints(app)
    trust_proxies(app)
    return app


def configure_hash_slots(app):
    """Limit the password hashes this machine's processes run at once (hashslots.py)."""
    from . import hashslots

    folder = app.config["HASH_SLOTS_DIR"] or hashslots.default_folder()
    hashslots.configure(app.config["HASH_SLOTS"], folder)


def trust_proxies(app):
    """Read the client's address from X-Forwarded-For, set by TRUSTED_PROXIES proxies.

    Only the address: the scheme (X-Forwarded-Proto) is the WSGI server's to trust, as
    gunicorn does for the local nginx alone (deploy/gunicorn.conf.py).
    """
    count = int(app.config["TRUSTED_PROXIES"])
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=0, x_host=0)


def is_development(app):
    """Say whether the app runs for local development (debug mode or SIMULATOR_ENV)."""
    return app.debug or app.config["ENV"] == "development"


def configure_secret_key(app):
    """Require SIMULATOR_SECRET_KEY, except in development and tests."""
    if app.config.get("SECRET_KEY"):
        return
    if app.testing:
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    if is_development(app):
        app.config["SECRET_KEY"] = development_secret_key(app)
        return
    context = click.get_current_context(silent=True)
    if context is None:
        raise RuntimeError(MISSING_KEY)
    if starts_a_server(context):
        raise click.ClickException(MISSING_KEY)  # printed as one line, with no traceback
    # Command-line tools that never sign anyone in (validate, db upgrade) need no key;
    # any server started some other way still refuses every request until one is set.
    app.before_request(refuse_without_secret_key)


MISSING_KEY = (
    "SIMULATOR_SECRET_KEY is not set. Set it to a long random string "
    "(for example the output of: python -c 'import secrets; print(secrets.token_hex())'), "
    "or set SIMULATOR_ENV=development on a developer's machine."
)
SERVER_COMMANDS = ("run", "shell")


def starts_a_server(context):
    """Say whether the command being run (`flask run`, say) would serve or use sessions."""
    while context is not None:
        if context.info_name in SERVER_COMMANDS:
            return True
        context = context.parent
    return False


def refuse_without_secret_key():
    """Stop any request while no secret key is configured."""
    raise RuntimeError("SIMULATOR_SECRET_KEY is not set; the app will not serve requests.")


def development_secret_key(app, name="secret_key"):
    """Read, or create once, a random key in the instance folder (or at `<NAME>_FILE`)."""
    path = Path(app.config.get(f"{name.upper()}_FILE") or Path(app.instance_path) / name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip()


def configure_records_key(app):
    """Read the keys that chain and seal the records (SIMULATOR_RECORDS_KEY, see chain.py).

    Required like the secret key; development keeps a generated key, with id "dev", in the
    instance folder, and tests get a random one. The keyring goes in
    `app.extensions["records_keyring"]`, left out for command-line tools run without it.
    """
    from .chain import KeyringError, parse_keyring

    text = app.config.get("RECORDS_KEY") or default_records_key(app)
    if text is None:
        return
    try:
        app.extensions["records_keyring"] = parse_keyring(text)
    except KeyringError as error:
        raise startup_error(f"SIMULATOR_RECORDS_KEY cannot be used: {error}.") from None


def default_records_key(app):
    """Return the records key to use when none is set, or None where a tool may run without."""
    if app.testing:
        return f"test:{secrets.token_hex(32)}"
    if is_development(app):
        return f"dev:{development_secret_key(app, 'records_key')}"
    context = click.get_current_context(silent=True)
    if context is None or starts_a_server(context):
        raise startup_error(MISSING_RECORDS_KEY)
    return None


MISSING_RECORDS_KEY = (
    "SIMULATOR_RECORDS_KEY is not set. Set it to a key id and a random secret of at least "
    "32 bytes, as id:secret (for example k1: and the output of: "
    "python -c 'import secrets; print(secrets.token_hex())'), "
    "or set SIMULATOR_ENV=development on a developer's machine."
)


def startup_error(message):
    """Return the error that stops start-up: one line on the command line, else raised."""
    if click.get_current_context(silent=True) is not None:
        return click.ClickException(message)
    return RuntimeError(message)


def register_extensions(app):
    """Bind the module-level extensions to the app."""
    from . import db, web
    from .sessions import DatabaseSessions
    from .web import assets

    assets.init_app(app)
    db.init_app(app)
    web.init_app(app)
    app.session_interface = DatabaseSessions()


def register_blueprints(app):
    """Register blueprints, error pages and command-line commands."""
    from . import cli, commands, library
    from .web import about, account, admin, auth, author, errors, guide, health, lti, play, train

    app.register_blueprint(auth.bp)
    app.register_blueprint(play.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(train.bp)
    app.register_blueprint(author.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(about.bp)
    app.register_blueprint(guide.bp)
    lti.init_app(app)
    errors.init_app(app)
    library.init_app(app)
    cli.init_app(app)
    commands.init_app(app)
