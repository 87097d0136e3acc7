"""Fixtures: an app on a freshly migrated database, run once on SQLite and once on PostgreSQL.

Each database-touching test gets its own database state: a copy of a migrated SQLite file, or a PostgreSQL
schema (made once per run with the real migrations) emptied before the test. PostgreSQL comes from
TEST_DATABASE_URL; without it those tests skip, unless REQUIRE_POSTGRES=1 makes them fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from tests.factories import (  # noqa: F401  (fixtures)
    make_department,
    make_process,
    make_task,
    make_user,
    make_work_order,
    people,
    printing,
    shop,
)
from workorders import create_app
from workorders.extensions import db

TABLES = [
    "login_throttle",
    "notifications",
    "task_events",
    "tasks",
    "work_orders",
    "user_departments",
    "users",
    "processes",
    "departments",
]
# argon2's smallest settings: the real ones cost 64 MiB and ~50 ms per hash, too slow for hundreds of users.
FAST_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


def test_config(database_url: str, **overrides) -> dict:
    return {
        "WORKORDERS_ENV": "testing",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PASSWORD_HASH_PARAMS": FAST_HASH,
        **overrides,
    }


test_config.__test__ = False  # a helper, though its name starts with "test"


def migrate(database_url: str) -> None:
    app = create_app(test_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file built by the real migrations, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


def _postgres_unavailable(reason: str):
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """TEST_DATABASE_URL, checked to answer; skips (or fails under REQUIRE_POSTGRES=1) when it does not."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        _postgres_unavailable("TEST_DATABASE_URL is not set")
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        _postgres_unavailable(f"cannot connect to TEST_DATABASE_URL ({type(error).__name__}: {error})")
    finally:
        engine.dispose()
    return url


def schema_url(server_url: str, schema: str) -> str:
    separator = "&" if "?" in server_url else "?"
    return f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def new_postgres_schema(postgres_server_url):
    """Make empty schemas on the test server (dropped at the end); returns a function giving a URL for one."""
    engine = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    made = []

    def make() -> str:
        schema = f"wo_test_{uuid.uuid4().hex[:12]}"
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return schema_url(postgres_server_url, schema)

    yield make
    with engine.connect() as connection:
        for schema in made:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_url(new_postgres_schema) -> str:
    """A schema of the test server built by the real migrations, shared by the tests (emptied before each)."""
    url = new_postgres_schema()
    migrate(url)
    return url


def empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A migrated, empty database: every test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


# For tests that need factories (and so the `app` fixture) on PostgreSQL alone.
postgres_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def pg_database_url(postgres_url) -> str:
    """Like database_url, PostgreSQL only: for row locks, races and anything SQLite cannot show."""
    empty_postgres(postgres_url)
    return postgres_url


@pytest.fixture
def app_config() -> dict:
    """Extra settings for the `app` fixture; override in a test module to change them."""
    return {}


class RequestPerContextClient(FlaskClient):
    """Runs each request in its own app context, as a server does: its own `g`, its own database session.

    The test itself holds an app context for its factories and asserts; without this, requests would share
    that context's `g` (Flask-Login's cached user, Flask-WTF's cached token) and session with each other.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url, app_config):
    app = create_app(test_config(database_url, **app_config))
    app.test_client_class = RequestPerContextClient
    with app.app_context():
        # The app's sessions keep their objects after COMMIT (it renders from them); the test's own session
        # expires them, so what a test reads after its factories commit comes fresh from the database.
        db.session().expire_on_commit = True
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
