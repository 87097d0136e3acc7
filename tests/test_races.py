"""Races (SPEC "Concurrency"): many people act on the same tasks at once; one wins each, the others get a 409.

On PostgreSQL with real concurrent connections: threads, each in its own app context (so its own session and
connection), and gunicorn worker processes behind a real HTTP port. On SQLite with processes sharing one file.
Everybody acts with version 1, the version they all saw; the cap is off, so only the race decides.
"""

from __future__ import annotations

import multiprocessing
import random
import re
import threading
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPErrorProcessor, ProxyHandler, Request, build_opener

import pytest
from sqlalchemy import event, select

from tests.conftest import postgres_only
from tests.conftest import test_config as app_settings
from tests.factories import PASSWORD
from tests.helpers import HTMX, attr, in_parallel
from tests.servers import gunicorn
from workorders import create_app
from workorders.errors import Unavailable
from workorders.extensions import db
from workorders.tasks import service
from workorders.tasks.errors import TaskConflict
from workorders.tasks.models import Task, TaskEvent
from workorders.users.models import User

SEEN = 1  # the version every racer saw: the task as it was created
UNAVAILABLE = "<unavailable>"  # in place of a current owner: the attempt got a 503, not a 409
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def app_config(database_url) -> dict:
    """No cap (the race alone decides), and on PostgreSQL a pool with a connection for every racing thread."""
    if database_url.startswith("sqlite"):
        return {"TASK_CAP_PER_OPERATOR": 0}
    return {"TASK_CAP_PER_OPERATOR": 0, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 10}}


@pytest.fixture
def open_tasks(make_task, printing):
    """`count` open Printing tasks nobody holds, at version 1; returns their ids."""

    def make(count: int) -> list[int]:
        return [make_task(process=printing).id for _ in range(count)]

    return make


@dataclass(frozen=True)
class Attempt:
    """One person's try at one task: won it, or lost and was told who holds it (`holder`)."""

    task_id: int
    actor: str
    won: bool
    holder: str | None


def shuffled(task_ids: list[int], seed: int) -> list[int]:
    """The tasks in an order of their own for each racer, the same on every run."""
    order = list(task_ids)
    random.Random(seed).shuffle(order)
    return order


def race(app, plans: list[tuple[str, list[int], Callable]]) -> list[Attempt]:
    """Run each plan (username, task ids, act) in its own thread and app context, all starting together."""
    # `act(task_id, actor)` calls a service and returns who got the task. A TaskConflict is a lost attempt;
    # any other error (a 503's Unavailable too) fails the race.
    acts = {username: (task_ids, act) for username, task_ids, act in plans}

    def attempts(actor: User) -> list[Attempt]:
        task_ids, act = acts[actor.username]
        made = []
        for task_id in task_ids:
            try:
                made.append(Attempt(task_id, actor.username, True, act(task_id, actor)))
            except TaskConflict as conflict:
                made.append(Attempt(task_id, actor.username, False, conflict.current_owner))
        return made

    return in_parallel(app, list(acts), attempts)


@contextmanager
def task_updates() -> Iterator[list[int]]:
    """The row count of every UPDATE of a task, from any thread, while the block runs."""
    counts = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        # On PostgreSQL the action's UPDATE and its event INSERT are one statement (`WITH updated AS (UPDATE …)
        # INSERT …`), whose row count is the event's: 1 exactly when the UPDATE matched.
        if statement.startswith(("UPDATE tasks", "WITH updated AS")):
            counts.append(cursor.rowcount)

    event.listen(db.engine, "after_cursor_execute", record)
    try:
        yield counts
    finally:
        event.remove(db.engine, "after_cursor_execute", record)


def claim(task_id: int, actor: User) -> str:
    outcome = service.claim(task_id, actor, version=SEEN)
    assert outcome.changed, outcome
    return actor.username


def assign_to(assignee: str) -> Callable:
    def assign(task_id: int, actor: User) -> str:
        outcome = service.assign(task_id, actor, version=SEEN, assignee=assignee)
        assert outcome.changed, outcome
        return assignee

    return assign


