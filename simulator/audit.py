"""The audit log: an append-only record of every trainer and admin action."""

from sqlalchemy import func
from sqlmodel import select

from .db import db
from .models import AuditEntry, User

PAGE_SIZE = 50


def record(actor, action, target, summary, **details):
    """Add an entry to the session (committed with the action it records).

    `target` is a model instance, or a (type, id) pair; `summary` is one plain sentence.
    """
    if isinstance(target, tuple):
        target_type, target_id = target
    else:
        target_type, target_id = type(target).__tablename__, target.id
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        summary=summary,
        details=details or None,
    )
    db.session.add(entry)
    return entry


def entries(page=1, actor_id=None, target=None):
    """Return one page of entries, newest first, with their actors, and the total count."""
    statement = select(AuditEntry, User).join(User, AuditEntry.actor_id == User.id, isouter=True)
    counted = select(func.count()).select_from(AuditEntry)
    if actor_id is not None:
        statement = statement.where(AuditEntry.actor_id == actor_id)
        counted = counted.where(AuditEntry.actor_id == actor_id)
    if target is not None:
        target_type, target_id = target
        condition = (AuditEntry.target_type == target_type) & (AuditEntry.target_id == target_id)
        statement, counted = statement.where(condition), counted.where(condition)
    statement = statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    rows = db.session.exec(statement.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return list(rows), db.session.exec(counted).one()
