"""Migration 0004 (notifications) goes up and down on both databases, with data in the tables."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import test_config
from tests.helpers import assert_sqlite_intact
from tests.test_migrations_0003 import _add_order, _add_task, downgrade, upgrade
from workorders import create_app
from workorders.extensions import db

INDEXES = {"ix_notifications_user_id_id", "ix_notifications_unread"}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _add_user(username: str) -> int:
    with db.engine.begin() as connection:
        return connection.execute(
            text(
                "INSERT INTO users (username, display_name, role, active, session_version)"
                " VALUES (:username, :username, 'operator', true, 1) RETURNING id"
            ),
            {"username": username},
        ).scalar()


def _notify(user_id: int, kind: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO notifications (user_id, kind, task_id, actor_id)"
                " SELECT :user_id, :kind, id, :user_id FROM tasks"
            ),
            {"user_id": user_id, "kind": kind},
        )


def _check_up_and_down(url: str) -> dict[str, str]:
    """Returns the unread index's definition as the database holds it."""
    app = create_app(test_config(url))
    with app.app_context():
        upgrade(revision="0003")
        _add_order("WO-2026-0042")
        _add_task("WO-2026-0042")
        user_id = _add_user("olga")

        upgrade(revision="0004")
        assert {index["name"] for index in inspect(db.engine).get_indexes("notifications")} >= INDEXES
        _notify(user_id, "assigned")
        with pytest.raises(IntegrityError):
            _notify(user_id, "told")  # kinds are checked

        downgrade(revision="0003")
        assert "notifications" not in _tables(url)

        upgrade(revision="0004")
        _notify(user_id, "cancelled")
        with db.engine.connect() as connection:
            counts = connection.execute(
                text("SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM notifications)")
            ).one()
            created = connection.execute(text("SELECT created_at FROM notifications")).scalar()
            if db.engine.dialect.name == "sqlite":
                definition = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_notifications_unread'"
                ).scalar()
            else:
                definition = connection.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_notifications_unread'")
                ).scalar()
        assert tuple(counts) == (1, 1)  # the task lived through it; the downgrade took the first notification
        assert created is not None  # the database stamps it
        db.engine.dispose()
    return definition


def test_0004_goes_up_and_down_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    definition = _check_up_and_down(url)
    assert "WHERE read_at IS NULL" in definition
    assert_sqlite_intact(url)


def test_0004_goes_up_and_down_on_postgres(new_postgres_schema):
    definition = _check_up_and_down(new_postgres_schema())
    assert "(user_id, created_at) INCLUDE (id) WHERE (read_at IS NULL)" in definition
