"""The action path is lean and answers from what its transaction saw (SPEC "Concurrency", issue "action path").

Statements are counted with an SQLAlchemy event listener on the engine, for the whole request, the session or
token user included (BEGIN and COMMIT are not statements the app writes, and are not counted). Then the
database is made to fail the moment a transaction ends (or, for a 409, after the one statement that looked at the
task under its lock): the answer still renders, because nothing after COMMIT (or the refusing look) goes back to
it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.conftest import postgres_only
from tests.helpers import HTMX, attr, count_queries, csrf_token, listening, logged_in
from tests.test_api import Api
from workorders.database import DescribedOnce
from workorders.extensions import db
from workorders.tasks import statements as sql
from workorders.users.service import issue_api_token
from workorders.users.snapshots import snapshot_of, user_rows, users


@contextmanager
def database_gone_after_the_transaction(app) -> Iterator[list[str]]:
    """From the first COMMIT or ROLLBACK in the block on, every statement fails as if the server had gone."""
    gone: list[str] = []

    def end(*_session_and_transaction) -> None:
        gone.append("gone")

    def refuse(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if gone:
            gone.append(statement)
            raise OperationalError(statement, {}, ConnectionError("server closed the connection unexpectedly"))

    event.listen(Session, "after_commit", end)
    event.listen(Session, "after_soft_rollback", end)
    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        yield gone
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse)
        event.remove(Session, "after_soft_rollback", end)
        event.remove(Session, "after_commit", end)


@contextmanager
def database_gone_after_the_first_statement(app) -> Iterator[list[str]]:
    """After the block's first statement, every statement fails as if the server had gone."""
    sent: list[str] = []

    def refuse(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        sent.append(statement)
        if len(sent) > 1:
            raise OperationalError(statement, {}, ConnectionError("server closed the connection unexpectedly"))

    with listening(db.engine, "before_cursor_execute", refuse):
        yield sent


@contextmanager
def transactions_begun() -> Iterator[list[str]]:
    """Every BEGIN the block's engine connections send (SQLAlchemy's begin event; autocommit reads have none)."""
    begun: list[str] = []

    def begin(connection) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            begun.append("BEGIN")

    with listening(db.engine, "begin", begin):
        yield begun


@pytest.fixture
def task_id(shop, make_task) -> int:
    """A free Printing task at version 1; a plain id, so reading it inside a counted block sends nothing."""
    return make_task(process=shop.offset).id


def claim_htmx(client, task_id: int, version: int = 1):
    token = csrf_token(client, "/tasks")
    return client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "version": version}, headers=HTMX)


# A claim: the caller (token or session user, with departments), the task locked with the claimant's row,
# then the UPDATE and its event — one statement on PostgreSQL, two on SQLite (no data-modifying CTEs).
CLAIM_STATEMENTS = {"postgresql": 3, "sqlite": 4}


def test_an_api_claim_costs_three_statements_on_postgres_four_on_sqlite(app, shop, task_id):
    api = Api(app.test_client(), issue_api_token("alice"))
    with count_queries() as statements:
        response = api.post(f"/tasks/{task_id}/claim", {"version": 1})
    assert response.status_code == 200
    assert len(statements) == CLAIM_STATEMENTS[db.engine.dialect.name], statements


def test_an_htmx_claim_costs_three_statements_on_postgres_four_on_sqlite(app, shop, task_id):
    client = logged_in(app, "alice")
    token = csrf_token(client, "/tasks")
    with count_queries() as statements:
        response = client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "version": 1}, headers=HTMX)
    assert response.status_code == 200
    assert len(statements) == CLAIM_STATEMENTS[db.engine.dialect.name], statements


def counted_claim(app, username: str, task_id: int, lane: str):
    """`username` claims the task at version 1 over the API or htmx: the answer, its statements and its BEGINs."""
    if lane == "api":
        api = Api(app.test_client(), issue_api_token(username))
        with count_queries() as statements, transactions_begun() as begun:
            response = api.post(f"/tasks/{task_id}/claim", {"version": 1})
    else:
        client = logged_in(app, username)
        token = csrf_token(client, "/tasks")
        with count_queries() as statements, transactions_begun() as begun:
            response = client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "version": 1}, headers=HTMX)
    return response, statements, begun


