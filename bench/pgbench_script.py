"""Turn the captured conversation of one claim (bench/claim_statements.py) into a pgbench script."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")
WRITE = re.compile(r"\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b", re.IGNORECASE)


def pgbench_script(conversation: list[dict], task_id: int, user_id: int, task_range: range, user_range: range) -> str:
    """The same round trips for a random task, each pgbench client acting as one operator.

    `task_id` and `user_id` are the claim's own, which become `:id` and `:uid`. The version the lock read becomes
    `:lock_version` (pgbench's \\gset), so every transaction changes its task as a first claim does, even a task
    claimed before; a task held by someone else, the 409 path, is not modelled. A statement the app ran in
    autocommit (the first look, a statement of its own) is sent outside any transaction, as the app sent it.
    """
    lines = [
        f"\\set id random({task_range.start}, {task_range.stop - 1})",
        f"\\set uid {user_range.start} + :client_id % {len(user_range)}",
    ]
    in_transaction = locked = False
    for entry in conversation:
        kind = entry["kind"]
        if kind in ("ping", "statement") and not in_transaction and not entry.get("autocommit"):
            # psycopg opens the transaction itself before the first query (the pool's ping included).
            lines.append("BEGIN;")
            in_transaction = True
        if kind == "ping":
            lines.append("SELECT 1;")
        elif kind == "statement":
            sql = _render(entry, task_id, user_id, versions=locked)
            if not locked and _is_task_lock(entry, task_id):
                lines += [f"{sql} \\gset lock_", "\\set next_version :lock_version + 1"]
                locked = True
            else:
                lines.append(f"{sql};")
        elif in_transaction:
            lines.append(f"{kind.upper()};")
            in_transaction = False
    if in_transaction:
        lines.append("ROLLBACK;")  # the pool's reset when the connection goes back
    return "\n".join(lines) + "\n"


def _is_task_lock(entry: dict, task_id: int) -> bool:
    parameters = entry["parameters"]
    values = parameters.values() if isinstance(parameters, dict) else parameters or ()
    return "FOR UPDATE" in entry["sql"].upper() and task_id in values and "version" in entry.get("columns", ())


def _render(entry: dict, task_id: int, user_id: int, versions: bool) -> str:
    """The statement on one line, each parameter a pgbench variable or an SQL literal."""
    sql = " ".join(entry["sql"].split())
    parameters = entry["parameters"] or {}
    # Only the task's UPDATE and its event (maybe one statement, WITH … UPDATE … INSERT) carry the versions.
    versions = versions and WRITE.search(sql) is not None
    positional = iter(parameters) if isinstance(parameters, list | tuple) else None

    def value(match: re.Match) -> str:
        if match.group(0) == "%%":
            return "%"
        name = match.group(1) or ""
        raw = parameters[name] if positional is None else next(positional)
        # A version by its name (version, event_version) or its place (`tasks.version = %(seen)s`).
        is_version = versions and ("version" in name or "version" in sql[max(match.start() - 20, 0) : match.start()])
        return _literal(raw, task_id, user_id, is_version)

    return PLACEHOLDER.sub(value, sql)


def _literal(raw, task_id: int, user_id: int, is_version: bool) -> str:
    if raw is None:
        return "NULL"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        if raw == task_id:
            return ":id"  # the task, or its work order: both are numbered alike by the seed
        if raw == user_id:
            return ":uid"
        if is_version and raw in (1, 2):
            return ":lock_version" if raw == 1 else ":next_version"
        return str(raw)
    if isinstance(raw, dict) and "datetime" in raw:
        return "now()"
    if isinstance(raw, float):
        return repr(raw)
    return "'" + str(raw).replace("'", "''") + "'"
