"""Benchmark: claims through the whole stack (gunicorn, HTTP, PostgreSQL), with pgbench as the ceiling.

Run: `.venv/bin/python -m bench.claims [--project PATH] [--seconds 20] [--lane api|htmx|both]`, or with
`--against OTHER` to serve another checkout beside PATH, load the two in turns and print the ratio. For each lane, a
scratch database built by PATH's own migrations gets 16 operators and 20,000 open tasks; PATH's app is served by
gunicorn (4 sync workers) and wrk (bench/claims.lua) claims with 16 closed-loop clients, half the time one of 10
hot tasks (real 409 contention), else any task. Measured: claims/s, latency, statuses, CPU ms per claim of the
app and of PostgreSQL (from /proc), statements per claim (in-process, bench/claim_statements.py), and pgbench
running the very statements of one claim at the same concurrency. PostgreSQL: TEST_DATABASE_URL, else
postgresql://postgres@127.0.0.1:5432/test; without a server the benchmark is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, ProxyHandler, build_opener

import psycopg
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url

from bench.cpu import CLOCK_TICK_MS, app_pids, cpu_ms, machine_ticks, postgres_pids, process_ticks
from bench.pgbench_script import pgbench_script
from workorders.users.passwords import hash_api_token

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
OPERATORS = 16
TASKS = 20_000
RESERVED = 500  # the last task ids, kept out of the load for the in-process statement count
STATEMENT_CLAIMS = 205  # the helper skips the first 5 (a fresh app's connections)
HOT = 10
WORKERS = 4
WARM_UP_SECONDS = 2
PASSWORD = "benchmark"


@dataclass(frozen=True)
class Seed:
    user_ids: list[int]
    usernames: list[str]
    tokens: list[str]
    task_ids: list[int]

    @property
    def load_ids(self) -> list[int]:
        return self.task_ids[:-RESERVED]

    @property
    def task_range(self) -> range:
        return range(self.task_ids[0], self.task_ids[-1] + 1)

    @property
    def user_range(self) -> range:
        return range(self.user_ids[0], self.user_ids[-1] + 1)


@dataclass
class LaneResult:
    lane: str
    figures: dict
    sql: str
    problems: list[str]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="the checkout whose app is served")
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per lane")
    parser.add_argument("--lane", choices=("api", "htmx", "both"), default="both")
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout (the commit to compare with): served beside --project and loaded in turns",
    )
    args = parser.parse_args(argv)
    project = args.project.resolve()
    # psycopg and pgbench take libpq's URL; SQLAlchemy's driver name may come along from the tests' setting.
    server = (os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER).replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(server, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        print(f"\nclaims: skipped (no PostgreSQL at {make_url(server)!r}: {str(error).splitlines()[0]})")
        return 0
    if not ensure_wrk():
        return 2
    lanes = ("api", "htmx") if args.lane == "both" else (args.lane,)
    if args.against is not None:
        return compare(args.against.resolve(), project, server, lanes, args.seconds)
    results = [run_lane(project, server, lane, args.seconds) for lane in lanes]
    for result in results:
        print(f"\nSQL of one claim, {result.lane} lane (pgbench script, parameters as pgbench variables):")
        print(result.sql)
    print_table(results)
    print(f"\ncheckout: {project} at {checkout_commit(project)}")
    return 1 if any(result.problems for result in results) else 0


def compare(before: Path, after: Path, server: str, lanes: tuple[str, ...], seconds: int) -> int:
    """Serve `before` and `after` side by side and load them in turns, 5 s each, for `seconds` of claims each.

    A shared machine's speed drifts by more than the difference being measured, even from one minute to the next
    (the same commit measured 12.7 and 16.3 ms per claim three minutes apart). Short turns, in the order
    ABBA ABBA …, put both commits under the same drift; only the ratio is compared. No pgbench ceiling here.
    """
    problems, rows, notes = [], [], []
    for lane in lanes:
        totals, turn_ratios, lane_problems = compare_lane(lane, (before, after), server, seconds)
        problems += [f"{lane}: {problem}" for problem in lane_problems]
        ratio = totals[1]["total"] / totals[0]["total"]
        for code, figures, shown in (("before", totals[0], "1"), ("after", totals[1], f"**{ratio:.2f}**")):
            cells = [f"{figures[name]:.{digits}f}" for name, digits in COMPARED]
            rows.append(f"| {lane} | {code} | " + " | ".join(cells) + f" | {shown} |")
        spread = ", ".join(f"{turn:.2f}" for turn in turn_ratios)
        notes.append(f"{lane}: after / before, total CPU per claim {ratio:.2f}; turn by turn: {spread}")
    print(f"\nbefore: {before} at {checkout_commit(before)}\nafter:  {after} at {checkout_commit(after)}\n")
    print("| lane | code | claims/s | app CPU ms | PG CPU ms | total CPU ms/claim | ratio |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows + notes + problems))
    return 1 if problems else 0


COMPARED = (("rate", 0), ("app", 2), ("pg", 2), ("total", 2))
TURN_SECONDS = 5


def compare_lane(lane: str, projects: tuple[Path, Path], server: str, seconds: int):
    """Both projects' apps on their own fresh data, loaded in turns; their figures per claim, each turn's ratio of
    total CPU per claim, and what the audit and the logs found."""
    with ExitStack() as stack:
        served = []
        for project in projects:
            print(f"\n[{lane}] {project}: setting up 20,000 tasks …", flush=True)
            url = stack.enter_context(scratch_database(server))
            migrate(project, url)
            seed = seed_data(url)
            served.append((url, *stack.enter_context(serving(project, url, lane, seed))))
        turns = max(1, seconds // TURN_SECONDS)
        print(f"[{lane}] {turns} turns of {TURN_SECONDS} s each, in the order ABBA …", flush=True)
        measured: list[list[tuple[dict, dict]]] = [[], []]
        for turn in range(turns):
            for index in (0, 1) if turn % 2 == 0 else (1, 0):
                url, base_url, master, _log, config = served[index]
                measured[index].append(measured_load(base_url, config, TURN_SECONDS, master, server, url))
        problems = []
        for url, _base_url, _master, log, _config in served:
            problems += audit_problems(url)
            errors = [line for line in log.read_text().splitlines() if "Traceback" in line or "[ERROR]" in line]
            problems += [f"gunicorn logged {len(errors)} errors, first: {errors[0]}"] if errors else []
    totals = [per_claim(runs) for runs in measured]
    turn_ratios = [per_claim([b])["total"] / per_claim([a])["total"] for a, b in zip(*measured, strict=True)]
    for project, runs in zip(projects, measured, strict=True):
        other = sum(n for load, _ in runs for status, n in load["statuses"].items() if status not in ("200", "409"))
        errors = {kind: sum(load["errors"][kind] for load, _ in runs) for kind in runs[0][0]["errors"]}
        if other or any(errors.values()):
            kinds = ", ".join(f"{kind} {n}" for kind, n in errors.items() if n) or "none"
            problems.append(f"{project}: {other} responses other than 200 and 409; socket errors: {kinds}")
    return totals, turn_ratios, problems


def per_claim(runs: list[tuple[dict, dict]]) -> dict:
    """Claims per second and CPU ms per claim (app, PostgreSQL, both) over several measured runs."""
    responses = sum(load["requests"] for load, _ in runs)
    seconds = sum(load["duration_us"] for load, _ in runs) / 1e6
    app, pg = (sum(cpu[part] for _, cpu in runs) / responses for part in ("app", "pg"))
    return {"rate": responses / seconds, "app": app, "pg": pg, "total": app + pg}


def checkout_commit(project: Path) -> str:
    git = ["git", "-C", str(project)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    changes = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return (commit or "unknown commit") + (" with uncommitted changes" if changes.stdout.strip() else "")


def ensure_wrk() -> bool:
    """wrk from Debian; installed here when running as root, else the user is told how."""
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0:
        print("claims: installing wrk (apt-get install -y wrk)", flush=True)
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            subprocess.run(install, capture_output=True)
    if shutil.which("wrk"):
        return True
    print("claims: wrk is missing: run `apt-get install -y wrk` (Debian's package) and try again", file=sys.stderr)
    return False


def run_lane(project: Path, server: str, lane: str, seconds: int) -> LaneResult:
    """Fresh data, the statements of one claim, the HTTP load, the ceiling and the audit check, for one lane."""
    print(f"\n[{lane}] setting up 20,000 tasks …", flush=True)
    with scratch_database(server) as url:
        migrate(project, url)
        seed = seed_data(url)
        with scratch_database(server, template=url) as copy_url:
            print(f"[{lane}] counting statements in-process …", flush=True)
            captured = capture_statements(project, url, lane, seed)
            script = pgbench_script(
                captured["conversation"], seed.task_ids[-1], seed.user_ids[-1], seed.task_range, seed.user_range
            )
            print(f"[{lane}] warming up {WARM_UP_SECONDS} s, then {seconds} s of claims …", flush=True)
            with serving(project, url, lane, seed) as (base_url, master, log, config):
                load, cpu = measured_load(base_url, config, seconds, master, server, url)
                log_lines = log.read_text().splitlines()
            problems = audit_problems(url)
            print(f"[{lane}] pgbench ceiling, {seconds} s …", flush=True)
            tps = run_pgbench(copy_url, script, seconds)
    server_errors = [line for line in log_lines if "Traceback" in line or "[ERROR]" in line]
    if server_errors:
        problems.append(f"gunicorn logged {len(server_errors)} errors, first: {server_errors[0]}")
    figures = lane_figures(load, cpu, captured["statements"], tps)
    figures["round trips"] = sum(not line.startswith("\\") for line in script.splitlines())
    return LaneResult(lane, figures, script, problems)


@contextmanager
def serving(project: Path, url: str, lane: str, seed: Seed) -> Iterator[tuple[str, int, Path, Path]]:
    """PROJECT's app under gunicorn on `url`, its operators' credentials in a wrk config, warmed up; yields the
    URL, gunicorn's pid, its log and the wrk config."""
    with gunicorn(project, url) as (base_url, master, log), tempfile.TemporaryDirectory() as folder:
        credentials = seed.tokens if lane == "api" else login_sessions(base_url, seed)
        config = Path(folder) / "wrk.conf"
        config.write_text(wrk_config(lane, seed, credentials))
        run_wrk(base_url, config, WARM_UP_SECONDS)
        yield base_url, master, log, config


