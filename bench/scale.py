"""Benchmark: the board at scale — what a page and the live poll cost after years of finished tasks.

Run: `.venv/bin/python -m bench.scale [--project PATH] [--sizes 10000,200000,1000000] [--requests 40]`. For each
size, a scratch PostgreSQL database built by PATH's own migrations is loaded with COPY: five departments, a
five-step route per work order, all tasks done (2 % cancelled) but the newest 300, finished at a steady 400 a day
(so a shop with 1,000,000 tasks has about seven years behind it, and every size has the same last week). PATH's app
serves each size under gunicorn, all at once. One logged-in operator of two departments sends each request
`--requests` times over HTTP (http.client, a connection per request), one request at a time, in 4 rounds of short
runs (each after 4 unmeasured requests); the sizes take turns run by run, so that whatever else the machine does
weighs on every size alike. Printed: p50 and p90 per request and size, each p50's ratio to the first size's, the
unchanged poll's share of a board page, and `EXPLAIN (ANALYZE, BUFFERS)` of the SQL of the poll and of board pages
(captured in-process by bench/scale_explain.py, which also times the app's CPU per request). PostgreSQL:
TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test; without a server the benchmark is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.client import HTTPConnection
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from urllib.request import HTTPCookieProcessor, ProxyHandler, build_opener

import psycopg
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url

from bench.claims import checkout_commit, gunicorn, migrate, scratch_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
SIZES = (10_000, 200_000, 1_000_000)
NOT_DONE = 300
FINISHED_PER_DAY = 400
CANCEL_EVERY = 50  # one work order in 50 was cancelled: its five steps are
DEPARTMENTS = (
    ("PREPRESS", "Prepress", "PLATES", "Plate making"),
    ("PRINT", "Printing", "OFFSET", "Offset printing"),
    ("LAMIN", "Lamination", "LAMINATE", "Lamination"),
    ("DIECUT", "Die-cutting", "DIECUT", "Die-cutting"),
    ("PACK", "Packaging", "PACK", "Packaging"),
)
STEPS = len(DEPARTMENTS)
OPERATORS = ("olga", "omar", "otto", "ola", "oscar")
VIEWER = "olga"  # operator of Printing and Die-cutting: two of the five departments
VIEWER_DEPARTMENTS = ("PRINT", "DIECUT")
PASSWORD = "benchmark"
ROUNDS = 4
WARM_UP = 4  # requests before each run is measured: gunicorn's 4 workers have each served it
CUSTOMERS = (
    "Northwind Foods", "Alpine Dairy", "Vinter Wines", "Baltic Fish", "Cedar Cosmetics", "Delta Pharma",
    "Elm Street Bakery", "Fjord Water", "Granite Tools", "Harbor Tea", "Iris Perfumes", "Juniper Gin",
    "Kestrel Toys", "Lumen Candles", "Meadow Honey", "Nimbus Electronics", "Orchard Juice", "Pine Soap",
    "Quarry Coffee", "Riverside Chocolate", "Saffron Spices", "Tundra Ice Cream", "Umber Paints", "Velvet Shoes",
)  # fmt: skip
PRODUCTS = (
    "folding boxes", "gift boxes", "wine labels", "shelf trays", "blister cards", "sleeves", "display stands",
    "mailer boxes", "pharma cartons", "tea tins wraps", "bottle labels", "lid inserts", "hang tags",
)  # fmt: skip


@dataclass(frozen=True)
class Probe:
    """One measured request: a label, a path, and whether it is sent as htmx (the live poll is)."""

    label: str
    path: str
    htmx: bool = False
    expect: int = 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="the checkout whose app is served")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="task counts, comma-separated")
    parser.add_argument("--requests", type=int, default=40, help="measured requests per probe and size")
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN output")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    server = (os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER).replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(server, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        print(f"\nscale: skipped (no PostgreSQL at {make_url(server)!r}: {str(error).splitlines()[0]})")
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    with ExitStack() as stack:
        sites = {size: stack.enter_context(site(project, server, size)) for size in sizes}
        print(f"measuring {args.requests} requests per probe and size, the sizes taking turns …", flush=True)
        results = measure(sites, args.requests)
        explains = {} if args.no_explain else {size: explain_requests(project, sites[size]) for size in sizes}
    print_table(results)
    for size, text in explains.items():
        print(f"\n### EXPLAIN (ANALYZE, BUFFERS) at {size:,} tasks\n\n{text}")
    print(f"\ncheckout: {project} at {checkout_commit(project)}")
    return 0


@dataclass
class Site:
    """One size: its database, the app serving it, the operator's session there, and numbers to search for."""

    url: str
    base_url: str
    cookie: str
    numbers: dict[str, str]

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname

    @property
    def port(self) -> int:
        return urlsplit(self.base_url).port


