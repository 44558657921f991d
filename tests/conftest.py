"""Fixtures: an app on its own fresh database per test, on SQLite or PostgreSQL.

Set SIMULATOR_TEST_DATABASE=postgresql to run every database test against a real
PostgreSQL server that this session starts (see tests/postgres.py) and stops.
"""

import itertools
import os
import shutil

import pytest
from argon2 import PasswordHasher
from helpers import PASSWORD, gen_user, sign_in, write_scenario
from postgres import Cluster

from simulator import auth, create_app
from simulator.db import alembic, db

DATABASE = os.environ.get("SIMULATOR_TEST_DATABASE", "sqlite")
_database_names = (f"test_{n}" for n in itertools.count(1))


def pytest_report_header():
    """Say which database the tests use."""
    return f"database: {DATABASE}"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Hash passwords cheaply in tests; the scheme (Argon2id) stays the same."""
    monkeypatch.setattr(auth, "hasher", PasswordHasher(time_cost=1, memory_cost=1024))


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
    """Migrate one database for the session; each test gets a copy of it."""
    folder = tmp_path_factory.mktemp("template")
    if postgres is not None:
        migrate(postgres.create_database("template_simulator"), folder)
        return "template_simulator"
    path = folder / "template.sqlite"
    migrate(f"sqlite:///{path}", folder)
    return path


@pytest.fixture
def database_url(postgres, migrated_template, tmp_path):
    """Return the URL of a fresh, migrated database for one test."""
    if postgres is not None:
        return postgres.create_database(next(_database_names), template=migrated_template)
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
                "DATABASE_URL": database_url,
                "SCENARIOS_DIR": str(scenarios_dir),
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
def signed_in(client, trainee):
    """Return a client signed in as the trainee."""
    response = sign_in(client, "trainee", PASSWORD)
    assert response.status_code == 303
    return client
