"""Benchmark: the board's cost by page size, the live board's 204, and claims with and without contention.

Run: `make bench` (or `.venv/bin/python -m bench.board`). Prints ratios measured in this one run, on SQLite and,
when TEST_DATABASE_URL points at a PostgreSQL server, on PostgreSQL in a throwaway schema.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from datetime import date, timedelta

from flask_migrate import upgrade

from bench.databases import on_each_database
from workorders import create_app
from workorders.departments.models import Department, Process
from workorders.errors import DomainError
from workorders.extensions import db
from workorders.orders.models import WorkOrder
from workorders.tasks import service
from workorders.tasks.models import Task
from workorders.users.models import User
from workorders.users.passwords import hash_password

FAST_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
RACERS = 16


def make_app(url: str):
    app = create_app(
        {
            "WORKORDERS_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_PARAMS": FAST_HASH,
            "TASK_CAP_PER_OPERATOR": 0,
            "WTF_CSRF_ENABLED": False,
            # A connection for every racing thread: the default pool (5 + 10 overflow) would make one wait.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": RACERS + 2},
        }
    )
    with app.app_context():
        upgrade()
    return app


def seed(app, tasks: int) -> list[int]:
    """One department, 16 operators, `tasks` open tasks (one per work order); returns the task ids."""
    with app.app_context():
        department = Department(code="PRINT", name="Printing")
        process = Process(code="OFFSET", name="Offset printing", department=department)
        password = hash_password("benchmark")
        users = [
            User(
                username=f"op{n:02d}",
                display_name=f"Operator {n}",
                role="operator",
                departments=[department],
                password_hash=password,
            )
            for n in range(RACERS)
        ]
        db.session.add_all([department, process, *users])
        orders = [
            WorkOrder(
                number=f"WO-2026-{n:04d}",
                customer="Bench",
                product="boxes",
                quantity=1000,
                due_date=date.today() + timedelta(days=n % 20),
            )
            for n in range(1, tasks + 1)
        ]
        rows = [
            Task(work_order=order, process=process, department=department, sequence=1, planned_qty=1000)
            for order in orders
        ]
        db.session.add_all(orders + rows)
        db.session.commit()
        return [row.id for row in rows]


def per_request_ms(client, path: str, repeat: int, **kwargs) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, **kwargs)
        timings.append(time.perf_counter() - started)
        assert response.status_code in (200, 204), response.status_code
    return statistics.median(timings) * 1000


def board_figures(app) -> dict[str, float]:
    client = app.test_client()
    client.post("/login", data={"username": "op00", "password": "benchmark"})
    app.config["BOARD_PAGE_SIZE"] = 5
    figures = {"board, 5 rows (ms)": per_request_ms(client, "/tasks", 30)}
    app.config["BOARD_PAGE_SIZE"] = 50
    figures["board, 50 rows (ms)"] = per_request_ms(client, "/tasks", 30)
    page = client.get("/tasks", headers={"HX-Request": "true"}).get_data(as_text=True)
    version = page.split('data-board-version="', 1)[1].split('"', 1)[0]
    figures["live poll, unchanged: 204 (ms)"] = per_request_ms(
        client, f"/tasks?since={version}", 30, headers={"HX-Request": "true"}
    )
    return figures


def claim_figures(app, task_ids: list[int]) -> dict[str, float]:
    """Seconds per claim: one operator alone over distinct tasks, then 16 racing for the same tasks."""
    alone, contested = task_ids[: len(task_ids) // 2], task_ids[len(task_ids) // 2 :]
    with app.app_context():
        operator = db.session.get(User, 1)
        started = time.perf_counter()
        for task_id in alone:
            service.claim(task_id, operator, 1)
        solo = (time.perf_counter() - started) / len(alone)

    barrier = threading.Barrier(RACERS)
    outcomes = {"won": 0, "conflict": 0, "other": 0}
    lock = threading.Lock()

    def race(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(User, user_id)
            user.departments  # noqa: B018  (loaded before the clock starts)
            barrier.wait(timeout=60)
            for task_id in contested:
                try:
                    service.claim(task_id, user, 1)
                    result = "won"
                except DomainError as error:
                    result = "conflict" if error.status == 409 else "other"
                with lock:
                    outcomes[result] += 1

    threads = [threading.Thread(target=race, args=(user_id,)) for user_id in range(1, RACERS + 1)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    elapsed = time.perf_counter() - started
    assert outcomes == {"won": len(contested), "conflict": len(contested) * (RACERS - 1), "other": 0}, outcomes
    attempts = len(contested) * RACERS
    return {"claim alone (ms)": solo * 1000, f"claim, {RACERS} racing, per attempt (ms)": elapsed / attempts * 1000}


def run(name: str, url: str) -> None:
    app = make_app(url)
    task_ids = seed(app, 400)
    board = board_figures(app)
    claims = claim_figures(app, task_ids)
    with app.app_context():
        db.engine.dispose()
    print(f"\n{name}")
    for label, value in {**board, **claims}.items():
        print(f"  {label:<42} {value:8.2f}")
    print(f"  {'ratio 50 rows / 5 rows':<42} {board['board, 50 rows (ms)'] / board['board, 5 rows (ms)']:8.2f}")
    poll = board["live poll, unchanged: 204 (ms)"] / board["board, 50 rows (ms)"]
    print(f"  {'ratio live poll 204 / 50-row board':<42} {poll:8.2f}")
    racing = claims[f"claim, {RACERS} racing, per attempt (ms)"] / claims["claim alone (ms)"]
    print(f"  {'ratio racing attempt / claim alone':<42} {racing:8.2f}")


def main() -> int:
    on_each_database(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