@contextmanager
def site(project: Path, server: str, size: int) -> Iterator[Site]:
    """A scratch database with `size` tasks, served by PATH's app under gunicorn, with the operator logged in."""
    print(f"[{size:,} tasks] loading …", flush=True)
    with scratch_database(server) as url:
        migrate(project, url)
        started = time.monotonic()
        numbers = load(url, size)
        print(f"[{size:,} tasks] loaded and analysed in {time.monotonic() - started:.0f} s", flush=True)
        with gunicorn(project, url) as (base_url, _master, log):
            yield Site(url, base_url, login(base_url), numbers)
            errors = [line for line in log.read_text().splitlines() if "Traceback" in line or "[ERROR]" in line]
            if errors:
                raise SystemExit(f"gunicorn logged errors at {size:,} tasks, first: {errors[0]}")


def probes(numbers: dict[str, str], version: str) -> list[Probe]:
    return [
        Probe("board (my departments, not done)", "/tasks"),
        Probe("filtered board (Printing, free)", "/tasks?department=PRINT&assignee=none"),
        Probe("all statuses, page 5", "/tasks?status=all&page=5"),
        Probe("search by a work order number", "/tasks?" + urlencode({"q": numbers["open"]})),
        Probe("unchanged live poll (204)", "/tasks?" + urlencode({"since": version}), htmx=True, expect=204),
        Probe("search by number tail, all statuses", "/tasks?" + urlencode({"q": numbers["tail"], "status": "all"})),
        Probe("search by customer", "/tasks?" + urlencode({"q": "riverside"})),
        Probe("search by customer, all statuses", "/tasks?" + urlencode({"q": "riverside", "status": "all"})),
        Probe("My tasks", "/tasks/mine"),
        Probe("work orders list", "/work-orders"),
        Probe("API list, all statuses, page 5", "/api/v1/tasks?status=all&page=5"),
    ]


def measure(sites: dict[int, Site], requests: int) -> dict[int, dict[str, list[float]]]:
    """Milliseconds of each request, one after another, as one logged-in operator. The sizes take turns in short
    runs: a size sends a few requests of one probe back to back (its database warm for them, as in a shop where one
    database is served), then the next size the same; and round after round, so that the machine's other work,
    which comes and goes, weighs on every size alike."""
    plans = {size: probes(one.numbers, board_version(one)) for size, one in sites.items()}
    timings: dict[int, dict[str, list[float]]] = {size: {} for size in sites}
    for round_ in range(ROUNDS):
        for index in range(len(next(iter(plans.values())))):
            for size, one in sites.items():
                probe = plans[size][index]
                measured = requests // ROUNDS + (1 if round_ < requests % ROUNDS else 0)
                for attempt in range(WARM_UP + measured):
                    started = time.perf_counter()
                    status, _ = fetch(one, probe.path, htmx=probe.htmx)
                    elapsed = (time.perf_counter() - started) * 1000
                    if status != probe.expect:
                        raise SystemExit(f"{probe.label} at {size:,} tasks: {probe.path} answered {status}")
                    if attempt >= WARM_UP:
                        timings[size].setdefault(probe.label, []).append(elapsed)
    return timings


