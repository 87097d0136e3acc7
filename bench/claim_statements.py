"""What SQL one claim sends, measured in-process on a checkout: `python bench/claim_statements.py < job.json`.

Run by bench/claims.py in a subprocess with cwd set to the checkout, so `workorders` is that checkout's code.
The job (JSON on stdin) names the database, the lane (api or htmx), one operator and the tasks to claim;
the answer (JSON on stdout) has the statements of every claim and, for the last one, the whole conversation.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime
from pathlib import Path

WARM_UP = 5  # the first requests of a fresh app also open connections and ask the server about itself


def main() -> int:
    job = json.load(sys.stdin)
    sys.path.insert(0, str(Path.cwd()))
    from sqlalchemy import event

    from workorders import create_app
    from workorders.extensions import db

    app = create_app(
        {
            "WORKORDERS_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": job["database_url"],
            "TASK_CAP_PER_OPERATOR": 100000,
            "LOCK_TIMEOUT_MS": 3000,
        }
    )
    client = app.test_client()
    claim = _api_claim(client, job) if job["lane"] == "api" else _htmx_claim(client, job)
    log: list[dict] = []
    with app.app_context():
        _listen(db.engine, event, log)
    claims = []
    for task_id in job["task_ids"]:
        log.clear()
        status = claim(task_id)
        if status != 200:
            raise SystemExit(f"claim of task {task_id} answered {status}")
        claims.append(list(log))
    measured = claims[WARM_UP:]
    counts = [sum(entry["kind"] == "statement" for entry in entries) for entries in measured]
    json.dump({"statements": counts, "conversation": measured[-1]}, sys.stdout, default=_plain)
    return 0


def _listen(engine, event, log: list[dict]) -> None:
    """Record every round trip: statements (text, parameters, result columns), pool pings, commits, rollbacks."""

    def autocommit(conn) -> bool:
        # A read on its own (the checkout's transactions.read_on_its_own): no BEGIN before it, no ROLLBACK after.
        return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

    def before(conn, _cursor, statement, parameters, _context, _executemany):
        log.append({"kind": "statement", "sql": statement, "parameters": parameters, "autocommit": autocommit(conn)})

    def after(_conn, cursor, _statement, _parameters, _context, _executemany):
        log[-1]["columns"] = [column.name for column in cursor.description or ()]

    def checkout(*_args):
        # pool_pre_ping pings the connection on each checkout, before this event fires.
        if engine.pool._pre_ping:
            log.append({"kind": "ping"})

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "commit", lambda conn: autocommit(conn) or log.append({"kind": "commit"}))
    event.listen(engine, "rollback", lambda conn: autocommit(conn) or log.append({"kind": "rollback"}))


def _api_claim(client, job: dict):
    headers = {"Authorization": f"Bearer {job['token']}"}
    return lambda task_id: (
        client.post(f"/api/v1/tasks/{task_id}/claim", json={"version": 1}, headers=headers).status_code
    )


def _htmx_claim(client, job: dict):
    login = {"username": job["username"], "password": job["password"], "csrf_token": _csrf_token(client.get("/login"))}
    response = client.post("/login", data=login)
    if response.status_code != 303:
        raise SystemExit(f"login of {job['username']} answered {response.status_code}")
    token = _csrf_token(client.get("/tasks"))
    headers = {"HX-Request": "true"}
    return lambda task_id: (
        client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "version": "1"}, headers=headers).status_code
    )


def _csrf_token(response) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', response.get_data(as_text=True))
    if match is None:
        raise SystemExit(f"no csrf-token meta tag in the answer ({response.status_code})")
    return match.group(1)


def _plain(value):
    if isinstance(value, datetime | date):
        return {"datetime": value.isoformat()}
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