@contextmanager
def scratch_database(server: str, template: str | None = None) -> Iterator[str]:
    """A database of its own on the server (wo_bench_claims_…), a copy of `template` if given; always dropped."""
    name = f"wo_bench_claims_{secrets.token_hex(5)}"
    # Copying needs nobody connected to the template: it is taken right after the seed, as the load starts.
    source = f' TEMPLATE "{make_url(template).database}"' if template else ""
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{source}')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(project: Path, url: str) -> None:
    env = os.environ | {"DATABASE_URL": url, "SECRET_KEY": "bench"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"migrations of {project} failed:\n{done.stdout}{done.stderr}")


def seed_data(url: str) -> Seed:
    """One department and process, 16 operators with API tokens, one open task per work order; then ANALYZE."""
    # Cheap argon2 parameters: login verifies with the parameters stored in the hash, and setup time matters.
    password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    usernames = [f"op{n:02d}" for n in range(OPERATORS)]
    tokens = [secrets.token_urlsafe(32) for _ in usernames]
    with psycopg.connect(url) as connection:
        department = connection.execute(
            "INSERT INTO departments (code, name) VALUES ('PRINT', 'Printing') RETURNING id"
        ).fetchone()[0]
        process = connection.execute(
            "INSERT INTO processes (code, name, department_id, parallel)"
            " VALUES ('OFFSET', 'Offset printing', %s, false) RETURNING id",
            (department,),
        ).fetchone()[0]
        user_ids = [
            connection.execute(
                "INSERT INTO users (username, display_name, role, active, password_hash, api_token_hash,"
                " session_version) VALUES (%s, %s, 'operator', true, %s, %s, 1) RETURNING id",
                (username, f"Operator {n}", password_hash, hash_api_token(token)),
            ).fetchone()[0]
            for n, (username, token) in enumerate(zip(usernames, tokens, strict=True))
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO user_departments (user_id, department_id) VALUES (%s, %s)",
                [(user_id, department) for user_id in user_ids],
            )
            columns = "number, customer, product, quantity, due_date, priority, status"
            with cursor.copy(f"COPY work_orders ({columns}) FROM STDIN") as copy:
                for n in range(TASKS):
                    # The number format allows four digits a year (WO-YYYY-NNNN): 5,000 orders in each of 4 years.
                    number = f"WO-{2020 + n // 5000}-{n % 5000 + 1:04d}"
                    copy.write_row(
                        (number, "Bench", "boxes", 1000, date(2027, 1, 1) + timedelta(n % 20), "normal", "open")
                    )
        connection.execute(
            "INSERT INTO tasks (work_order_id, process_id, department_id, sequence, planned_qty, good_qty, scrap_qty,"
            " status, version) SELECT id, %s, %s, 1, 1000, 0, 0, 'open', 1 FROM work_orders ORDER BY id",
            (process, department),
        )
        task_ids = [row[0] for row in connection.execute("SELECT id FROM tasks ORDER BY id")]
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    if task_ids != list(range(task_ids[0], task_ids[0] + TASKS)) or user_ids != list(
        range(user_ids[0], user_ids[0] + OPERATORS)
    ):
        raise SystemExit("the seeded ids are not consecutive; wrk and pgbench draw them from a range")
    return Seed(user_ids, usernames, tokens, task_ids)


