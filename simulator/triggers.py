"""Database triggers that keep the records append-only, on SQLite and PostgreSQL.

Unless a row is in `record_unlocks` (inserted and deleted inside one logged transaction by
`records.unlocked`, the one way past), the database itself refuses:

- UPDATE and DELETE of any row of the append-only tables (`APPEND_ONLY`);
- UPDATE and DELETE of an `attempts` row whose `finished_at` was already set;
- on PostgreSQL, TRUNCATE of any of these tables.

Each refusal is an integrity error naming the table and the operation.

Migrations install the triggers with `install(op.get_bind(), tables)`, naming the
append-only tables as they stand at that revision. Alembic's batch mode rebuilds a SQLite
table by copying it and dropping the old one, which drops its triggers: a migration that
runs `batch_alter_table` on any of these tables must call `install` again afterwards (it
replaces whatever triggers are there). A batch on `record_unlocks` itself needs `drop`
first, as SQLite will not rename a table into place while triggers name a missing one.
tests/test_records.py checks that every trigger exists after the latest migration. A data
migration that must change a finished record inserts a `record_unlocks` row and deletes
it again in the same transaction.
"""

APPEND_ONLY = (
    "attempt_steps",
    "attempt_events",
    "assessment_overrides",
    "rationale_marks",
    "audit_log",
)
FINISHED = "attempts"  # its rows are kept once finished
UNLOCKS = "record_unlocks"
FUNCTION = "refuse_record_change"
OPERATIONS = ("update", "delete")

# One PostgreSQL function serves every trigger; its argument is the start of the message.
PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {UNLOCKS}) THEN
        IF TG_LEVEL = 'STATEMENT' THEN
            RETURN NULL;
        ELSIF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = TG_ARGV[0] || ': ' || TG_OP || ' refused',
        ERRCODE = 'restrict_violation';
END
$$
"""


def refusal(table):
    """Return the start of the message with which a change of `table` is refused."""
    if table == FINISHED:
        return "a finished attempt is kept as it is"
    return f"{table} rows are append-only"


def triggers_of(dialect, tables=APPEND_ONLY):
    """Return (table, trigger name) for each trigger that guards these tables and attempts."""
    kinds = ("change", "truncate") if dialect == "postgresql" else OPERATIONS
    return [(table, f"{table}_refuse_{kind}") for table in (*tables, FINISHED) for kind in kinds]


def sqlite_statements(tables):
    """Return SQLite's CREATE TRIGGER statements for these tables and attempts."""
    statements = []
    for table in (*tables, FINISHED):
        condition = f"NOT EXISTS (SELECT 1 FROM {UNLOCKS})"
        if table == FINISHED:
            condition = f"OLD.finished_at IS NOT NULL AND {condition}"
        for operation in OPERATIONS:
            message = f"{refusal(table)}: {operation.upper()} refused"
            statements.append(
                f"CREATE TRIGGER {table}_refuse_{operation} BEFORE {operation.upper()} "
                f"ON {table} FOR EACH ROW WHEN {condition} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    return statements


def postgresql_statements(tables):
    """Return PostgreSQL's trigger function and CREATE TRIGGER statements."""
    statements = [PG_FUNCTION]
    for table in (*tables, FINISHED):
        when = " WHEN (OLD.finished_at IS NOT NULL)" if table == FINISHED else ""
        call = f"EXECUTE FUNCTION {FUNCTION}('{refusal(table)}')"
        statements.append(
            f"CREATE TRIGGER {table}_refuse_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW{when} {call}"
        )
        statements.append(
            f"CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT {call}"
        )
    return statements


def install(connection, tables=APPEND_ONLY):
    """Create (or replace) the triggers guarding these tables and attempts."""
    drop(connection, tables, function=False)
    dialect = connection.dialect.name
    make = postgresql_statements if dialect == "postgresql" else sqlite_statements
    for statement in make(tables):
        connection.exec_driver_sql(statement)


def drop(connection, tables=APPEND_ONLY, function=True):
    """Drop the triggers guarding these tables and attempts (and PostgreSQL's function)."""
    dialect = connection.dialect.name
    for table, name in triggers_of(dialect, tables):
        on = f" ON {table}" if dialect == "postgresql" else ""  # SQLite's names are global
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{on}")
    if function and dialect == "postgresql":
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
