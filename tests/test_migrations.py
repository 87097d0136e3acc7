"""The Alembic migrations build exactly the schema the models describe, on both databases."""

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from workorders.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_match_models(app):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def _flask_db(database_url: str, *command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "WORKORDERS_ENV": "testing", "SECRET_KEY": "x"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _flask_db_upgrade(database_url: str) -> subprocess.CompletedProcess:
    return _flask_db(database_url, "upgrade")


def _tables(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


EXPECTED = {
    "alembic_version",
    "departments",
    "processes",
    "users",
    "user_departments",
    "work_orders",
    "tasks",
    "task_events",
    "login_throttle",
    "notifications",
}


def test_flask_db_upgrade_builds_an_empty_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = _flask_db_upgrade(url)
    assert result.returncode == 0, result.stderr
    assert _tables(url) == EXPECTED


def test_flask_db_upgrade_builds_an_empty_postgres_schema(new_postgres_schema):
    url = new_postgres_schema()
    assert _tables(url) == set()
    result = _flask_db_upgrade(url)
    assert result.returncode == 0, result.stderr
    assert _tables(url) == EXPECTED


def _check_login_throttle_down_and_up(url: str) -> None:
    """0002 comes off cleanly (0001's tables stay) and goes back on: the migration is reversible."""
    assert _flask_db_upgrade(url).returncode == 0
    result = _flask_db(url, "downgrade", "0001")
    assert result.returncode == 0, result.stderr
    assert _tables(url) == EXPECTED - {"login_throttle", "notifications"}  # 0004's table goes too
    result = _flask_db_upgrade(url)
    assert result.returncode == 0, result.stderr
    assert _tables(url) == EXPECTED
    engine = create_engine(url)
    try:
        indexes = {index["name"] for index in inspect(engine).get_indexes("login_throttle")}
    finally:
        engine.dispose()
    assert indexes == {"ix_login_throttle_window_start"}


def test_login_throttle_migration_goes_down_and_up_on_sqlite(tmp_path):
    _check_login_throttle_down_and_up(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


def test_login_throttle_migration_goes_down_and_up_on_postgres(new_postgres_schema):
    _check_login_throttle_down_and_up(new_postgres_schema())
