"""LTI 1.3: registered platforms, the tool's keys, launch states and what launches map to

Revision ID: 1796900000
Revises: 1796800000
Create Date: 2026-12-02 20:00:00

A platform is an LMS an admin registers (`flask lti add-platform`); a person it launches
is a local account found by (platform, subject), its course a cohort, its link a scenario
or an assignment. Each OIDC login's state and nonce are one row, used by one launch at most.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1796900000"
down_revision: str | Sequence[str] | None = "1796800000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sqlmodel.sql.sqltypes.UTCDateTime()


def name(length=255):
    """Return a bounded string column type."""
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", name(), nullable=False),
        sa.Column("client_id", name(), nullable=False),
        sa.Column("deployment_ids", sa.JSON(), nullable=False),
        sa.Column("auth_login_url", sa.Text(), nullable=False),
        sa.Column("auth_token_url", sa.Text(), nullable=False),
        sa.Column("key_set_url", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_lti_platforms_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_platforms")),
        sa.UniqueConstraint("issuer", "client_id", name=op.f("uq_lti_platforms_issuer_client_id")),
    )
    op.create_table(
        "lti_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("subject", name(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platforms.id"],
            name=op.f("fk_lti_identities_platform_id_lti_platforms"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lti_identities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_identities")),
        sa.UniqueConstraint(
            "platform_id", "subject", name=op.f("uq_lti_identities_platform_id_subject")
        ),
    )
    with op.batch_alter_table("lti_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_identities_user_id"), ["user_id"], unique=False)
    op.create_table(
        "lti_contexts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("context_id", name(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_lti_contexts_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platforms.id"],
            name=op.f("fk_lti_contexts_platform_id_lti_platforms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_contexts")),
        sa.UniqueConstraint(
            "platform_id", "context_id", name=op.f("uq_lti_contexts_platform_id_context_id")
        ),
    )
    with op.batch_alter_table("lti_contexts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_contexts_cohort_id"), ["cohort_id"], unique=False)
    op.create_table(
        "lti_resource_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", name(), nullable=False),
        sa.Column("scenario_key", name(64), nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_lti_resource_links_assignment_id_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platforms.id"],
            name=op.f("fk_lti_resource_links_platform_id_lti_platforms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_resource_links")),
        sa.UniqueConstraint(
            "platform_id",
            "resource_link_id",
            name=op.f("uq_lti_resource_links_platform_id_resource_link_id"),
        ),
    )
    op.create_table(
        "lti_launch_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", name(128), nullable=False),
        sa.Column("nonce", name(128), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_launch_states")),
        sa.UniqueConstraint("nonce", name=op.f("uq_lti_launch_states_nonce")),
        sa.UniqueConstraint("state", name=op.f("uq_lti_launch_states_state")),
    )
    op.create_table(
        "lti_tool_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", name(64), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_tool_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_lti_tool_keys_kid")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("lti_tool_keys")
    op.drop_table("lti_launch_states")
    op.drop_table("lti_resource_links")
    with op.batch_alter_table("lti_contexts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_contexts_cohort_id"))
    op.drop_table("lti_contexts")
    with op.batch_alter_table("lti_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_identities_user_id"))
    op.drop_table("lti_identities")
    op.drop_table("lti_platforms")
