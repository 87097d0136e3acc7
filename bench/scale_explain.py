"""EXPLAIN (ANALYZE, BUFFERS) of what the live poll and board pages send: `python bench/scale_explain.py < job.json`.

Run by bench/scale.py in a subprocess with cwd set to the checkout, so `workorders` is that checkout's code. The
job (JSON on stdin) names the database, one operator and the pages; each request is made in-process and every
statement it sends that reads tasks is run again under EXPLAIN with the same parameters. Prints Markdown.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path

HTMX = {"HX-Request": "true"}


def main() -> int:
    job = json.load(sys.stdin)
    sys.path.insert(0, str(Path.cwd()))
    from sqlalchemy import event

    from workorders import create_app
    from workorders.extensions import db

    app = create_app(
        {"WORKORDERS_ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": job["database_url"]}
    )
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": job["username"], "password": job["password"], "csrf_token": token})
    fragment = client.get("/tasks", headers=HTMX).get_data(as_text=True)
    version = re.search(r'data-board-version="([^"]+)"', fragment).group(1)
    requests = {"unchanged live poll": (f"/tasks?since={version}", HTMX), "search by number": (job["search"], {})}
    requests |= {label: (path, {}) for label, path in job["paths"].items()}
    log: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda _c, _cu, sql, params, *_: log.append((sql, params)))
    for label, (path, headers) in requests.items():
        log.clear()
        status = client.get(path, headers=headers).status_code
        captured = [(sql, params) for sql, params in log if re.search(r"\btasks\b", sql)]
        print(f"#### {label}: GET {path} → {status}, {len(log)} statements, {len(captured)} reading tasks\n")
        with engine.connect() as connection:
            for sql, params in captured:
                plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).scalars().all()
                print("```sql\n" + _short(sql) + "\n```\n```\n" + "\n".join(plan) + "\n```\n")
    poll, page = _cpu_ms(client, requests["unchanged live poll"], ("/tasks", {}))
    print(f"CPU per request in-process (app and test client, no HTTP): unchanged poll {poll:.2f} ms, board page"
          f" {page:.2f} ms, ratio {poll / page:.2f}")  # fmt: skip
    return 0


def _cpu_ms(client, *requests: tuple[str, dict], repeat: int = 200) -> list[float]:
    """CPU milliseconds of each request (the median of `repeat`, after 10 to warm up), the requests taking turns
    so that the machine's other work weighs on each alike."""
    timings: list[list[float]] = [[] for _ in requests]
    for attempt in range(10 + repeat):
        for (path, headers), spent in zip(requests, timings, strict=True):
            started = time.process_time()
            client.get(path, headers=headers)
            if attempt >= 10:
                spent.append((time.process_time() - started) * 1000)
    return [statistics.median(spent) for spent in timings]


def _short(sql: str) -> str:
    """The statement on few lines: the select list, whatever its length, is cut to its first columns."""
    sql = re.sub(r"\s+", " ", sql).strip()
    return re.sub(r"^SELECT (.{120}).*? FROM ", r"SELECT \1… FROM ", sql, count=1)


if __name__ == "__main__":
    sys.exit(main())