def board_version(one: Site) -> str:
    fragment = fetch(one, "/tasks", htmx=True)[1]
    return re.search(r'data-board-version="([^"]+)"', fragment).group(1)


def login(base_url: str) -> str:
    """Log the operator in over HTTP; returns the session's Cookie header."""
    jar = CookieJar()
    opener = build_opener(ProxyHandler({}), HTTPCookieProcessor(jar))
    page = opener.open(f"{base_url}/login", timeout=30).read().decode()
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    form = urlencode({"username": VIEWER, "password": PASSWORD, "csrf_token": token}).encode()
    board = opener.open(f"{base_url}/login", data=form, timeout=30)
    if not board.url.endswith("/tasks"):
        raise SystemExit(f"login of {VIEWER} ended at {board.url}")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def fetch(one: Site, path: str, htmx: bool = False) -> tuple[int, str]:
    """GET over a connection of its own (gunicorn's sync workers close each one), with http.client: the lightest
    client at hand, as it runs on the same cores as the server."""
    connection = HTTPConnection(one.host, one.port, timeout=60)
    try:
        connection.request("GET", path, headers={"Cookie": one.cookie} | ({"HX-Request": "true"} if htmx else {}))
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def load(url: str, size: int) -> dict[str, str]:
    """COPY `size` tasks (size / 5 work orders) into an empty schema; returns numbers to search for."""
    password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    now = datetime.now(UTC)
    orders = size // STEPS
    open_orders = NOT_DONE // STEPS
    numbers: dict[str, str] = {}
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        departments, processes = {}, {}
        for code, name, process_code, process_name in DEPARTMENTS:
            departments[code] = cursor.execute(
                "INSERT INTO departments (code, name) VALUES (%s, %s) RETURNING id", (code, name)
            ).fetchone()[0]
            processes[code] = cursor.execute(
                "INSERT INTO processes (code, name, department_id, parallel) VALUES (%s, %s, %s, false) RETURNING id",
                (process_code, process_name, departments[code]),
            ).fetchone()[0]
        users = {}
        for n, username in enumerate(OPERATORS):
            users[username] = cursor.execute(
                "INSERT INTO users (username, display_name, role, active, password_hash, session_version)"
                " VALUES (%s, %s, 'operator', true, %s, 1) RETURNING id",
                (username, username.title(), password_hash),
            ).fetchone()[0]
            member_of = VIEWER_DEPARTMENTS if username == VIEWER else (DEPARTMENTS[n][0], DEPARTMENTS[(n + 1) % 5][0])
            for code in member_of:
                cursor.execute(
                    "INSERT INTO user_departments (user_id, department_id) VALUES (%s, %s)",
                    (users[username], departments[code]),
                )
        holders = [users[name] for name in OPERATORS]
        order_columns = "id, number, customer, product, quantity, due_date, priority, status, created_at"
        task_columns = (
            "id, work_order_id, process_id, department_id, sequence, planned_qty, good_qty, scrap_qty, status,"
            " assignee_id, version, created_at, updated_at, started_at, completed_at"
        )
        finished_tasks = (orders - open_orders) * STEPS
        with cursor.copy(f"COPY work_orders ({order_columns}) FROM STDIN") as orders_copy:
            for k in range(orders):
                finished_at = now - timedelta(days=(finished_tasks - k * STEPS) / FINISHED_PER_DAY)
                number = f"WO-{2000 + k // 9999}-{k % 9999 + 1:04d}"
                is_open = k >= orders - open_orders
                status = "open" if is_open else ("cancelled" if k % CANCEL_EVERY == 0 else "done")
                due = (finished_at + timedelta(days=3)).date() if not is_open else date.today() + timedelta(k % 9)
                orders_copy.write_row(
                    (
                        k + 1,
                        number,
                        CUSTOMERS[k % len(CUSTOMERS)],
                        f"{PRODUCTS[k % len(PRODUCTS)]} {100 + k % 400}x{60 + k % 90}",
                        1000 + k % 50 * 100,
                        due,
                        ("low", "normal", "normal", "high", "urgent")[k % 5],
                        status,
                        finished_at - timedelta(days=5),
                    )
                )
                if k == orders - open_orders:
                    numbers["open"] = number
                if k == orders - open_orders // 2:
                    numbers["tail"] = number[-4:]
        with cursor.copy(f"COPY tasks ({task_columns}) FROM STDIN") as tasks_copy:
            for k in range(orders):
                order_finished = now - timedelta(days=(finished_tasks - k * STEPS) / FINISHED_PER_DAY)
                is_open = k >= orders - open_orders
                cancelled = not is_open and k % CANCEL_EVERY == 0
                for step, (code, *_rest) in enumerate(DEPARTMENTS):
                    task_id = k * STEPS + step + 1
                    holder = holders[(k + step) % len(holders)]
                    at = order_finished + timedelta(minutes=step * 10)
                    if is_open:
                        status, assignee, version = _open_state(k, step, holder)
                        row = (status, assignee, version, at, at, None, None)
                    elif cancelled:
                        row = ("cancelled", None, 2, at, at, None, None)
                    else:
                        row = ("done", holder, 4, at, at, at - timedelta(hours=1), at)
                    status, assignee, version, created, updated, started, completed = row
                    tasks_copy.write_row(
                        (
                            task_id,
                            k + 1,
                            processes[code],
                            departments[code],
                            step + 1,
                            1000,
                            1000 if status == "done" else 0,
                            0,
                            status,
                            assignee,
                            version,
                            created - timedelta(days=5),
                            updated,
                            started,
                            completed,
                        )
                    )
        for table in ("work_orders", "tasks"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return numbers


def _open_state(k: int, step: int, holder: int) -> tuple[str, int | None, int]:
    """An unfinished step: the first of an order is being worked on (or paused), the others wait, a third held."""
    if step == 0:
        return ("in_progress", holder, 3) if k % 3 else ("paused", holder, 4)
    return ("open", holder, 2) if (k + step) % 3 == 0 else ("open", None, 1)


def explain_requests(project: Path, one: Site) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of what the poll and the board pages send, from bench/scale_explain.py."""
    job = {
        "database_url": one.url.replace("postgresql://", "postgresql+psycopg://", 1),
        "username": VIEWER,
        "password": PASSWORD,
        "paths": {
            "board page": "/tasks",
            "all statuses, page 5": "/tasks?status=all&page=5",
            "search by customer, all statuses": "/tasks?q=riverside&status=all",
        },
        "search": "/tasks?" + urlencode({"q": one.numbers["open"]}),
    }
    helper = Path(__file__).with_name("scale_explain.py")
    done = subprocess.run(
        [sys.executable, str(helper)], cwd=project, input=json.dumps(job), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"EXPLAIN failed:\n{done.stderr}")
    return done.stdout


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def print_table(results: dict[int, dict[str, list[float]]]) -> None:
    sizes = list(results)
    first = sizes[0]
    columns = [f"{size:,} p50 / p90 ms" for size in sizes] + [f"ratio {size:,} / {first:,}" for size in sizes[1:]]
    print("\n| request | " + " | ".join(columns) + " |")
    print("|---" * (1 + len(columns)) + "|")
    labels = list(results[first])
    for label in labels:
        p50 = {size: statistics.median(results[size][label]) for size in sizes}
        cells = [f"{p50[size]:.1f} / {percentile(results[size][label], 0.9):.1f}" for size in sizes]
        ratios = [f"{p50[size] / p50[first]:.2f}" for size in sizes[1:]]
        print(f"| {label} | " + " | ".join(cells + ratios) + " |")
    poll, board = "unchanged live poll (204)", "board (my departments, not done)"
    shares = [f"{size:,}: {statistics.median(results[size][poll]) / statistics.median(results[size][board]):.2f}"
              for size in sizes]  # fmt: skip
    print("\nunchanged poll / board page (p50): " + ", ".join(shares))
    print(f"machine load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
