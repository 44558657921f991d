"""LTI grades and membership: a link's line item, who launched it, a course's members

Revision ID: 1797000000
Revises: 1796900000
Create Date: 2026-12-01 20:40:00

A resource link keeps the AGS claim of its latest launch (its line item, the course's line
items and the scopes); each person who launched a link is one row, so that their attempts
at what it opens send scores to its line item (grades.py). A course keeps where the LMS
lists its members (Names and Roles Provisioning, memberships.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1797000000"
down_revision: str | Sequence[str] | None = "1796900000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("lti_resource_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lineitem_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lineitems_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ags_scopes", sa.JSON(), nullable=True))
    with op.batch_alter_table("lti_contexts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("memberships_url", sa.Text(), nullable=True))
    op.create_table(
        "lti_link_learners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("first_launched_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_link_id"],
            ["lti_resource_links.id"],
            name=op.f("fk_lti_link_learners_resource_link_id_lti_resource_links"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lti_link_learners_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_link_learners")),
        sa.UniqueConstraint(
            "resource_link_id",
            "user_id",
            name=op.f("uq_lti_link_learners_resource_link_id_user_id"),
        ),
    )
    with op.batch_alter_table("lti_link_learners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_link_learners_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("lti_link_learners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_link_learners_user_id"))
    op.drop_table("lti_link_learners")
    with op.batch_alter_table("lti_contexts", schema=None) as batch_op:
        batch_op.drop_column("memberships_url")
    with op.batch_alter_table("lti_resource_links", schema=None) as batch_op:
        batch_op.drop_column("ags_scopes")
        batch_op.drop_column("lineitems_url")
        batch_op.drop_column("lineitem_url")
