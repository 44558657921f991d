"""Cohorts, assignments, the audit log and settled analytics

Revision ID: 1796131531
Revises: 1796100000
Create Date: 2026-12-01 13:25:31

Attempts gain the assignment they belong to, so numbering is per assignment (free practice
keeps its own per-scenario numbers), and what analytics count: the node an attempt is at, its
critical errors and path once finished, and the verdict of each step. Attempts and steps
recorded before this migration have none of these (analytics leave them out).


"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1796131531"
down_revision: str | Sequence[str] | None = "1796100000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("audience IN ('recruit', 'cpd')", name=op.f("ck_cohorts_audience")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_cohorts_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
    )
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cohorts_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("scenario_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opens_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("mode IN ('practice')", name=op.f("ck_assignments_mode")),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_assignments_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_assignments_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["scenario_versions.id"],
            name=op.f("fk_assignments_version_id_scenario_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assignments_scenario_key"), ["scenario_key"], unique=False
        )

    op.create_table(
        "cohort_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_cohort_members_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cohort_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_members")),
        sa.UniqueConstraint(
            "cohort_id", "user_id", name=op.f("uq_cohort_members_cohort_id_user_id")
        ),
    )
    with op.batch_alter_table("cohort_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cohort_members_cohort_id"), ["cohort_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cohort_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "cohort_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("trainer_id", sa.Integer(), nullable=False),
        sa.Column("shared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_cohort_shares_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["trainer_id"], ["users.id"], name=op.f("fk_cohort_shares_trainer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_shares")),
        sa.UniqueConstraint(
            "cohort_id", "trainer_id", name=op.f("uq_cohort_shares_cohort_id_trainer_id")
        ),
    )
    with op.batch_alter_table("cohort_shares", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cohort_shares_cohort_id"), ["cohort_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cohort_shares_trainer_id"), ["trainer_id"], unique=False
        )

    with op.batch_alter_table("attempt_steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignment_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("at_node", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("critical_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("path", sa.Text(), nullable=True))
        batch_op.drop_constraint(
            batch_op.f("uq_attempts_user_id_scenario_key_number"), type_="unique"
        )
        batch_op.create_index(
            batch_op.f("ix_attempts_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_index(
            "uq_attempts_assigned_number",
            ["user_id", "assignment_id", "number"],
            unique=True,
            sqlite_where=sa.text("assignment_id IS NOT NULL"),
            postgresql_where=sa.text("assignment_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_attempts_practice_number",
            ["user_id", "scenario_key", "number"],
            unique=True,
            sqlite_where=sa.text("assignment_id IS NULL"),
            postgresql_where=sa.text("assignment_id IS NULL"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_attempts_assignment_id_assignments"),
            "assignments",
            ["assignment_id"],
            ["id"],
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "display_name",
                sqlmodel.sql.sqltypes.AutoString(length=100),
                server_default="",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "force",
                sqlmodel.sql.sqltypes.AutoString(length=100),
                server_default="",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "collar_number",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                server_default="",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_created_by_id_users"), "users", ["created_by_id"], ["id"]
        )
    # The empty defaults only fill the rows that exist; the app always gives a value.
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in ("display_name", "force", "collar_number"):
            batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_created_by_id_users"), type_="foreignkey")
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("collar_number")
        batch_op.drop_column("force")
        batch_op.drop_column("display_name")

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_attempts_assignment_id_assignments"), type_="foreignkey"
        )
        batch_op.drop_index(
            "uq_attempts_practice_number",
            sqlite_where=sa.text("assignment_id IS NULL"),
            postgresql_where=sa.text("assignment_id IS NULL"),
        )
        batch_op.drop_index(
            "uq_attempts_assigned_number",
            sqlite_where=sa.text("assignment_id IS NOT NULL"),
            postgresql_where=sa.text("assignment_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_attempts_assignment_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_attempts_user_id_scenario_key_number"),
            ["user_id", "scenario_key", "number"],
        )
        batch_op.drop_column("path")
        batch_op.drop_column("critical_count")
        batch_op.drop_column("at_node")
        batch_op.drop_column("assignment_id")

    with op.batch_alter_table("attempt_steps", schema=None) as batch_op:
        batch_op.drop_column("verdict")

    with op.batch_alter_table("cohort_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohort_shares_trainer_id"))
        batch_op.drop_index(batch_op.f("ix_cohort_shares_cohort_id"))

    op.drop_table("cohort_shares")
    with op.batch_alter_table("cohort_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohort_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_cohort_members_cohort_id"))

    op.drop_table("cohort_members")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_scenario_key"))
        batch_op.drop_index(batch_op.f("ix_assignments_cohort_id"))

    op.drop_table("assignments")
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohorts_owner_id"))

    op.drop_table("cohorts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))

    op.drop_table("audit_log")
