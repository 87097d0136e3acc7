"""Small helpers for driving the app like a browser would."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, select, text

from tests.factories import PASSWORD
from workorders.extensions import db
from workorders.users.models import User

HTMX = {"HX-Request": "true"}
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a page of the app hands this client, read from its <meta> tag."""
    return _META_TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})


def logged_in(app, username: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = login(client, username, password)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def attr(html: str, element_id: str, name: str) -> str | None:
    """The value of attribute `name` on the element with id `element_id` in `html`."""
    match = re.search(rf'<[a-z]+ id="{re.escape(element_id)}"([^>]*)>', html, re.S)
    if match is None:
        return None
    value = re.search(rf'\s{re.escape(name)}="([^"]*)"', match.group(1))
    return value.group(1) if value else None


class Browser:
    """One logged-in browser: GETs pages and posts forms with its CSRF token, with or without htmx."""

    def __init__(self, app, username: str, password: str = PASSWORD):
        self.client = logged_in(app, username, password)
        self.token = csrf_token(self.client, "/tasks")

    def get(self, url: str, htmx: bool = False, **kwargs):
        return self.client.get(url, headers={"HX-Request": "true"} if htmx else {}, **kwargs)

    def post(self, url: str, data: dict | None = None, htmx: bool = False, **kwargs):
        data = {"csrf_token": self.token, **(data or {})}
        return self.client.post(url, data=data, headers={"HX-Request": "true"} if htmx else {}, **kwargs)


@contextmanager
def listening(target, name: str, listener: Callable) -> Iterator[None]:
    """An SQLAlchemy event listener on `target`, for the block only."""
    event.listen(target, name, listener)
    try:
        yield
    finally:
        event.remove(target, name, listener)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Every statement the app sends to the database while the block runs, from any thread."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def task_row_locked(database_url: str, task_id: int):
    """Hold another connection's lock on a task for the block: its row on PostgreSQL, the whole file on SQLite."""
    return rows_locked(database_url, "SELECT id FROM tasks WHERE id = :id FOR UPDATE", {"id": task_id})


@contextmanager
def rows_locked(database_url: str, locking_select: str, parameters: dict | None = None) -> Iterator[None]:
    """Hold another connection's locks for the block: `locking_select`'s rows on PostgreSQL, the file on SQLite."""
    holder = create_engine(database_url, isolation_level="AUTOCOMMIT")
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite's write lock: the whole file
            else:
                connection.exec_driver_sql("BEGIN")
                connection.execute(text(locking_select), parameters or {})
            held.set()
            done.wait(10)
            connection.exec_driver_sql("ROLLBACK")

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10), "the lock was not taken"
        yield
    finally:
        done.set()
        thread.join(10)
        holder.dispose()


def in_parallel(app, usernames: list[str], act: Callable[[User], list]) -> list:
    """Run `act(user)` for each username in its own thread, app context and connection, all starting together."""
    barrier = threading.Barrier(len(usernames))

    def run(username: str) -> list:
        with app.app_context():
            try:
                user = db.session.scalar(select(User).where(User.username == username))
                barrier.wait(timeout=30)
                return act(user)
            except BaseException:
                barrier.abort()
                raise
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(usernames)) as pool:
        return [result for future in [pool.submit(run, name) for name in usernames] for result in future.result(60)]


def assert_sqlite_intact(url: str) -> None:
    """The SQLite file at `url` passes its own integrity and foreign key checks (after a migration's round trip)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    finally:
        engine.dispose()