def one_winner_each(attempts: list[Attempt], task_ids: list[int]) -> dict[int, Attempt]:
    """Each task was won exactly once, and every loser was told who holds it now. Returns the winning attempts."""
    by_task = defaultdict(list)
    for attempt in attempts:
        by_task[attempt.task_id].append(attempt)
    assert sorted(by_task) == sorted(task_ids)
    winners = {}
    for task_id, tries in by_task.items():
        won = [attempt for attempt in tries if attempt.won]
        assert len(won) == 1, f"task {task_id}: {won}"
        winners[task_id] = won[0]
        assert [attempt for attempt in tries if attempt.holder != won[0].holder] == [], f"task {task_id}: {tries}"
    return winners


def database_agrees(winners: dict[int, Attempt]) -> None:
    """Each task is held by its winner at version 2, with one event: the winner's claim or assignment."""
    db.session.rollback()  # see what the racers committed, not what this session read before
    tasks = db.session.scalars(select(Task).where(Task.id.in_(winners))).all()
    assert {task.id: (task.owner_username, task.version) for task in tasks} == {
        task_id: (won.holder, 2) for task_id, won in winners.items()
    }
    events = defaultdict(list)
    for done in db.session.scalars(select(TaskEvent).where(TaskEvent.task_id.in_(winners))):
        events[done.task_id].append((done.action, done.actor.username, done.to_assignee.username, done.version))
    assert dict(events) == {
        task_id: [("claim" if won.actor == won.holder else "assign", won.actor, won.holder, 2)]
        for task_id, won in winners.items()
    }


@postgres_only
def test_sixteen_operators_claiming_the_same_hundred_tasks_each_task_has_one_winner(app, open_tasks, people):
    task_ids = open_tasks(100)
    operators = people(16, "op")

    with task_updates() as updates:
        attempts = race(app, [(name, shuffled(task_ids, n), claim) for n, name in enumerate(operators)])

    assert len(attempts) == 16 * 100
    winners = one_winner_each(attempts, task_ids)
    assert all(won.holder == won.actor for won in winners.values())
    database_agrees(winners)
    # The row lock makes each loser wait for the winner's commit and then see it: only winners ever write, so
    # the version compare in the UPDATE (all SQLite has) never had to step in.
    assert updates == [1] * 100


@postgres_only
def test_claims_racing_a_supervisors_assignments_leave_each_task_with_one_holder(app, open_tasks, people):
    task_ids = open_tasks(100)
    claimers = people(12, "op")
    supervisors = people(4, "sup", role="supervisor")
    assignees = people(4, "crew")  # operators who get tasks only from a supervisor

    plans = [(name, shuffled(task_ids, n), claim) for n, name in enumerate(claimers)]
    plans += [
        (name, shuffled(task_ids, 100 + n), assign_to(to))
        for n, (name, to) in enumerate(zip(supervisors, assignees, strict=True))
    ]
    with task_updates() as updates:
        attempts = race(app, plans)

    winners = one_winner_each(attempts, task_ids)
    kinds = {"claim" if won.actor == won.holder else "assign" for won in winners.values()}
    assert kinds == {"claim", "assign"}, "both sides should win some tasks, or it was no race"
    database_agrees(winners)
    assert updates == [1] * 100


META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict
    body: str


class _KeepErrorResponses(HTTPErrorProcessor):
    """Hand back 3xx, 4xx and 5xx responses as they are, instead of raising or following them."""

    def http_response(self, request, response):
        return response


class Browser:
    """One person's browser: its own cookies and CSRF token, talking to 127.0.0.1 directly (no proxy)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = build_opener(ProxyHandler({}), HTTPCookieProcessor(CookieJar()), _KeepErrorResponses())
        self.token = None

    def request(self, path: str, fields: dict | None = None, headers: dict | None = None) -> Reply:
        data = urlencode(fields).encode() if fields is not None else None
        with self.opener.open(Request(self.base_url + path, data=data, headers=headers or {}), timeout=30) as response:
            reply = Reply(response.status, dict(response.headers), response.read().decode())
        token = META_TOKEN.search(reply.body)
        if token:
            self.token = token.group(1)
        return reply

    def log_in(self, username: str) -> None:
        self.request("/login")
        reply = self.request("/login", {"username": username, "password": PASSWORD, "csrf_token": self.token})
        assert reply.status == 303, reply
        self.request("/tasks")  # a new session starts at login, and with it a new CSRF token

    def claim(self, task_id: int) -> Reply:
        return self.request(f"/tasks/{task_id}/claim", {"csrf_token": self.token, "version": str(SEEN)}, HTMX)


@pytest.fixture
def server(database_url, tmp_path) -> Iterator[str]:
    """gunicorn with gunicorn.conf.py's production settings and three workers on a local port; yields its URL."""
    with gunicorn(database_url, tmp_path / "gunicorn.log", workers=3, TASK_CAP_PER_OPERATOR="0") as url:
        yield url


