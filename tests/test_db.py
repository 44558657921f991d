"""The migrations build exactly the tables the models describe, on either database."""

import os

import psycopg
import pytest
from flask_alembic import Alembic
from helpers import (
    PASSWORD,
    csrf_token,
    gen_user,
    prepared_statements_test,
    sign_in,
    start,
    text_of,
)
from sqlalchemy import inspect
from sqlmodel import select

from simulator.db import alembic, db, render_item
from simulator.models import AttemptStep, User


def test_migrations_match_models(app):
    """No model change is missing a migration."""
    with app.app_context():
        assert not alembic.needs_upgrade()
        assert alembic.compare_metadata() == []


def test_tables_exist(app):
    """`flask db upgrade` created every table, with the step log's unique constraint."""
    with app.app_context():
        inspector = inspect(db.engine)
        assert {"users", "scenario_versions", "attempts", "attempt_steps"} <= set(
            inspector.get_table_names()
        )
        uniques = inspector.get_unique_constraints("attempt_steps")
        assert ["attempt_id", "step_number"] in [u["column_names"] for u in uniques]


def test_downgrade_and_upgrade(app):
    """Migrations can be undone and redone."""
    with app.app_context():
        alembic.downgrade("base")
        assert "attempts" not in inspect(db.engine).get_table_names()
        alembic.upgrade()
        assert "attempts" in inspect(db.engine).get_table_names()


def test_alembic_is_configured_for_sqlite_batches(app):
    """Generated migrations use batch mode and import sqlmodel when needed."""
    assert isinstance(alembic, Alembic)
    context = app.config["ALEMBIC_CONTEXT"]
    assert context["render_as_batch"] is True
    assert context["render_item"] is render_item


def test_render_item_adds_sqlmodel_import():
    """A column of a sqlmodel type makes the migration import sqlmodel."""
    from types import SimpleNamespace

    from sqlmodel.sql.sqltypes import AutoString

    context = SimpleNamespace(imports=set())
    assert render_item("type", AutoString(length=5), context) is False
    assert context.imports == {"import sqlmodel"}


def test_database_checks_roles(app):
    """The database itself refuses an unknown role."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from simulator.models import User

    with app.app_context():
        db.session.add(User(username="x", password_hash="x", role="superuser"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def drop_connections(postgres):
    """Make the server end every connection to the test database, as a restart does."""
    dsn = f"host=127.0.0.1 port={postgres.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as connection:
        return connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = 'simulator_test' AND pid <> pg_backend_pid()"
        ).fetchall()


@pytest.mark.skipif(
    os.environ.get("SIMULATOR_TEST_DATABASE") != "postgresql",
    reason="needs a database server whose connections can be dropped: PostgreSQL only",
)
@pytest.mark.parametrize("request_kind", ["signed-in page", "step", "sign-in"])
def test_a_dropped_connection_is_replaced_not_shown(make_app, postgres, request_kind):
    """When the server drops the app's pooled connections (it restarted), the next request
    of any method still succeeds, on a fresh connection, and does its work once: the pool
    does not ping before each request, so the dead connection fails the request's first
    statement, and the request runs again from the start."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    gen_user(app)
    client = app.test_client()
    sign_in(client)
    attempt_url = start(client)
    token = csrf_token(client, attempt_url)
    visitor = app.test_client()
    visitor_token = csrf_token(visitor, "/sign-in")
    assert drop_connections(postgres)
    if request_kind == "signed-in page":
        response = client.get(attempt_url)
        assert response.status_code == 200 and "Sign out" in text_of(response)
    elif request_kind == "step":
        response = client.post(
            attempt_url,
            data={
                "step": "0",
                "choice": "interpreter",
                "rationale": "She is at risk.",
                "csrf_token": token,
            },
        )
        assert response.status_code == 303
        with app.app_context():
            steps = db.session.exec(select(AttemptStep)).all()
        assert [(s.step_number, s.choice_id) for s in steps] == [(0, "interpreter")]
    else:
        form = {"username": "trainee", "password": PASSWORD, "csrf_token": visitor_token}
        response = visitor.post("/sign-in", data=form)
        assert response.status_code == 303
        assert visitor.get("/account").status_code == 200


def test_a_request_starts_no_thread_and_closes_its_session(app, client):
    """No async teardown runs (Flask would start a thread and an event loop for it at the
    end of every request), and the request's session still hands its connection back."""
    import inspect as python_inspect
    import threading

    assert not any(python_inspect.iscoroutinefunction(f) for f in app.teardown_appcontext_funcs)
    started = []
    original = threading.Thread.start
    threading.Thread.start = lambda thread: started.append(thread) or original(thread)
    try:
        assert client.get("/sign-in").status_code == 200
    finally:
        threading.Thread.start = original
    assert started == []
    with app.app_context():
        assert db.engine.pool.checkedout() == 0


PREPARED = "SELECT count(*) FROM pg_prepared_statements"


@prepared_statements_test
def test_transactions_that_only_read_keep_the_statements_prepared(app):
    """psycopg prepares a statement once a connection has run it five times, and forgets
    them all at a ROLLBACK. A transaction that only read (as every page's is) ends with
    COMMIT instead, so its statements stay prepared (parsed and planned once); one that
    wrote is still rolled back, and what it wrote is gone."""
    from sqlalchemy import text

    gen_user(app, "writer")
    read = select(User.id).where(User.username == "writer")
    with app.app_context(), db.engine.connect() as connection:
        for _ in range(7):
            connection.execute(read).all()
            connection.rollback()  # as the end of a request that only read
            status = connection.connection.dbapi_connection.info.transaction_status
            assert status == psycopg.pq.TransactionStatus.IDLE
        assert connection.exec_driver_sql(PREPARED).scalar_one() >= 1
        connection.rollback()
        connection.execute(
            text("UPDATE users SET display_name = 'Changed' WHERE username = 'writer'")
        )
        connection.execute(read).all()
        connection.rollback()
        names = text("SELECT display_name FROM users WHERE username = 'writer'")
        assert connection.execute(names).scalar_one() != "Changed"
        assert connection.exec_driver_sql(PREPARED).scalar_one() == 0  # a real ROLLBACK


@prepared_statements_test
def test_a_failed_statement_is_rolled_back(app):
    """A transaction whose SELECT failed is aborted, not in progress: it gets a real
    ROLLBACK, and the connection goes on."""
    from sqlalchemy import text

    with app.app_context(), db.engine.connect() as connection:
        with pytest.raises(Exception, match="division by zero"):
            connection.execute(text("SELECT 1 / 0"))
        connection.rollback()
        assert connection.execute(text("SELECT 2")).scalar_one() == 2


@prepared_statements_test
def test_pages_shown_again_are_served_by_prepared_statements(make_app):
    """A page shown again and again (its request only reads) leaves the connection's
    statements prepared."""
    app = make_app()
    gen_user(app)
    client = app.test_client()
    sign_in(client)
    url = start(client)
    for _ in range(12):  # enough for five on each connection, should the pool hold two
        assert client.get(url).status_code == 200
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql(PREPARED).scalar_one() >= 2  # session, attempt
