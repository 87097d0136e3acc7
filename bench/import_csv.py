"""Benchmark: importing a CSV file of 10,000 work orders (about 42,000 tasks), and rejecting one.

Run: `.venv/bin/python -m bench.import_csv [ROWS]`. Times, on SQLite and (when TEST_DATABASE_URL points at a
PostgreSQL server) on PostgreSQL in a throwaway schema: reading and checking the file alone; the whole import
(check, number lock, one transaction); rejecting the same file when its last line is bad; and the command
line end to end (`flask --app wsgi work-orders import FILE`, app start included). Median of three runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import select

from bench.databases import on_each_database
from workorders import create_app
from workorders.demo import DEPARTMENTS, PROCESSES, ROUTES
from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.orders import importer, service
from workorders.orders.errors import ImportRejected

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
HEADER = "number,customer,product,quantity,due_date,priority,route"


def make_app(url: str):
    app = create_app({"WORKORDERS_ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        departments = {code: Department(code=code, name=name) for code, name in DEPARTMENTS}
        processes = [
            Process(code=code, name=name, department=departments[dept], parallel=parallel)
            for code, name, dept, parallel in PROCESSES
        ]
        db.session.add_all([*departments.values(), *processes])
        db.session.commit()
    return app


def csv_file(rows: int, first_year: int, bad_last_line: bool = False) -> bytes:
    """`rows` work orders; every tenth without a number (one is allocated), the rest numbered over two years."""
    lines = [HEADER]
    due = date.today() + timedelta(days=30)
    for n in range(rows):
        number = "" if n % 10 == 0 else f"WO-{first_year + n // 5000}-{n % 5000 + 1:04d}"
        route = ">".join(ROUTES[n % len(ROUTES)])
        lines.append(f'{number},Customer {n % 97},"folding boxes, 4/0",{1000 + n},{due},normal,{route}')
    if bad_last_line:
        lines[-1] = lines[-1].replace(",normal,", ",soon,")
    return ("\n".join(lines) + "\n").encode()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(name: str, url: str, rows: int) -> None:
    app = make_app(url)
    figures: dict[str, list[float]] = {"read and check only": [], "import": [], "reject (bad last line)": []}
    tasks = 0
    with app.app_context():
        codes = set(db.session.scalars(select(Process.code)))
        for attempt in range(RUNS):
            data = csv_file(rows, first_year=2040 + 2 * attempt)
            figures["read and check only"].append(timed(lambda data=data: importer.read_rows(data, codes)))
            bad = csv_file(rows, first_year=2040 + 2 * attempt, bad_last_line=True)
            figures["reject (bad last line)"].append(timed(lambda bad=bad: _expect_rejection(bad)))
            started = time.perf_counter()
            tasks = service.import_csv(None, data).tasks
            figures["import"].append(time.perf_counter() - started)
        db.engine.dispose()
    figures["command line, end to end"] = [_cli_seconds(url, rows)]
    print(f"\n{name}: {rows:,} rows, {tasks:,} tasks")
    for label, seconds in figures.items():
        median = statistics.median(seconds)
        print(f"  {label:<28} {median:7.2f} s   {rows / median:9,.0f} rows/s")


def _expect_rejection(data: bytes) -> None:
    try:
        service.import_csv(None, data)
    except ImportRejected:
        return
    raise AssertionError("the bad file was imported")


def _cli_seconds(url: str, rows: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        path.write_bytes(csv_file(rows, first_year=2090))
        env = {**os.environ, "DATABASE_URL": url, "WORKORDERS_ENV": "testing", "SECRET_KEY": "bench"}
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "work-orders", "import", str(path)]
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        return time.perf_counter() - started


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    on_each_database(lambda name, url: run(name, url, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
