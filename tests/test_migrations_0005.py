"""Migration 0005 (the user's language) goes up and down on both databases, keeping every user and their links."""

from __future__ import annotations

from sqlalchemy import inspect, text

from tests.conftest import test_config
from tests.helpers import assert_sqlite_intact
from tests.test_migrations_0003 import _add_order, _add_task, downgrade, upgrade
from tests.test_migrations_0004 import _add_user
from workorders import create_app
from workorders.extensions import db


def _user_columns() -> set[str]:
    return {column["name"] for column in inspect(db.engine).get_columns("users")}


def _links() -> tuple:
    """Users, their departments and the tasks they hold: what a table rebuild with cascades would lose."""
    with db.engine.connect() as connection:
        return tuple(
            connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM user_departments),"
                    " (SELECT count(*) FROM tasks WHERE assignee_id IS NOT NULL)"
                )
            ).one()
        )


def _link(user_id: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO user_departments (user_id, department_id) SELECT :user, id FROM departments"),
            {"user": user_id},
        )
        connection.execute(text("UPDATE tasks SET assignee_id = :user, status = 'in_progress'"), {"user": user_id})


def _languages() -> list:
    with db.engine.connect() as connection:
        return list(connection.execute(text("SELECT language FROM users ORDER BY id")).scalars())


def _check_up_and_down(url: str) -> None:
    app = create_app(test_config(url))
    with app.app_context():
        upgrade(revision="0004")
        _add_order("WO-2026-0042")
        _add_task("WO-2026-0042")
        olga = _add_user("olga")
        _link(olga)
        assert "language" not in _user_columns()

        upgrade(revision="0005")
        assert "language" in _user_columns()
        assert _languages() == [None]  # nobody has chosen yet: the browser decides
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE users SET language = 'zh_CN'"))
        assert _languages() == ["zh_CN"]
        before = _links()
        assert before == (1, 1, 1)

        downgrade(revision="0004")
        assert "language" not in _user_columns()
        assert _links() == before  # the users table was not rebuilt and nothing cascaded

        upgrade(revision="0005")
        assert _languages() == [None]  # the choice went with the column
        assert _links() == before
        db.engine.dispose()


def test_0005_goes_up_and_down_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    _check_up_and_down(url)
    assert_sqlite_intact(url)


def test_0005_goes_up_and_down_on_postgres(new_postgres_schema):
    _check_up_and_down(new_postgres_schema())
