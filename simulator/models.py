"""Database tables: accounts, scenario versions, attempts and their steps.

Attempts are pinned to the exact scenario file they began on, and every step a
person takes is one AttemptStep row that is never changed or deleted; an attempt's
result is derived from its steps by `engine.result` (see `attempts.finish_if_ended`).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import (
    JSON,
    CheckConstraint,
    Column,
    Field,
    LargeBinary,
    SQLModel,
    Text,
    UniqueConstraint,
)

# Named constraints let Alembic's batch mode rebuild SQLite tables reliably.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("trainee", "trainer", "admin")
CHOICE_ORDERS = ("file", "shuffled")  # engine.ORDER_RULES
# A CPD assessment mode will join practice; adding it needs a migration of the check.
MODES = ("practice",)


def one_of(column, values):
    """Return a check constraint that keeps a column to a fixed set of values."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def utcnow():
    """Return the current time in UTC (SQLModel stores aware times alike on every database)."""
    return datetime.now(UTC)


class User(SQLModel, table=True):
    """A person who signs in: a trainee, a trainer or an admin."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class ScenarioVersion(SQLModel, table=True):
    """One scenario file exactly as it was loaded, identified by the hash of its bytes."""

    __tablename__ = "scenario_versions"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    scenario_key: str = Field(max_length=64, index=True)
    version: int
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    minutes: int | None = None
    audience: str = Field(max_length=32)
    path: str = Field(max_length=1024)
    source: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The revision of format 1 whose rules accepted the file; it is always read by them.
    format_revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    current: bool = Field(default=False, index=True)
    loaded_at: datetime = Field(default_factory=utcnow)


class Attempt(SQLModel, table=True):
    """One play-through of a scenario version by one person."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("user_id", "scenario_key", "number"),
        one_of("mode", MODES),
        one_of("choice_order", CHOICE_ORDERS),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    scenario_version_id: int = Field(foreign_key="scenario_versions.id", index=True)
    scenario_key: str = Field(max_length=64)
    number: int
    mode: str = Field(default="practice", max_length=16)
    seed: int = Field(sa_type=sa.BigInteger)
    cast_index: int | None = None
    # How this attempt orders the choices it shows (engine.shown_choices): attempts begun
    # before revision 2 of the format keep file order.
    choice_order: str = Field(
        default="file", max_length=16, sa_column_kwargs={"server_default": "file"}
    )
    # When the node for step `shown_step` was first shown, so time to decide leaves out
    # the time spent reading the previous feedback.
    shown_step: int | None = None
    shown_at: datetime | None = None
    # A practice attempt the person chose to give up; it never finishes or counts.
    abandoned_at: datetime | None = None
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    ending: str | None = Field(default=None, max_length=64)
    passed: bool | None = None
    sharing_passed: bool | None = None
    result: dict | None = Field(default=None, sa_column=Column(JSON))


class AttemptStep(SQLModel, table=True):
    """One choice taken in an attempt; the unique step number makes a repeat impossible."""

    __tablename__ = "attempt_steps"
    __table_args__ = (
        UniqueConstraint("attempt_id", "step_number"),
        CheckConstraint("step_number >= 0", name="step_number"),
        CheckConstraint("elapsed_ms >= 0", name="elapsed_ms"),
    )

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="attempts.id", index=True)
    step_number: int
    node_id: str = Field(max_length=64)
    choice_id: str = Field(max_length=64)
    is_decision: bool
    rationale: str | None = Field(default=None, sa_column=Column(Text))
    recorded_at: datetime = Field(default_factory=utcnow)
    elapsed_ms: int = Field(sa_type=sa.BigInteger)


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a recorded step."""


@event.listens_for(AttemptStep, "before_update")
@event.listens_for(AttemptStep, "before_delete")
def refuse_to_rewrite_history(_mapper, _connection, step):
    """Keep the step log append-only: a recorded step is never changed or deleted."""
    raise AppendOnlyError(f"step {step.step_number} of attempt {step.attempt_id} is recorded")
