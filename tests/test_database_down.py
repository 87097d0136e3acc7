"""A database that fails answers 503 with Retry-After on every page, fragment and API call, never a 500.

The failures are real where they can be: on PostgreSQL the backend serving the request is terminated
(`pg_terminate_backend`) at the chosen moment, so psycopg sees the connection die exactly as it does when a
server restarts. Where a whole database outage is wanted, every statement fails as a dead server's would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import postgres_only
from tests.helpers import Browser, attr, count_queries
from tests.test_api import Api
from workorders.extensions import db
from workorders.tasks.models import Task, TaskEvent
from workorders.users.service import issue_api_token

PAGES = [
    "/tasks",
    "/tasks/mine",
    "/tasks/{task}",
    "/tasks/{task}/row",
    "/work-orders",
    "/work-orders/new",
    "/admin/users",
]


@contextmanager
def database_down(app) -> Iterator[None]:
    """Every statement fails as if the server had gone away."""

    def refuse(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        raise OperationalError(statement, {}, ConnectionError("could not connect to server: Connection refused"))

    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse)


@contextmanager
def backend_killed_before(app, database_url: str, moment: str) -> Iterator[list[int]]:
    """Terminate the request's PostgreSQL backend just before `moment`: "commit", or a statement starting so."""
    killer = create_engine(database_url, isolation_level="AUTOCOMMIT")
    killed: list[int] = []

    def kill(pid: int) -> None:
        if not killed:
            with killer.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            killed.append(pid)

    def before_statement(conn, _cursor, statement, *_args) -> None:
        if moment != "commit" and statement.startswith(moment):
            kill(conn.connection.dbapi_connection.info.backend_pid)

    def before_commit(conn) -> None:
        if moment == "commit":
            kill(conn.connection.dbapi_connection.info.backend_pid)

    event.listen(db.engine, "before_cursor_execute", before_statement)
    event.listen(db.engine, "commit", before_commit)
    try:
        yield killed
    finally:
        event.remove(db.engine, "commit", before_commit)
        event.remove(db.engine, "before_cursor_execute", before_statement)
        killer.dispose()


def unavailable(response, *, json: bool = False) -> str:
    """The 503's text, after checking it is a proper one."""
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.headers["Retry-After"] == "2"
    if json:
        assert response.get_json()["code"] == "unavailable"
        assert response.get_json()["retry"]["can_retry"] is True
        return response.get_json()["detail"]
    body = response.get_data(as_text=True)
    assert 'data-code="unavailable"' in body
    return body


@pytest.fixture
def task_id(shop, make_task) -> int:
    return make_task(process=shop.offset).id


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_503_while_the_database_is_down(app, shop, task_id, path, htmx):
    admin = Browser(app, "admin")
    with database_down(app):
        response = admin.get(path.format(task=task_id), htmx=htmx)
    body = unavailable(response)
    assert "nothing was changed" in body
    if htmx:
        assert response.headers["HX-Retarget"] == "#modal-slot"
    else:
        assert "<html" in body


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_an_action_answers_503_while_the_database_is_down_and_nothing_changes(app, shop, task_id, htmx):
    alice = Browser(app, "alice")
    with database_down(app):
        response = alice.post(f"/tasks/{task_id}/claim", {"version": "1"}, htmx=htmx)
    assert "nothing was changed" in unavailable(response)
    assert db.session.get(Task, task_id).assignee_id is None


def test_the_api_answers_503_json_while_the_database_is_down(app, shop, task_id):
    api = Api(app.test_client(), issue_api_token("alice"))
    with database_down(app):
        listing = api.get("/tasks")
        claimed = api.post(f"/tasks/{task_id}/claim", {"version": 1})
    assert "nothing was changed" in unavailable(listing, json=True)
    assert "nothing was changed" in unavailable(claimed, json=True)


@postgres_only
@pytest.mark.parametrize("lane", ["htmx", "api"])
def test_a_connection_lost_during_commit_says_the_outcome_is_unknown_and_a_retry_settles_it(
    app, database_url, shop, task_id, lane
):
    def claim():
        if lane == "api":
            return api.post(f"/tasks/{task_id}/claim", {"version": 1})
        return alice.post(f"/tasks/{task_id}/claim", {"version": "1"}, htmx=True)

    api, alice = Api(app.test_client(), issue_api_token("alice")), Browser(app, "alice")
    with backend_killed_before(app, database_url, "commit") as killed:
        response = claim()
    assert killed, "the backend was terminated before COMMIT reached it"
    text = unavailable(response, json=lane == "api")
    assert "outcome is unknown" in text
    if lane == "htmx":
        assert attr(text, "task-dialog", "data-code") == "unavailable"
    # Trying again is safe: the pool hands out a new connection, and the claim applies (or was already made).
    again = claim()
    assert again.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task_id)) == 1


@postgres_only
def test_a_connection_lost_before_the_write_says_nothing_was_changed(app, database_url, shop, task_id):
    alice = Browser(app, "alice")
    # On PostgreSQL the write is one statement: `WITH updated AS (UPDATE tasks …) INSERT INTO task_events …`.
    with backend_killed_before(app, database_url, "WITH updated AS") as killed:
        response = alice.post(f"/tasks/{task_id}/claim", {"version": "1"}, htmx=True)
    assert killed
    assert "nothing was changed" in unavailable(response)
    assert db.session.get(Task, task_id).assignee_id is None
    assert alice.post(f"/tasks/{task_id}/claim", {"version": "1"}, htmx=True).status_code == 200


@postgres_only
def test_a_board_whose_connection_dies_answers_503_and_the_next_request_is_served(app, database_url, shop, task_id):
    alice = Browser(app, "alice")
    with backend_killed_before(app, database_url, "SELECT") as killed:
        response = alice.get("/tasks")
    assert killed
    unavailable(response)
    assert alice.get("/tasks").status_code == 200


@postgres_only
def test_idle_connections_the_server_ended_are_replaced_before_use_without_a_ping(app, database_url, shop, task_id):
    """A restart or pg_terminate_backend between requests costs no request: the pool opens new connections.

    The check reads the socket (workorders/database.py) instead of pool_pre_ping's SELECT 1 round trip.
    """
    pooled: set[int] = set()
    remember = lambda dbapi_connection, _record: pooled.add(dbapi_connection.info.backend_pid)  # noqa: E731
    event.listen(db.engine, "checkin", remember)
    alice, bob = Browser(app, "alice"), Browser(app, "bob")
    event.remove(db.engine, "checkin", remember)
    assert pooled, "the app holds pooled connections"
    killer = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:
        for pid in pooled:
            connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    killer.dispose()
    used: set[int] = set()
    remember = lambda dbapi_connection, _record, _proxy: used.add(dbapi_connection.info.backend_pid)  # noqa: E731
    event.listen(db.engine, "checkout", remember)
    with count_queries() as statements:
        assert alice.get("/tasks").status_code == 200
        assert alice.post(f"/tasks/{task_id}/claim", {"version": "1"}, htmx=True).status_code == 200
        assert bob.get("/tasks/mine").status_code == 200
    event.remove(db.engine, "checkout", remember)
    assert not [statement for statement in statements if statement.strip().lower() == "select 1"]
    assert used and not used & pooled, "a connection the server had ended was handed out"
