"""Fixtures: an app on its own fresh database per test, on SQLite or PostgreSQL.

Set SIMULATOR_TEST_DATABASE=postgresql to run every database test against a real
PostgreSQL server that this session starts (see tests/postgres.py) and stops.
"""

import os
import shutil

import pytest
from helpers import PASSWORD, RECORDS_KEY, gen_user, post, sign_in, write_scenario
from lti_platform import CLIENT_ID, DEPLOYMENT_ID, ISSUER, Platform
from postgres import Cluster
from sqlmodel import SQLModel, select

from simulator import accounts, create_app, lti
from simulator.db import alembic, db
from simulator.models import User

DATABASE = os.environ.get("SIMULATOR_TEST_DATABASE", "sqlite")


def pytest_report_header():
    """Say which database the tests use."""
    return f"database: {DATABASE}"


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, run only the tests that touch the database, and not those marked
    `pages`: they check what pages show, which the database underneath does not change."""
    if DATABASE != "postgresql":
        return
    selected = [
        item
        for item in items
        if "database_url" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("pages") is None
    ]
    deselected = [item for item in items if item not in selected]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


class AuthActions:
    """Sign a test client in and out through the real forms."""

    def __init__(self, client):
        self._client = client

    def login(self, username="trainee", password=PASSWORD):
        """Sign in through the form."""
        return sign_in(self._client, username, password)

    def logout(self):
        """Sign out through the form."""
        return post(self._client, "/sign-out")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Hash passwords cheaply in tests; the scheme (Argon2id) and the slots stay the same."""
    monkeypatch.setattr(accounts, "hasher", accounts.SlottedHasher(time_cost=1, memory_cost=1024))


@pytest.fixture(autouse=True)
def _push_request_context():
    """Undo pytest-flask's shared request context: each request gets its own, as in production."""
    yield


def migrate(database_url, tmp_path):
    """Run the migrations on a database."""
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SCENARIOS_DIR": str(tmp_path)}
    )
    with app.app_context():
        alembic.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def postgres():
    """Start a throwaway PostgreSQL cluster for the session, if the tests use PostgreSQL."""
    if DATABASE != "postgresql":
        yield None
        return
    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def migrated_template(postgres, tmp_path_factory):
    """Migrate one database for the session; each test starts from it, emptied or copied."""
    folder = tmp_path_factory.mktemp("template")
    if postgres is not None:
        url = postgres.create_database("simulator_test")
        migrate(url, folder)
        return url
    path = folder / "template.sqlite"
    migrate(f"sqlite:///{path}", folder)
    return path


@pytest.fixture
def database_url(postgres, migrated_template, tmp_path):
    """Return the URL of an empty, migrated database for one test."""
    if postgres is not None:
        postgres.empty_tables("simulator_test", [t.name for t in SQLModel.metadata.sorted_tables])
        return migrated_template
    path = tmp_path / "simulator.sqlite"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def scenarios_dir(tmp_path):
    """Return a scenarios folder holding the small doorstep scenario."""
    folder = tmp_path / "scenarios"
    write_scenario(folder)
    return folder


@pytest.fixture
def make_app(database_url, scenarios_dir):
    """Return a factory for apps sharing this test's database, as separate processes would."""
    apps = []

    def make(**config):
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test secret key",
                "RECORDS_KEY": RECORDS_KEY,
                "DATABASE_URL": database_url,
                "SCENARIOS_DIR": str(scenarios_dir),
                "LOAD_LIBRARY_ON_START": True,
                **config,
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app):
    """Return the app under test."""
    return make_app()


@pytest.fixture
def client(app):
    """Return a test client that keeps no context between requests.

    pytest-flask's own client is used in a `with` block, which keeps the last request's
    app context pushed, so the next request (even from another client) shares its `g`.
    """
    return app.test_client()


@pytest.fixture
def runner(app):
    """Return a runner for the app's command-line commands."""
    return app.test_cli_runner()


@pytest.fixture
def trainee(app):
    """Create a trainee account called 'trainee' and return its id."""
    return gen_user(app, "trainee", "trainee")


@pytest.fixture
def auth(client):
    """Return sign-in and sign-out actions for the test client."""
    return AuthActions(client)


@pytest.fixture
def signed_in(client, auth, trainee):
    """Return a client signed in as the trainee."""
    assert auth.login().status_code == 303
    return client


# An LTI platform on loopback, registered with the tool (tests/test_lti*.py).


@pytest.fixture
def platform():
    """Run an LTI platform on loopback for the test."""
    running = Platform().start()
    yield running
    running.stop()


@pytest.fixture
def registered(app, platform):
    """Register the platform with the tool, owned by an admin, make the tool's key, and give
    the platform the tool's key set (its token endpoint checks the tool's assertions)."""
    gen_user(app, "admin", "admin")
    with app.app_context():
        admin = db.session.exec(select(User).where(User.username == "admin")).one()
        lti.add_platform(
            admin,
            ISSUER,
            CLIENT_ID,
            [DEPLOYMENT_ID],
            f"{platform.url}/auth",
            f"{platform.url}/token",
            f"{platform.url}/jwks",
        )
        lti.generate_key()
        platform.tool_jwks = lti.public_key_set()  # for its service token endpoint
    return platform
