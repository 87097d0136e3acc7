"""board at scale: partial indexes of unfinished and finished tasks, trigram search, numbers past 9,999 a year

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-14 12:00:00.000000

- ix_tasks_not_done: the unfinished tasks alone (board, My tasks, workload, the live poll's version).
- ix_tasks_finished: finished tasks by the time they finished (lists newest first, the last week's counts).
- ix_work_orders_search: pg_trgm's GIN index over number, product and customer on PostgreSQL (the extension is
  created if missing); on SQLite, which searches with LIKE, an empty partial index of the same name.
- ck_work_orders_number_format: WO-YYYY- and four or more digits (WO-2026-10000 after WO-2026-9999).

Downgrading drops the indexes but keeps the pg_trgm extension: it belongs to the database, and other schemas may
use it. It refuses while a number of five or more digits exists, which the old format would not hold.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

NOT_DONE = "status IN ('open', 'in_progress', 'paused')"
FINISHED = "status IN ('done', 'cancelled')"
OLD_FORMAT = "number LIKE 'WO-____-____'"
NEW_FORMAT = "number LIKE 'WO-____-____%'"
SEARCHED = ("number", "product", "customer")


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_index(
        "ix_tasks_not_done", "tasks", ["department_id", "status", "assignee_id"],
        postgresql_include=["id", "version"], postgresql_where=sa.text(NOT_DONE), sqlite_where=sa.text(NOT_DONE),
    )
    op.create_index(
        "ix_tasks_finished", "tasks", ["updated_at", "id"],
        postgresql_include=["department_id", "status"], postgresql_where=sa.text(FINISHED),
        sqlite_where=sa.text(FINISHED),
    )
    if dialect == "postgresql":
        ops = _trigram_operator_class()
        columns = ", ".join(f"{column} {ops}" for column in SEARCHED)
        op.execute(f"CREATE INDEX ix_work_orders_search ON work_orders USING gin ({columns})")
        op.execute("ALTER TABLE work_orders DROP CONSTRAINT ck_work_orders_number_format")
        op.execute(f"ALTER TABLE work_orders ADD CONSTRAINT ck_work_orders_number_format CHECK ({NEW_FORMAT})")
    else:
        op.create_index("ix_work_orders_search", "work_orders", list(SEARCHED), sqlite_where=sa.text("0"))
        _replace_sqlite_check(OLD_FORMAT, NEW_FORMAT)


def downgrade():
    dialect = op.get_bind().dialect.name
    longer = op.get_bind().execute(sa.text("SELECT number FROM work_orders WHERE length(number) > 12 LIMIT 1"))
    number = longer.scalar()
    if number is not None:
        raise RuntimeError(
            f"Work order {number} has five or more digits, which the older format (WO-YYYY-NNNN) cannot hold; "
            "renumber such work orders before downgrading."
        )
    if dialect == "postgresql":
        op.execute("ALTER TABLE work_orders DROP CONSTRAINT ck_work_orders_number_format")
        op.execute(f"ALTER TABLE work_orders ADD CONSTRAINT ck_work_orders_number_format CHECK ({OLD_FORMAT})")
    else:
        _replace_sqlite_check(NEW_FORMAT, OLD_FORMAT)
    op.drop_index("ix_work_orders_search", table_name="work_orders")
    op.drop_index("ix_tasks_finished", table_name="tasks")
    op.drop_index("ix_tasks_not_done", table_name="tasks")


def _trigram_operator_class() -> str:
    """pg_trgm's GIN operator class, named with its schema: installed in `public` when missing (the extension is
    the database's, shared by all its schemas), else wherever it already is; a search_path without that schema
    (the tests' schemas) still finds it."""
    bind = op.get_bind()
    schema = bind.execute(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    )).scalar()
    if schema is None:
        public = bind.execute(sa.text(
            "SELECT has_schema_privilege(n.oid, 'CREATE') FROM pg_namespace n WHERE n.nspname = 'public'"
        )).scalar()
        schema = "public" if public else bind.execute(sa.text("SELECT current_schema()")).scalar()
        op.execute(f'CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA "{schema}"')
    return f'"{schema}".gin_trgm_ops'


def _replace_sqlite_check(old: str, new: str) -> None:
    """Swap a CHECK constraint's text in SQLite's schema, by SQLite's documented procedure for changes that leave
    the stored rows as they are (https://sqlite.org/lang_altertable.html, "otheralter"). Rebuilding the table
    instead would need foreign keys off, which cannot be switched inside the migration's transaction."""
    bind = op.get_bind()
    found = bind.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'work_orders' AND instr(sql, ?) > 0",
        (old,),
    ).scalar()
    if found != 1:
        raise RuntimeError(f"work_orders has no CHECK ({old}) to replace")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'work_orders'", (old, new)
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"SQLite's integrity check failed after the CHECK change: {problems}")
