"""Sign-in throttling: failed sign-ins counted per pair, address and username

Revision ID: 1796400000
Revises: 1796300000
Create Date: 2026-12-01 17:45:00

One row per (scope, key) that has failed (`throttle.SCOPES`), with its count and until when
the next sign-in under it must wait. Every process and machine counts through it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1796400000"
down_revision: str | Sequence[str] | None = "1796300000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sign_in_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("blocked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_throttles")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_sign_in_throttles_scope_key")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("sign_in_throttles")
