"""An action's first look at its task: locked and read in a statement of its own, outside a transaction.

Half of what people send is refused or changes nothing: a claim of a task someone else holds, a start before the
previous step is done, "you already have it". Such an action is decided on this look and answered from it. The
statement is the same lock-and-read as the transaction's (`statements.LOCK_TASK`: it waits for anyone changing
the row, then reads it as they left it), but it runs in autocommit, so the lock ends with the statement: no BEGIN
before it, no ROLLBACK after it, and its commit does not wait for a disk flush (`statements.commit_without_flush`:
there is nothing to keep of a lock that has ended). A 409 thus carries the row read under the row lock, as SPEC.md
asks, for one round trip instead of four.

Only an action that will change the task opens a transaction, locks the row again, decides again on what it sees
and writes (`service._act`): of two people acting at once, one wins under the row lock and the other is told who
has the task now. For an action request, the look comes in the same statement as the request's user
(`auth.load_user`, `api.auth.user_for_token` call `read_user`), so a conflict costs one statement in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from flask import g, has_request_context, request
from sqlalchemy import Row, Select

from workorders.extensions import db
from workorders.forms import MAX_INT, whole_number
from workorders.tasks import statements as sql
from workorders.tasks.snapshots import Person, TaskSnapshot
from workorders.transactions import read_on_its_own

# The endpoints of the task actions: POST /tasks/<task_id>/<action> and POST /api/v1/tasks/<task_id>/<action>.
ACTION_ENDPOINTS = frozenset({"tasks.act", "api.act"})


def read_user(user_statement: Select, params: dict) -> Sequence[Row]:
    """The rows of the request's user statement. On an action request, with the task beside them, read on their
    own, and the task kept for `looked_at`; on any other, in the session's transaction as every page reads."""
    task_id = acted_on()
    if task_id is None:
        return db.session.execute(user_statement, params).all()
    rows = read_on_its_own(sql.task_beside(user_statement), {**params, "task_id": task_id})
    if rows:
        g.first_look = (task_id, sql.prefixed_snapshot(rows[0]))
    return rows


def looked_at(task_id: int) -> TaskSnapshot | None:
    """The task as it was under its row lock a moment ago (None: there is no such task): the look taken with the
    request's user, used once, or else taken now, on its own."""
    kept = g.pop("first_look", None) if has_request_context() else None
    if kept is not None and kept[0] == task_id and _holder_named(kept[1]):
        return kept[1]
    rows = read_on_its_own(sql.FIRST_LOOK, {"task_id": task_id})
    if not rows:
        return None
    task = sql.snapshot(rows[0])
    if not _holder_named(task):
        # As in service._lock: the holder is a user made after the statement's snapshot, while it waited.
        holder = read_on_its_own(sql.HOLDER, {"user_id": task.assignee_id})[0]
        task = replace(task, assignee=Person(task.assignee_id, holder.username, holder.display_name, holder.active))
    return task


def acted_on() -> int | None:
    """The task id an action request names; None for any other request, or an id the view will refuse."""
    if request.method != "POST" or request.endpoint not in ACTION_ENDPOINTS:
        return None
    number = whole_number((request.view_args or {}).get("task_id", ""))
    return number if number is not None and number <= MAX_INT else None


def _holder_named(task: TaskSnapshot | None) -> bool:
    return task is None or task.assignee is None or task.assignee.username is not None