@pytest.mark.slow
@postgres_only
def test_claims_over_http_to_three_gunicorn_workers_get_one_200_and_409s_naming_the_winner(
    app, server, open_tasks, people
):
    task_ids = open_tasks(24)
    browsers = {name: Browser(server) for name in people(16, "op")}
    for name, browser in browsers.items():
        browser.log_in(name)
    barrier = threading.Barrier(len(browsers))

    def claim_all(name: str, order: list[int]) -> list[tuple[int, str, Reply]]:
        barrier.wait(timeout=30)
        return [(task_id, name, browsers[name].claim(task_id)) for task_id in order]

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        futures = [pool.submit(claim_all, name, shuffled(task_ids, n)) for n, name in enumerate(browsers)]
        replies = [reply for future in futures for reply in future.result(timeout=120)]

    odd = [(task_id, name, reply.status) for task_id, name, reply in replies if reply.status not in (200, 409)]
    assert odd == [], "only 200 (won) and 409 (someone else was first); no 5xx"
    winners = {task_id: name for task_id, name, reply in replies if reply.status == 200}
    assert sorted(winners) == sorted(task_ids)
    assert sum(reply.status == 200 for _, _, reply in replies) == len(task_ids)
    for task_id, name, reply in replies:
        if reply.status == 200:
            assert attr(reply.body, f"task-{task_id}", "data-assignee") == name
        else:
            assert reply.headers["HX-Retarget"] == "#modal-slot"
            assert attr(reply.body, "task-dialog", "data-current-owner") == winners[task_id], reply.body
    database_agrees({task_id: Attempt(task_id, name, True, name) for task_id, name in winners.items()})


def _claim_in_own_process(url: str, username: str, task_ids: list[int], barrier, results) -> None:
    """One racer of the SQLite race, in a spawned process with its own app; puts (attempts, error) on `results`."""
    attempts, error = [], None
    try:
        app = create_app(app_settings(url, TASK_CAP_PER_OPERATOR=0))
        with app.app_context():
            try:
                actor = db.session.scalar(select(User).where(User.username == username))
                barrier.wait(timeout=60)
                for task_id in task_ids:
                    try:
                        attempts.append(Attempt(task_id, username, True, claim(task_id, actor)))
                    except TaskConflict as conflict:
                        attempts.append(Attempt(task_id, username, False, conflict.current_owner))
                    except Unavailable:
                        attempts.append(Attempt(task_id, username, False, UNAVAILABLE))
            finally:
                db.session.remove()
                db.engine.dispose()
    except BaseException:
        barrier.abort()
        error = traceback.format_exc()
    results.put((attempts, error))


@pytest.mark.slow
@ON_SQLITE
def test_processes_claiming_the_same_tasks_on_one_sqlite_file_never_give_a_task_two_owners(
    app, database_url, open_tasks, people
):
    task_ids = open_tasks(30)
    operators = people(4, "op")
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(len(operators)), spawn.Queue()
    processes = [
        spawn.Process(target=_claim_in_own_process, args=(database_url, name, shuffled(task_ids, n), barrier, results))
        for n, name in enumerate(operators)
    ]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=90) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        results.close()

    assert [error for _, error in reports if error] == []
    attempts = [attempt for process_attempts, _ in reports for attempt in process_attempts]
    # A 503 ("database is locked" after the busy timeout) changes nothing; it is counted apart from the 409s.
    unavailable = [attempt for attempt in attempts if attempt.holder == UNAVAILABLE]
    decided = [attempt for attempt in attempts if attempt.holder != UNAVAILABLE]
    won = sorted({attempt.task_id for attempt in decided if attempt.won})
    database_agrees(one_winner_each([attempt for attempt in decided if attempt.task_id in won], won))
    assert (won, unavailable) == (sorted(task_ids), []), "writers should queue for the file, not fail"
