"""`/healthz` for load balancers: the database answers and its migrations are current."""

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from flask import Blueprint, current_app

from ..db import alembic, db
from .auth import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Answer 200 if the database answers at the migrations' head, else 503 and why."""
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError:
        current_app.logger.warning("Health check: the database did not answer", exc_info=True)
        return answer({"database": "unreachable"}, 503)
    if current != migration_heads():
        return answer({"database": "ok", "migrations": "not current"}, 503)
    return answer({"database": "ok", "migrations": "current"}, 200)


def migration_heads():
    """Return the head revisions of the migrations folder, read once per process."""
    heads = current_app.extensions.get("migration_heads")
    if heads is None:
        heads = set(alembic.script_directory.get_heads())
        current_app.extensions["migration_heads"] = heads
    return heads


def answer(body, status):
    """Return a short JSON answer that no cache keeps."""
    return body, status, {"Cache-Control": "no-store"}