def capture_statements(project: Path, url: str, lane: str, seed: Seed) -> dict:
    """Run bench/claim_statements.py on the checkout: the statements of 200 claims by the last operator."""
    job = {
        # create_app takes an override as given; only DATABASE_URL from the environment gets the driver named.
        "database_url": url.replace("postgresql://", "postgresql+psycopg://", 1),
        "lane": lane,
        "username": seed.usernames[-1],
        "password": PASSWORD,
        "token": seed.tokens[-1],
        "task_ids": seed.task_ids[-STATEMENT_CLAIMS:],
    }
    helper = Path(__file__).with_name("claim_statements.py")
    done = subprocess.run(
        [sys.executable, str(helper)], cwd=project, input=json.dumps(job), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"counting statements failed:\n{done.stderr}")
    return json.loads(done.stdout)


@contextmanager
def gunicorn(project: Path, url: str) -> Iterator[tuple[str, int, Path]]:
    """PATH's app under gunicorn.conf.py on a free local port, access log off; yields URL, master pid, log file."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "gunicorn.log"
        env = os.environ | {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "TASK_CAP_PER_OPERATOR": "100000",  # the cap check runs but never refuses
            "LOCK_TIMEOUT_MS": "3000",
        }
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(WORKERS), "--access-logfile", "/dev/null", "wsgi:app"]
        with log.open("wb") as output:
            server = subprocess.Popen(command, cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_serving(base_url, server, log)
            yield base_url, server.pid, log
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(base_url: str, server: subprocess.Popen, log: Path) -> None:
    opener = build_opener(ProxyHandler({}))  # loopback only, whatever proxy the environment names
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            with opener.open(f"{base_url}/login", timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within 60 s:\n{log.read_text()}") from None
            time.sleep(0.1)


def login_sessions(base_url: str, seed: Seed) -> list[str]:
    """Log each operator in over HTTP; one `cookie<TAB>csrf token` line each, for the wrk script."""
    lines = []
    for username in seed.usernames:
        jar = CookieJar()
        opener = build_opener(ProxyHandler({}), HTTPCookieProcessor(jar))
        form = {"username": username, "password": PASSWORD, "csrf_token": csrf_token(opener.open(f"{base_url}/login"))}
        # The 303 after login is followed to /tasks, whose page has the new session's token.
        board = opener.open(f"{base_url}/login", data=urlencode(form).encode(), timeout=30)
        if not board.url.endswith("/tasks"):
            raise SystemExit(f"login of {username} ended at {board.url}")
        token = csrf_token(board)
        lines.append("; ".join(f"{cookie.name}={cookie.value}" for cookie in jar) + "\t" + token)
    return lines


def csrf_token(response) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', response.read().decode())
    if match is None:
        raise SystemExit(f"no csrf-token meta tag at {response.url}")
    return match.group(1)


def wrk_config(lane: str, seed: Seed, credentials: list[str]) -> str:
    ids = seed.load_ids
    hot = ids[:HOT]
    return "\n".join([lane, f"{ids[0]} {ids[-1]}", " ".join(map(str, hot)), *credentials]) + "\n"


def run_wrk(base_url: str, config: Path, seconds: int) -> dict:
    script = Path(__file__).with_name("claims.lua")
    command = ["wrk", f"-t{OPERATORS}", f"-c{OPERATORS}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    command += ["-s", str(script), base_url, "--", str(config)]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("CLAIMS_JSON ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return json.loads(lines[-1].removeprefix("CLAIMS_JSON "))


def measured_load(base_url: str, config: Path, seconds: int, master: int, server: str, url: str) -> tuple[dict, dict]:
    """The measured wrk run, with the CPU (ms) the app, PostgreSQL, wrk and the whole machine spent during it."""
    database = make_url(url).database
    with psycopg.connect(server, autocommit=True) as monitor:
        app_before, pg_before = process_ticks(app_pids(master)), process_ticks(postgres_pids(monitor, database))
        machine_before, wrk_before, started = machine_ticks(), children_cpu_ms(), time.monotonic()
        load = run_wrk(base_url, config, seconds)
        machine_after, wrk_after, elapsed = machine_ticks(), children_cpu_ms(), time.monotonic() - started
        app_after, pg_after = process_ticks(app_pids(master)), process_ticks(postgres_pids(monitor, database))
    cpu = {
        "app": cpu_ms(app_before, app_after),
        "pg": cpu_ms(pg_before, pg_after),
        "wrk": wrk_after - wrk_before,
        "machine": (machine_after[0] - machine_before[0]) * CLOCK_TICK_MS,
        "steal": (machine_after[1] - machine_before[1]) * CLOCK_TICK_MS,
        "elapsed": elapsed * 1000,
        "lost": len(set(app_before) - set(app_after)) + len(set(pg_before) - set(pg_after)),
    }
    return load, cpu


def children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def audit_problems(url: str) -> list[str]:
    """Every task with an assignee has exactly one claim event, naming that assignee; none has more than one."""
    with psycopg.connect(url) as connection:
        bad = connection.execute(
            "SELECT t.id FROM tasks t LEFT JOIN task_events e ON e.task_id = t.id AND e.action = 'claim'"
            " GROUP BY t.id HAVING count(e.id) > 1 OR (t.assignee_id IS NOT NULL) <> (count(e.id) = 1)"
            " OR max(e.to_assignee_id) IS DISTINCT FROM t.assignee_id ORDER BY t.id LIMIT 20"
        ).fetchall()
    return [f"audit: tasks whose claim events do not match their assignee: {[row[0] for row in bad]}"] if bad else []


def run_pgbench(url: str, script: str, seconds: int) -> tuple[float, float] | None:
    """pgbench's transactions per second, and PostgreSQL's CPU ms per transaction (the machine's busy time less
    pgbench's own: its backends end with the run, so /proc cannot be read for them afterwards)."""
    if not shutil.which("pgbench"):
        print("claims: pgbench is missing (apt-get install -y postgresql-client): no ceiling", file=sys.stderr)
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script)
        file.flush()
        command = ["pgbench", "-n", "-c", str(OPERATORS), "-j", "2", "-T", str(seconds), "-M", "prepared"]
        machine_before, client_before = machine_ticks()[0], children_cpu_ms()
        done = subprocess.run([*command, "-f", file.name, url], capture_output=True, text=True)
        machine_ms = (machine_ticks()[0] - machine_before) * CLOCK_TICK_MS
        client_ms = children_cpu_ms() - client_before
    match = re.search(r"^tps = ([\d.]+)", done.stdout, re.MULTILINE)
    count = re.search(r"^number of transactions actually processed: (\d+)", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None or count is None:
        raise SystemExit(f"pgbench failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return float(match.group(1)), (machine_ms - client_ms) / int(count.group(1))


def lane_figures(load: dict, cpu: dict, statements: list[int], ceiling: tuple[float, float] | None) -> dict:
    responses = load["requests"]
    statuses = {int(status): n for status, n in load["statuses"].items()}
    errors = sum(load["errors"].values())
    claims_per_second = responses / (load["duration_us"] / 1e6)
    tps, pgbench_pg_ms = ceiling if ceiling else (None, None)
    return {
        "claims/s": claims_per_second,
        "p50 ms": load["p50_us"] / 1000,
        "p99 ms": load["p99_us"] / 1000,
        "200": statuses.get(200, 0),
        "409": statuses.get(409, 0),
        "other": sum(n for status, n in statuses.items() if status not in (200, 409)) + errors,
        "other detail": {
            **{f"HTTP {status}": n for status, n in statuses.items() if status not in (200, 409)},
            **{f"socket {kind}": n for kind, n in load["errors"].items() if n},
        },
        "app CPU ms/claim": cpu["app"] / responses,
        "PG CPU ms/claim": cpu["pg"] / responses,
        "total CPU ms/claim": (cpu["app"] + cpu["pg"]) / responses,
        "statements/claim": sum(statements) / len(statements),
        "statements range": (min(statements), max(statements)),
        "pgbench tps": tps,
        "pgbench PG CPU ms/tx": pgbench_pg_ms,
        "app/ceiling": claims_per_second / tps if tps else None,
        "lost processes": cpu["lost"],
        "cpu": cpu,
    }


COLUMNS = (
    ("claims/s", "{:.0f}"),
    ("p50 ms", "{:.1f}"),
    ("p99 ms", "{:.1f}"),
    ("200", "{}"),
    ("409", "{}"),
    ("other", "{}"),
    ("app CPU ms/claim", "{:.2f}"),
    ("PG CPU ms/claim", "{:.2f}"),
    ("total CPU ms/claim", "{:.2f}"),
    ("statements/claim", "{:.1f}"),
    ("pgbench tps", "{:.0f}"),
    ("pgbench PG CPU ms/tx", "{:.2f}"),
    ("app/ceiling", "{:.3f}"),
)


def print_table(results: list[LaneResult]) -> None:
    print("\n| lane | " + " | ".join(name for name, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for result in results:
        cells = ["n/a" if result.figures[name] is None else fmt.format(result.figures[name]) for name, fmt in COLUMNS]
        print(f"| {result.lane} | " + " | ".join(cells) + " |")
    for result in results:
        figures = result.figures
        low, high = figures["statements range"]
        notes = [f"statements per claim {low}–{high}, round trips {figures['round trips']} (BEGIN, COMMIT, pings)"]
        notes.append(machine_note(figures["cpu"]))
        if figures["other"]:
            notes.append(f"other responses and socket errors: {figures['other detail']}")
        if figures["lost processes"]:
            notes.append(f"{figures['lost processes']} measured processes ended during the run (their CPU is missing)")
        print(f"{result.lane}: " + "; ".join(notes + (result.problems or ["audit OK"])))


def machine_note(cpu: dict) -> str:
    """How busy the machine was during the measured run, and how much of it was someone else's work."""
    cores = {name: cpu[name] / cpu["elapsed"] for name in ("machine", "app", "pg", "wrk", "steal")}
    others = cores["machine"] - cores["app"] - cores["pg"] - cores["wrk"]
    return (
        f"machine {cores['machine']:.2f} of {os.cpu_count()} cores busy (app {cores['app']:.2f}, PostgreSQL"
        f" {cores['pg']:.2f}, wrk {cores['wrk']:.2f}, others {max(others, 0):.2f}), steal {cores['steal']:.2f}"
    )


if __name__ == "__main__":
    # A plain kill, like Ctrl-C, unwinds through the `finally` blocks: gunicorn stopped, scratch databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nclaims: interrupted; gunicorn stopped and the scratch databases dropped", file=sys.stderr)
        sys.exit(130)
