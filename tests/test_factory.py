"""The app factory: configuration from SIMULATOR_* variables, secrets and cookies."""

import pytest
import sqlalchemy as sa
from helpers import RECORDS_KEY

from simulator import create_app
from simulator.db import database_url, db


def test_testing_config(app):
    """The test config is applied on top of the defaults."""
    assert app.testing
    assert app.config["SECRET_KEY"] == "test secret key"


def test_settings_come_from_simulator_variables(monkeypatch, tmp_path):
    """SIMULATOR_DATABASE_URL and SIMULATOR_SCENARIOS_DIR configure the app."""
    monkeypatch.setenv("SIMULATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("SIMULATOR_SCENARIOS_DIR", str(tmp_path))
    monkeypatch.setenv("SIMULATOR_SECRET_KEY", "from the environment")
    monkeypatch.setenv("SIMULATOR_RECORDS_KEY", RECORDS_KEY)
    app = create_app()
    assert app.config["SCENARIOS_DIR"] == str(tmp_path)
    assert app.secret_key == "from the environment"
    with app.app_context():
        assert db.engine.url.database == str(tmp_path / "x.sqlite")
        db.engine.dispose()


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch):
    """Without SIMULATOR_DATABASE_URL the database is a file in the instance folder."""
    monkeypatch.setenv("SIMULATOR_SECRET_KEY", "x")
    monkeypatch.setenv("SIMULATOR_RECORDS_KEY", RECORDS_KEY)
    app = create_app()
    with app.app_context():
        assert db.engine.url.database.startswith(app.instance_path)
        db.engine.dispose()


def test_secret_key_required_in_production(monkeypatch):
    """A server without SIMULATOR_SECRET_KEY refuses to start outside development."""
    monkeypatch.delenv("SIMULATOR_SECRET_KEY", raising=False)
    monkeypatch.delenv("SIMULATOR_ENV", raising=False)
    with pytest.raises(RuntimeError, match="SIMULATOR_SECRET_KEY"):
        create_app()


def test_development_keeps_a_key_in_the_instance_folder(monkeypatch, tmp_path):
    """In development a random key is created once in the instance folder and reused."""
    monkeypatch.delenv("SIMULATOR_SECRET_KEY", raising=False)
    monkeypatch.setenv("SIMULATOR_ENV", "development")
    config = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}",
        "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "RECORDS_KEY_FILE": str(tmp_path / "records_key"),
    }
    first, second = create_app(config), create_app(config)
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_session_cookie_is_secure(app):
    """Session cookies are Secure, HttpOnly and SameSite outside development."""
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_cookie_flags_on_the_wire(client, trainee):
    """The session cookie set at sign-in carries its security flags."""
    from helpers import sign_in

    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    "given",
    ["postgresql://u@h/d", "postgres://u@h/d", "postgresql+psycopg2://u@h/d"],
)
def test_postgresql_urls_use_psycopg_3(given):
    """Every PostgreSQL URL is driven by psycopg 3."""
    assert database_url(given).drivername == "postgresql+psycopg"


def test_sqlite_pragmas(app):
    """SQLite connections enforce foreign keys and use the write-ahead log."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_numeric_secret_key_stays_text(monkeypatch, tmp_path):
    """A secret key made only of digits is still used as text."""
    monkeypatch.setenv("SIMULATOR_SECRET_KEY", "12345678901234567890")
    monkeypatch.setenv("SIMULATOR_RECORDS_KEY", RECORDS_KEY)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert app.secret_key == "12345678901234567890"


def test_command_line_without_secret_key(monkeypatch, tmp_path, caplog):
    """Commands run without a key, but a server started so refuses every request."""
    import click

    monkeypatch.delenv("SIMULATOR_SECRET_KEY", raising=False)
    monkeypatch.delenv("SIMULATOR_ENV", raising=False)
    with click.Context(click.Command("flask")):
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    response = app.test_client().get("/sign-in")
    assert response.status_code == 500
    assert "SIMULATOR_SECRET_KEY" in caplog.text
    assert "SIMULATOR_SECRET_KEY" not in response.get_data(as_text=True)


def test_flask_run_without_a_secret_key_refuses_to_start(tmp_path):
    """`flask run` outside development stops at once, saying which variable to set."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMULATOR_")}
    env["SIMULATOR_DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite'}"
    flask = Path(sys.executable).with_name("flask")
    done = subprocess.run(
        [str(flask), "run", "--port", "0"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SIMULATOR_SECRET_KEY is not set" in done.stderr
    assert "SIMULATOR_ENV=development" in done.stderr
    assert "Traceback" not in done.stderr