@pytest.mark.parametrize("lane", ["htmx", "api"])
def test_a_conflict_is_one_statement_and_no_transaction(app, shop, task_id, lane):
    """The caller and the task under its row lock, read together in one statement outside a transaction: the lock
    ends with the statement, and there is no BEGIN and no ROLLBACK."""
    claim_htmx(logged_in(app, "alice"), task_id)
    response, statements, begun = counted_claim(app, "bob", task_id, lane)
    assert response.status_code == 409
    assert response.headers.get("HX-Retarget", "#modal-slot") == "#modal-slot"
    assert len(statements) == 1, statements
    assert "user_departments" in statements[0], statements[0]
    assert "FOR UPDATE" in statements[0] or db.engine.dialect.name == "sqlite", "the 409's row was read under the lock"
    assert begun == [], "a refusal needs no transaction"


@pytest.mark.parametrize("lane", ["htmx", "api"])
def test_a_claim_locks_only_to_change_the_task(app, shop, task_id, lane):
    """The first look (with the caller, locked in a statement of its own), then one transaction: the lock again
    (what the change is decided on) and the write."""
    response, statements, begun = counted_claim(app, "alice", task_id, lane)
    assert response.status_code == 200
    assert "user_departments" in statements[0] and "user_departments" not in statements[1], statements
    assert "FOR UPDATE" in statements[1] or db.engine.dialect.name == "sqlite", statements[1]
    assert begun == ["BEGIN"]


def test_a_supervisors_stale_assign_conflict_costs_at_most_four_statements(app, shop, task_id):
    claim_htmx(logged_in(app, "alice"), task_id)
    client = logged_in(app, "sam")
    token = csrf_token(client, "/tasks")
    with count_queries() as statements:
        response = client.post(
            f"/tasks/{task_id}/assign",
            data={"csrf_token": token, "version": 1, "assignee": "bob"},
            headers=HTMX,
        )
    assert response.status_code == 409
    assert attr(response.get_data(as_text=True), "task-dialog", "data-current-owner") == "alice"
    assert len(statements) <= 4, statements


def test_a_claim_answers_its_row_with_the_database_gone_after_the_commit(app, shop, task_id):
    client = logged_in(app, "alice")
    token = csrf_token(client, "/tasks")
    with database_gone_after_the_transaction(app) as gone:
        response = client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "version": 1}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert gone == ["gone"], "nothing was sent to the database after the commit"
    assert attr(body, f"task-{task_id}", "data-assignee") == "alice"
    assert attr(body, f"task-{task_id}", "data-version") == "2"
    assert "You claimed" in body


def test_a_supervisors_assign_answers_its_row_with_the_database_gone_after_the_commit(app, shop, task_id):
    client = logged_in(app, "sam")
    token = csrf_token(client, "/tasks")
    with database_gone_after_the_transaction(app) as gone:
        response = client.post(
            f"/tasks/{task_id}/assign",
            data={"csrf_token": token, "version": 1, "assignee": "bob"},
            headers=HTMX,
        )
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert gone == ["gone"]
    assert attr(body, f"task-{task_id}", "data-assignee") == "bob"
    assert "Bob Baker (1)" in body, "the assign select shows each person's load as the transaction left it"


def test_an_api_claim_answers_with_the_database_gone_after_the_commit(app, shop, task_id):
    api = Api(app.test_client(), issue_api_token("alice"))
    with database_gone_after_the_transaction(app) as gone:
        response = api.post(f"/tasks/{task_id}/claim", {"version": 1})
    assert response.status_code == 200, response.get_json()
    assert gone == ["gone"]
    assert (response.get_json()["task"]["assignee"], response.get_json()["task"]["version"]) == ("alice", 2)


def test_a_plain_post_redirects_with_the_database_gone_after_the_commit(app, shop, task_id):
    client = logged_in(app, "alice")
    token = csrf_token(client, "/tasks")
    with database_gone_after_the_transaction(app) as gone:
        response = client.post(
            f"/tasks/{task_id}/claim", data={"csrf_token": token, "version": 1, "next": "/tasks/mine"}
        )
    assert (response.status_code, response.headers["Location"]) == (303, "/tasks/mine")
    assert gone == ["gone"]


def test_a_conflict_dialog_and_its_fresh_row_render_with_the_database_gone(app, shop, task_id):
    claim_htmx(logged_in(app, "alice"), task_id)
    client = logged_in(app, "bob")
    token = csrf_token(client, "/tasks")
    with database_gone_after_the_first_statement(app) as sent:
        response = client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "version": 2}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 409, body
    assert len(sent) == 1, "the dialog and the row came from the one statement that read the caller and the task"
    assert attr(body, "task-dialog", "data-current-owner") == "alice"
    assert attr(body, f"task-{task_id}", "data-assignee") == "alice"
    assert "Alice Archer (alice) has" in body


