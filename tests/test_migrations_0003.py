"""Migration 0003 (the board at scale) goes up and down on both databases, with data in the tables."""

from __future__ import annotations

import pytest
from alembic import command
from flask import current_app
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import test_config
from workorders import create_app
from workorders.extensions import db

NEW_INDEXES = {"tasks": {"ix_tasks_not_done", "ix_tasks_finished"}, "work_orders": {"ix_work_orders_search"}}


def _indexes(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {table: {index["name"] for index in inspector.get_indexes(table)} for table in NEW_INDEXES}
    finally:
        engine.dispose()


def _add_order(number: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO work_orders (number, customer, product, quantity, due_date, priority, status)"
                " VALUES (:number, 'C', 'P', 1, '2030-01-01', 'normal', 'open')"
            ),
            {"number": number},
        )


def _add_task(number: str) -> None:
    """A task of that order (and the department and process it needs): the foreign keys still hold."""
    with db.engine.begin() as connection:
        department = connection.execute(
            text("INSERT INTO departments (code, name) VALUES ('PRINT', 'Printing') RETURNING id")
        ).scalar()
        process = connection.execute(
            text(
                "INSERT INTO processes (code, name, department_id, parallel)"
                " VALUES ('OFFSET', 'Offset', :department, false) RETURNING id"
            ),
            {"department": department},
        ).scalar()
        connection.execute(
            text(
                "INSERT INTO tasks (work_order_id, process_id, department_id, sequence, planned_qty, good_qty,"
                " scrap_qty, status, version) SELECT id, :process, :department, 1, 1, 0, 0, 'open', 1"
                " FROM work_orders WHERE number = :number"
            ),
            {"process": process, "department": department, "number": number},
        )


def upgrade(revision: str) -> None:
    command.upgrade(current_app.extensions["migrate"].migrate.get_config(), revision)


def downgrade(revision: str) -> None:
    """Alembic's own command: flask_migrate's would turn the migration's RuntimeError into an exit."""
    command.downgrade(current_app.extensions["migrate"].migrate.get_config(), revision)


def _check_up_and_down(url: str) -> None:
    app = create_app(test_config(url))
    with app.app_context():
        upgrade(revision="0002")
        with pytest.raises(IntegrityError):
            _add_order("WO-2026-12345")  # before 0003: four digits only
        _add_order("WO-2026-0042")
        _add_task("WO-2026-0042")

        upgrade(revision="0003")
        made = _indexes(url)
        assert all(NEW_INDEXES[table] <= made[table] for table in NEW_INDEXES)
        _add_order("WO-2026-12345")
        with pytest.raises(IntegrityError):
            _add_order("WO-2026-")  # still WO-YYYY- and at least four characters

        with pytest.raises(RuntimeError, match="WO-2026-12345 has five or more digits"):
            downgrade(revision="0002")
        assert NEW_INDEXES["work_orders"] <= _indexes(url)["work_orders"]  # refused: nothing was undone
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM work_orders WHERE number = 'WO-2026-12345'"))

        downgrade(revision="0002")
        left = _indexes(url)
        assert not (left["tasks"] & NEW_INDEXES["tasks"]) and not (left["work_orders"] & NEW_INDEXES["work_orders"])
        with pytest.raises(IntegrityError):
            _add_order("WO-2026-12345")

        upgrade(revision="0003")
        _add_order("WO-2026-12345")
        with db.engine.connect() as connection:
            numbers = connection.execute(text("SELECT count(*) FROM work_orders")).scalar()
            tasks = connection.execute(text("SELECT count(*) FROM tasks")).scalar()
        assert (numbers, tasks) == (2, 1)  # the rows lived through it all
        db.engine.dispose()


def test_0003_goes_up_and_down_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    _check_up_and_down(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            index_sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_tasks_not_done'"
            ).scalar()
    finally:
        engine.dispose()
    assert "WHERE status IN ('open', 'in_progress', 'paused')" in index_sql


def test_0003_goes_up_and_down_on_postgres(new_postgres_schema):
    url = new_postgres_schema()
    _check_up_and_down(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            extension = connection.execute(
                text(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                    " WHERE e.extname = 'pg_trgm'"
                )
            ).scalar()
            definitions = dict(
                connection.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
                ).all()
            )
            search_path = connection.execute(text("SHOW search_path")).scalar()
    finally:
        engine.dispose()
    # The tests' schema is the whole search_path; the operator class is found through its own schema.
    assert extension is not None and extension not in search_path
    assert f"USING gin (number {extension}.gin_trgm_ops" in definitions["ix_work_orders_search"]
    assert "INCLUDE (id, version) WHERE" in definitions["ix_tasks_not_done"]
    assert "'open'" in definitions["ix_tasks_not_done"] and "'done'" in definitions["ix_tasks_finished"]
