"""Record each version's format revision, each attempt's choice order and when a node was shown

Revision ID: 1796000000
Revises: 1795635751
Create Date: 2026-12-01 11:30:00

Versions stored before this migration were accepted under revision 1 of format 1 and
attempts begun before it showed choices in file order; the server defaults say so.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1796000000"
down_revision: str | Sequence[str] | None = "1795635751"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("scenario_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("format_revision", sa.Integer(), server_default="1", nullable=False)
        )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "choice_order",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                server_default="file",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("shown_step", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("shown_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_check_constraint("choice_order", "choice_order IN ('file', 'shuffled')")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint("choice_order", type_="check")
        batch_op.drop_column("shown_at")
        batch_op.drop_column("shown_step")
        batch_op.drop_column("choice_order")
    with op.batch_alter_table("scenario_versions", schema=None) as batch_op:
        batch_op.drop_column("format_revision")
