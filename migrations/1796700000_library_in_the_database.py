"""The library in the database: scenarios with owners, drafts, checks kept, pictures stored

Revision ID: 1796700000
Revises: 1796600000
Create Date: 2026-12-01 19:20:00

Every stored version was offered once, so each is marked published when it was loaded.
Each scenario id becomes a bundled scenario (the scenarios folder was the only way in);
one with no current version had been withdrawn, so it is retired. `checked_with` is None,
so the next `flask scenarios load` (or `check`) checks every version again and keeps
what it found, score bounds and map included.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1796700000"
down_revision: str | Sequence[str] | None = "1796600000"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sqlmodel.sql.sqltypes.UTCDateTime()
ORIGINS = "origin IN ('folder', 'upload', 'copy')"


def foreign_keys(enforced: bool) -> None:
    """Turn SQLite's foreign-key checks off while batch mode rebuilds scenario_versions.

    Rebuilding drops the old table, and with the checks on SQLite would first delete its
    rows, which attempts refer to. The pragma only works outside a transaction, so it comes
    before this migration's first change; every connection the app opens turns the checks
    on again (db.py). PostgreSQL alters the table in place and needs nothing.
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")


def upgrade() -> None:
    """Upgrade schema."""
    foreign_keys(False)
    op.create_table(
        "pictures",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_pictures")),
    )
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("bundled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("retired_at", UTC_TIME, nullable=True),
        sa.Column("retired_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_scenarios_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["retired_by_id"], ["users.id"], name=op.f("fk_scenarios_retired_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenarios")),
        sa.UniqueConstraint("key", name=op.f("uq_scenarios_key")),
    )
    with op.batch_alter_table("scenarios", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenarios_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "version_pictures",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("src", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"], ["pictures.digest"], name=op.f("fk_version_pictures_digest_pictures")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["scenario_versions.id"],
            name=op.f("fk_version_pictures_version_id_scenario_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", "src", name=op.f("pk_version_pictures")),
    )
    with op.batch_alter_table("version_pictures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_version_pictures_digest"), ["digest"], unique=False)

    with op.batch_alter_table("scenario_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "origin",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                server_default="folder",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("uploaded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("published_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("published_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("checked_with", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("ok", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("problems", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("stats", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("score_bounds", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("map_svg", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_scenario_versions_published_by_id_users"),
            "users",
            ["published_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_scenario_versions_uploaded_by_id_users"),
            "users",
            ["uploaded_by_id"],
            ["id"],
        )
        batch_op.create_check_constraint(batch_op.f("ck_scenario_versions_origin"), ORIGINS)

    op.execute(
        "UPDATE scenario_versions SET published_at = loaded_at, problems = '[]', stats = '[]'"
    )
    with op.batch_alter_table("scenario_versions", schema=None) as batch_op:
        batch_op.alter_column("problems", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("stats", existing_type=sa.JSON(), nullable=False)
    op.execute(
        "INSERT INTO scenarios (key, bundled, created_at, retired_at) "
        "SELECT scenario_key, true, MIN(loaded_at), "
        "CASE WHEN MAX(CASE WHEN current THEN 1 ELSE 0 END) = 1 THEN NULL "
        "ELSE MAX(loaded_at) END "
        "FROM scenario_versions GROUP BY scenario_key"
    )


def downgrade() -> None:
    """Downgrade schema."""
    foreign_keys(False)
    with op.batch_alter_table("scenario_versions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_scenario_versions_origin"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_scenario_versions_uploaded_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_scenario_versions_published_by_id_users"), type_="foreignkey"
        )
        for column in (
            "map_svg",
            "score_bounds",
            "stats",
            "problems",
            "ok",
            "checked_with",
            "published_by_id",
            "published_at",
            "uploaded_by_id",
            "origin",
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table("version_pictures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_pictures_digest"))
    op.drop_table("version_pictures")
    with op.batch_alter_table("scenarios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenarios_owner_id"))
    op.drop_table("scenarios")
    op.drop_table("pictures")
