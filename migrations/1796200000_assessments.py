"""Assessments: settings, overrides, attempt states and their events, rationale marks

Revision ID: 1796200000
Revises: 1796131531
Create Date: 2026-12-01 16:45:00

An assignment's mode may now be "assessment", with its settings in `assessment_settings`
and each candidate's overrides in `assessment_overrides`. Attempts gain a state (attempts
recorded before are set from their finished and abandoned times), the server's clock of an
assessment (deadline, grace), and whether they were late, counted or a trainer's preview.
Each state change of an assessment attempt is kept in `attempt_events`; trainers' marks of
rationales in `rationale_marks`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1796200000"
down_revision: str | Sequence[str] | None = "1796131531"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODES = "mode IN ('practice', 'assessment')"
PRACTICE_ONLY = "mode IN ('practice')"
STATES = "state IN ('in_progress', 'overdue', 'finished', 'abandoned')"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "assessment_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=True),
        sa.Column("overdue", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("grace_s", sa.Integer(), nullable=False),
        sa.Column("attempts_allowed", sa.Integer(), nullable=False),
        sa.Column("grade_method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("access_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("review", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "grade_method IN ('highest', 'first', 'last')",
            name=op.f("ck_assessment_settings_grade_method"),
        ),
        sa.CheckConstraint(
            "overdue IN ('close', 'grace', 'discard')",
            name=op.f("ck_assessment_settings_overdue"),
        ),
        sa.CheckConstraint(
            "attempts_allowed >= 1", name=op.f("ck_assessment_settings_attempts_allowed")
        ),
        sa.CheckConstraint("grace_s >= 0", name=op.f("ck_assessment_settings_grace_s")),
        sa.CheckConstraint(
            "time_limit_s IS NULL OR time_limit_s > 0",
            name=op.f("ck_assessment_settings_time_limit_s"),
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_assessment_settings_assignment_id_assignments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_settings")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_assessment_settings_assignment_id")),
    )
    op.create_table(
        "assessment_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=True),
        sa.Column("opens_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("attempts_allowed", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_assessment_overrides_assignment_id_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["users.id"], name=op.f("fk_assessment_overrides_set_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_assessment_overrides_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_overrides")),
    )
    with op.batch_alter_table("assessment_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_overrides_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assessment_overrides_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "attempt_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(STATES, name=op.f("ck_attempt_events_state")),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_attempt_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_attempt_events_attempt_id_attempts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt_events")),
    )
    with op.batch_alter_table("attempt_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attempt_events_attempt_id"), ["attempt_id"], unique=False
        )

    op.create_table(
        "rationale_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("marker_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_rationale_marks_attempt_id_attempts")
        ),
        sa.ForeignKeyConstraint(
            ["marker_id"], ["users.id"], name=op.f("fk_rationale_marks_marker_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["attempt_steps.id"],
            name=op.f("fk_rationale_marks_step_id_attempt_steps"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rationale_marks")),
    )
    with op.batch_alter_table("rationale_marks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rationale_marks_attempt_id"), ["attempt_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rationale_marks_step_id"), ["step_id"], unique=False)

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_assignments_mode"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_assignments_mode"), MODES)

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                server_default="in_progress",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("deadline_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("grace_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("counted", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("preview", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("closed_reason", sa.Text(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_attempts_mode"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_attempts_mode"), MODES)
        batch_op.create_check_constraint(batch_op.f("ck_attempts_state"), STATES)

    op.execute("UPDATE attempts SET state = 'finished' WHERE finished_at IS NOT NULL")
    op.execute(
        "UPDATE attempts SET state = 'abandoned' "
        "WHERE finished_at IS NULL AND abandoned_at IS NOT NULL"
    )


def downgrade() -> None:
    """Downgrade schema (assessment assignments and their attempts cannot go back: refused)."""
    bind = op.get_bind()
    found = bind.execute(sa.text("SELECT count(*) FROM assignments WHERE mode <> 'practice'"))
    if found.scalar():
        raise RuntimeError("assessments exist: they cannot be kept in the older schema")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_attempts_state"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_attempts_mode"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_attempts_mode"), PRACTICE_ONLY)
        batch_op.drop_column("closed_reason")
        batch_op.drop_column("preview")
        batch_op.drop_column("counted")
        batch_op.drop_column("late")
        batch_op.drop_column("grace_until")
        batch_op.drop_column("deadline_at")
        batch_op.drop_column("state")

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_assignments_mode"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_assignments_mode"), PRACTICE_ONLY)

    op.drop_table("rationale_marks")
    op.drop_table("attempt_events")
    op.drop_table("assessment_overrides")
    op.drop_table("assessment_settings")