def test_the_request_user_is_one_statement_with_departments_and_the_unread_count_only_where_shown(app, shop, task_id):
    client = logged_in(app, "alice")
    token = csrf_token(client, "/tasks")
    with count_queries() as statements:
        client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "version": 1}, headers=HTMX)
    assert "user_departments" in statements[0] and "notifications" not in statements[0], statements[0]
    with count_queries() as statements:
        assert client.get("/tasks").status_code == 200
    assert "user_departments" in statements[0] and "notifications" in statements[0], statements[0]


def test_the_request_user_may_do_what_the_model_says_it_may(app, shop):
    """The session's UserSnapshot and the ORM User answer every permission question alike, for every role."""
    departments = (shop.printing.id, shop.cutting.id)
    for user in (shop.alice, shop.carol, shop.sam, shop.admin):
        snapshot = snapshot_of(db.session.execute(user_rows(users.c.id == user.id)).all())
        assert snapshot.get_id() == user.get_id() and snapshot.is_active
        assert (snapshot.is_admin, snapshot.is_supervisor) == (user.is_admin, user.is_supervisor)
        assert snapshot.department_ids() == user.department_ids()
        for department_id in departments:
            assert snapshot.belongs_to(department_id) == user.belongs_to(department_id), (user, department_id)
            assert snapshot.supervises(department_id) == user.supervises(department_id), (user, department_id)


@postgres_only
def test_the_first_look_waits_for_a_release_in_flight_and_the_claim_wins(app, shop, task_id):
    """The first look reads the task under its row lock (SPEC: a 409 carries the row read under the lock): a claim
    that arrives while the holder's release is still in flight waits for it, then takes the task."""
    claim_htmx(logged_in(app, "alice"), task_id)
    bob = logged_in(app, "bob")
    token = csrf_token(bob, "/tasks")
    answers = []

    def claim() -> None:
        data = {"csrf_token": token, "version": 2}
        answers.append(bob.post(f"/tasks/{task_id}/claim", data=data, headers=HTMX))

    releaser = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with releaser.begin() as connection:
            release = "UPDATE tasks SET assignee_id = NULL, version = version + 1 WHERE id = :id"
            connection.execute(text(release), {"id": task_id})
            claimant = threading.Thread(target=claim)
            claimant.start()
            time.sleep(0.5)  # bob's first look is waiting for this transaction's row lock
            assert not answers, "the claim did not wait for the release in flight"
        claimant.join(10)
    finally:
        releaser.dispose()
    body = answers[0].get_data(as_text=True)
    assert answers[0].status_code == 200, body
    assert attr(body, f"task-{task_id}", "data-assignee") == "bob"


@postgres_only
def test_the_first_look_commits_without_a_flush_and_only_its_own_transaction(app):
    """The first look's statement turns synchronous_commit off for its own implicit transaction; the setting is
    gone with it, and the transaction that writes never carries it."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(sql.FIRST_LOOK, {"task_id": 0}).all()
        assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    compiled = str(sql.FIRST_LOOK.compile(dialect=db.engine.dialect))
    assert "set_config('synchronous_commit', 'off', true)" in compiled
    for statement in (sql.LOCK_TASK, sql.LOCK_TASK_AND_USER, sql.update_task_and_log(("assignee_id",), True)):
        assert "synchronous_commit" not in str(statement.compile(dialect=db.engine.dialect))


@postgres_only
def test_a_results_description_is_built_once_per_shape_and_is_always_its_own(app):
    """psycopg's description (every Column object) is kept per result shape: the same statement gets the same
    list back; a result of another shape gets its own columns; and each matches what psycopg builds anew."""
    with db.engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        assert isinstance(cursor, DescribedOnce)
        plain = psycopg.Cursor(connection.connection.driver_connection)
        shapes = ["SELECT 1 AS a, 'x'::text AS b", "SELECT 'x'::text AS a, 1 AS b", "SELECT 1 AS a, 'x'::text AS c"]
        for query in shapes:
            cursor.execute(query)
            first = cursor.description
            cursor.execute(query)
            assert cursor.description is first, "built once for its shape"
            plain.execute(query)
            assert [(c.name, c.type_code) for c in first] == [(c.name, c.type_code) for c in plain.description]
        cursor.execute("SET lock_timeout = 3000")
        assert cursor.description is None, "a command without rows has no description"
