"""An action's first look at its task: the row as last committed, read without a lock and outside a transaction.

Half of what people send is refused or changes nothing: a claim of a task someone else holds, a start before the
previous step is done, "you already have it". Such an action is decided on this look and answered from it — no
BEGIN, no row lock, no ROLLBACK. Only an action that will change the task locks the row, looks again under the lock
and decides again (`service._act`): of two people acting at once, one still wins under the row lock, and the other
is told who has the task now. A refusal read from the last committed row is as true, at the moment it was read, as
one read under the lock.

For an action request, the look comes in the same statement as the request's user (`auth.load_user`,
`api.auth.user_for_token` call `read_user`), so a conflict costs one round trip in all.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import g, has_request_context, request
from sqlalchemy import Row, Select

from workorders.forms import MAX_INT, whole_number
from workorders.tasks import statements as sql
from workorders.tasks.snapshots import TaskSnapshot
from workorders.transactions import read_on_its_own

# The endpoints of the task actions: POST /tasks/<task_id>/<action> and POST /api/v1/tasks/<task_id>/<action>.
ACTION_ENDPOINTS = frozenset({"tasks.act", "api.act"})


def read_user(user_statement: Select, params: dict) -> Sequence[Row] | None:
    """The rows of the request's user statement, with the task beside them on an action request, read on their
    own; the task is kept for `committed`. None for any other request (the caller reads the user as it did)."""
    task_id = acted_on()
    if task_id is None:
        return None
    rows = read_on_its_own(sql.task_beside(user_statement), {**params, "task_id": task_id})
    if rows:
        g.first_look = (task_id, sql.prefixed_snapshot(rows[0]))
    return rows


def committed(task_id: int) -> TaskSnapshot | None:
    """The task as last committed (None: there is no such task): the look taken with the request's user, used
    once, or else read now, on its own."""
    kept = g.pop("first_look", None) if has_request_context() else None
    if kept is not None and kept[0] == task_id:
        return kept[1]
    rows = read_on_its_own(sql.PEEK_TASK, {"task_id": task_id})
    return sql.snapshot(rows[0]) if rows else None


def acted_on() -> int | None:
    """The task id an action request names; None for any other request, or an id the view will refuse."""
    if request.method != "POST" or request.endpoint not in ACTION_ENDPOINTS:
        return None
    number = whole_number((request.view_args or {}).get("task_id", ""))
    return number if number is not None and number <= MAX_INT else None
