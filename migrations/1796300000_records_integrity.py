"""Records integrity: a keyed chain over each attempt, and triggers that refuse changes

Revision ID: 1796300000
Revises: 1796200000
Create Date: 2026-12-02 10:00:00

Steps gain the hash of their rationale and a keyed link to the step before (with the
key's id); attempts gain the seal made when they finish (chain.py). Steps recorded before
have no link and are reported as not chained. The database now refuses UPDATE, DELETE
and (on PostgreSQL) TRUNCATE of the append-only records and of finished attempts, unless
a row is in `record_unlocks` (triggers.py; records.unlocked is the one logged way past).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from simulator import triggers

# revision identifiers, used by Alembic.
revision: str = "1796300000"
down_revision: str | Sequence[str] | None = "1796200000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The append-only tables at this revision (later revisions may guard more).
APPEND_ONLY = (
    "attempt_steps",
    "attempt_events",
    "assessment_overrides",
    "rationale_marks",
    "audit_log",
)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "record_unlocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_record_unlocks_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_unlocks")),
    )
    with op.batch_alter_table("attempt_steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rationale_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("link_key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("seal", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("seal_key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )

    # After the batches above: on SQLite they may rebuild the tables, dropping triggers.
    triggers.install(op.get_bind(), APPEND_ONLY)


def downgrade() -> None:
    """Downgrade schema."""
    triggers.drop(op.get_bind(), APPEND_ONLY)
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("seal_key")
        batch_op.drop_column("seal")

    with op.batch_alter_table("attempt_steps", schema=None) as batch_op:
        batch_op.drop_column("link_key")
        batch_op.drop_column("link")
        batch_op.drop_column("rationale_hash")

    op.drop_table("record_unlocks")
