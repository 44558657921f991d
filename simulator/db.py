"""The database: engine, per-request session, SQLite pragmas and migrations."""

import functools
import inspect
import sqlite3

import psycopg
import sqlalchemy as sa
from flask import g, has_app_context
from flask_alembic import Alembic
from flask_sqlalchemy_lite import SQLAlchemy
from psycopg.pq import TransactionStatus
from sqlmodel import Session, SQLModel

from . import models  # noqa: F401  (registers the tables on SQLModel.metadata)

db = SQLAlchemy(session_options={"class_": Session})
alembic = Alembic(run_mkdir=False, metadatas=SQLModel.metadata)


def init_app(app):
    """Configure the engine from DATABASE_URL and bind the extensions."""
    # No pool_pre_ping: a round trip before every request's first statement, for the rare
    # request after a restart. A connection the server dropped fails that statement
    # instead, and the request runs again on a fresh one (`nothing_ran`, web.errors).
    app.config["SQLALCHEMY_ENGINES"] = {
        "default": {"url": database_url(app.config["DATABASE_URL"])}
    }
    app.config["ALEMBIC"] = {"script_location": str(app.config.get("MIGRATIONS_DIR"))}
    app.config["ALEMBIC_CONTEXT"] = {
        "render_as_batch": True,
        "render_item": render_item,
        "compare_type": True,
    }
    db.init_app(app)
    drop_async_teardowns(app)
    close_quietly_when_away(app)
    alembic.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            sa.event.listen(engine, "connect", set_sqlite_pragmas)
            sa.event.listen(engine, "after_cursor_execute", note_statement)
            if engine.dialect.name == "postgresql":
                keep_prepared_statements(engine)


def drop_async_teardowns(app):
    """Remove the teardown Flask-SQLAlchemy-Lite registers for async sessions.

    The app opens none, but Flask runs any async teardown through asgiref, which starts a
    thread and an event loop at the end of every request: about a twentieth of a worker's
    time under load (bench/README.md). The synchronous sessions' teardown stays.
    """
    funcs = app.teardown_appcontext_funcs
    funcs[:] = [func for func in funcs if not inspect.iscoroutinefunction(func)]


def close_quietly_when_away(app):
    """Let the request's session close even if the database went away after the page.

    Closing rolls back whatever is left; if the server stopped since the view's last
    statement (a restart), that rollback fails. Raised from Flask's teardown, the error
    would turn a page already made into a 500. The connection is dropped all the same, and
    a warning logged.
    """

    def quietly(close):
        @functools.wraps(close)
        def closing(error):
            try:
                close(error)
            except sa.exc.OperationalError:
                app.logger.warning("The database went away as a request ended; page sent")

        return closing

    funcs = app.teardown_appcontext_funcs
    funcs[:] = [
        quietly(func) if func.__module__.startswith("flask_sqlalchemy_lite") else func
        for func in funcs
    ]


def hold(*objects):
    """Keep objects loaded for later in the request alive until it ends.

    The session's identity map holds its objects weakly, so an object read ahead (the
    signed-in person read with the session, an attempt's version read with the attempt)
    would be dropped at once, and the `get` that wants it would read it again.
    """
    g.setdefault("held_objects", []).extend(objects)


def commit_keeping_loaded():
    """Commit the request's session without expiring the objects it has loaded.

    For a commit whose every written value is already set on its objects: the page that
    follows reads them as they are, instead of reloading each row (and each step of a log)
    from the database. A failed commit rolls back, which expires them as ever.
    """
    session = db.session
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


def keep_prepared_statements(engine):
    """End a PostgreSQL transaction that only read with COMMIT, not ROLLBACK.

    psycopg prepares a statement on the server once a connection has run it five times,
    so that PostgreSQL parses and plans it once, but it forgets every statement it has
    prepared at each ROLLBACK. SQLAlchemy ends with ROLLBACK every transaction a request
    leaves open, which is every page's reads: so no statement was ever prepared, and
    PostgreSQL planned each one afresh, which cost it more than running them
    (bench/README.md). A transaction that ran nothing but SELECTs changed nothing, so
    COMMIT ends it exactly as ROLLBACK would (its locks and its transaction-local settings
    end either way), and the statements stay prepared. Any other statement, or an error
    (the transaction then is aborted, not in progress), leaves a real ROLLBACK.
    """

    @sa.event.listens_for(engine, "begin")
    def began(connection):
        connection.info["only_read"] = True

    @sa.event.listens_for(engine, "before_cursor_execute")
    def statement(connection, _cursor, text, *_args):
        info = connection.info
        info["read_before"] = info.get("only_read", False)
        if text.lstrip()[:6].upper() != "SELECT":
            info["only_read"] = False

    @sa.event.listens_for(engine, "rollback")
    def rolling_back(connection):
        if connection.invalidated or not connection.info.pop("only_read", False):
            return  # a connection found broken is dropped, not ended
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection.info.transaction_status != TransactionStatus.INTRANS:
            return
        try:
            dbapi_connection.commit()  # SQLAlchemy's ROLLBACK then finds nothing to end
        except psycopg.Error:
            pass  # the connection is broken: the ROLLBACK that follows fails as it would have


def wrote_nothing(connection):
    """Say that the statement just run on `connection` changed no row (an insert that found
    its row taken did nothing): its transaction has only read if it had before, so it can
    still end with COMMIT (`keep_prepared_statements`)."""
    connection.info["only_read"] = connection.info.get("read_before", False)


def note_statement(*_):
    """Note, for the request under way, that a statement of its own reached the database."""
    if has_app_context():
        g.statement_ran = True


def nothing_ran():
    """Say whether no statement of the request under way has reached the database yet.

    A connection that fails then was dead before the request used it (the server restarted
    since its last use): nothing the request did was seen by the database, so running it
    again from the start, whatever its method, does nothing twice.
    """
    return not g.get("statement_ran")


def database_url(url):
    """Send PostgreSQL URLs through psycopg 3, whatever driver they name."""
    parsed = sa.make_url(url)
    if parsed.drivername.split("+")[0] in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def set_sqlite_pragmas(dbapi_connection, _record):
    """Enforce foreign keys, use the write-ahead log and wait for locks on SQLite."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def render_item(type_, obj, autogen_context):
    """Let autogenerated migrations import sqlmodel when they use its column types."""
    if type_ == "type" and type(obj).__module__.startswith("sqlmodel"):
        autogen_context.imports.add("import sqlmodel")
    return False
