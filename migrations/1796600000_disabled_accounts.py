"""Accounts an admin can disable: a disabled account cannot sign in

Revision ID: 1796600000
Revises: 1796500000
Create Date: 2026-12-01 19:00:00

Set by an admin's "Disable" and by erasure (`simulator/privacy.py`); None for every
account that exists now, so nobody is disabled by the upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1796600000"
down_revision: str | Sequence[str] | None = "1796500000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("disabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
