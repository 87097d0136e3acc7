"""The SQL of the action path, built once at import: plain Core statements with bound parameters.

Built per request, SQLAlchemy would construct and hash each statement anew (a third of a claim's CPU, measured);
built once, each is compiled once and its cache key kept, and psycopg prepares it on the server.
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from sqlalchemy import Boolean, Select, Update, bindparam, func, insert, select, text, true, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from workorders.departments.models import Department, Process
from workorders.orders.models import WorkOrder
from workorders.tasks.models import NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.tasks.snapshots import DepartmentPart, OrderPart, Person, ProcessPart, StepPart, TaskSnapshot
from workorders.users.models import User, user_departments

tasks = Task.__table__
events = TaskEvent.__table__
users = User.__table__
orders = WorkOrder.__table__
processes = Process.__table__
departments = Department.__table__


def _lock_task(lock_user: bool = False, many: bool = False):
    """The task row locked, with all its row shows; the lock is taken in a CTE and the rest joined outside it.

    Joined in the locking SELECT itself, PostgreSQL would, after waiting for the lock, re-check the task's new
    row against the *old* rows of the other tables (EvalPlanQual): a claim that just committed would show a new
    holder id with no holder joined, and the loser would take the task for free.

    With `lock_user`, the same statement then locks the user row :user_id (the claimant's, for the cap), saving
    a round trip. That lock's CTE reads the task's, so the task is always locked first: the documented order
    (tasks → work order → users) holds within the statement too.

    With `many`, every task of the list :task_ids, locked in id order (the CTE's ORDER BY runs below its row
    locks), so that two transactions locking overlapping sets of tasks never wait for each other in a circle.
    """
    if many:
        wanted = tasks.c.id.in_(bindparam("task_ids", expanding=True))
        locked = select(tasks).where(wanted).order_by(tasks.c.id).with_for_update().cte("locked")
    else:
        locked = select(tasks).where(tasks.c.id == bindparam("task_id")).with_for_update().cte("locked")
    prev, prev_process = tasks.alias("prev"), processes.alias("prev_process")
    blocker, blocker_process, holder = tasks.alias("blocker"), processes.alias("blocker_process"), users.alias("holder")
    previous_step = (
        select(prev.c.id)
        .join(prev_process, prev_process.c.id == prev.c.process_id)
        .where(
            prev.c.work_order_id == locked.c.work_order_id,
            prev.c.sequence < locked.c.sequence,
            prev_process.c.parallel.is_(False),
        )
        .order_by(prev.c.sequence.desc())
        .limit(1)
        .correlate(locked)
        .scalar_subquery()
    )
    joined = (
        locked.join(orders, orders.c.id == locked.c.work_order_id)
        .join(processes, processes.c.id == locked.c.process_id)
        .join(departments, departments.c.id == locked.c.department_id)
        .outerjoin(holder, holder.c.id == locked.c.assignee_id)
        .outerjoin(blocker, blocker.c.id == previous_step)
        .outerjoin(blocker_process, blocker_process.c.id == blocker.c.process_id)
    )
    statement = select(
        *(locked.c[name] for name in ("id", "work_order_id", "department_id", "sequence", "status", "version")),
        *(locked.c[name] for name in ("planned_qty", "good_qty", "scrap_qty", "updated_at", "assignee_id")),
        *(orders.c[name] for name in ("number", "customer", "product", "quantity", "priority", "due_date")),
        processes.c.code.label("process_code"),
        processes.c.name.label("process_name"),
        departments.c.code.label("department_code"),
        departments.c.name.label("department_name"),
        holder.c.username,
        holder.c.display_name,
        holder.c.active,
        blocker.c.status.label("blocker_status"),
        blocker.c.sequence.label("blocker_sequence"),
        blocker_process.c.name.label("blocker_name"),
    ).select_from(_with_user_lock(joined, locked) if lock_user else joined)
    return statement.order_by(locked.c.id) if many else statement


def _with_user_lock(joined, locked):
    """`joined`, outer-joined to the user row :user_id locked FOR UPDATE, but only once the task is locked."""
    me = (
        select(users.c.id)
        .where(users.c.id == bindparam("user_id"), select(locked.c.id).exists())
        .with_for_update()
        .cte("me")
    )
    return joined.outerjoin(me, true())


LOCK_TASK = _lock_task()
LOCK_TASK_AND_USER = _lock_task(lock_user=True)
LOCK_TASKS = _lock_task(many=True)
LOCK_USER = select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update()
HOLDER = select(users.c.username, users.c.display_name, users.c.active).where(users.c.id == bindparam("user_id"))
INSERT_EVENT = insert(events)
_held = tasks.alias("held")
# Its own alias of tasks, so that the UPDATE of one task can count the holder's other ones.
HELD_BY = (
    select(func.count())
    .select_from(_held)
    .where(_held.c.assignee_id == bindparam("holder_id"), _held.c.status.in_(NOT_DONE))
    .scalar_subquery()
)
COUNT_HELD = select(HELD_BY)


@cache
def update_task(columns: tuple[str, ...], capped: bool) -> Update:
    """`UPDATE tasks SET <columns> WHERE id = :task_id AND version = :seen`, and, when capped, only while the new
    holder holds fewer than :cap unfinished tasks. Values are bound as `new_<column>`."""
    statement = (
        update(tasks)
        .where(tasks.c.id == bindparam("task_id"), tasks.c.version == bindparam("seen"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )
    return statement.where(bindparam("cap") > HELD_BY) if capped else statement


EVENT_COLUMNS = (
    "task_id",
    "actor_id",
    "action",
    "from_assignee_id",
    "to_assignee_id",
    "from_status",
    "to_status",
    "version",
    "note",
)


@cache
def update_task_and_log(columns: tuple[str, ...], capped: bool):
    """PostgreSQL: `update_task` and the event INSERT in one statement (a data-modifying CTE), one round trip.

    The event is written only if the UPDATE matched, so whether the INSERT returns a row says whether the change
    applied. Event values are bound as `event_<column>`.
    """
    updated = update_task(columns, capped).returning(tasks.c.id).cte("updated")
    values = select(*(bindparam(f"event_{name}", type_=events.c[name].type) for name in EVENT_COLUMNS))
    statement = insert(events).from_select(list(EVENT_COLUMNS), values.where(select(updated.c.id).exists()))
    return statement.returning(events.c.id)


# Bulk assign (workorders/tasks/bulk.py): a constant number of statements however many tasks.
HOLDERS = select(users.c.id, users.c.username, users.c.display_name, users.c.active).where(
    users.c.id.in_(bindparam("user_ids", expanding=True))
)
HISTORY = (
    select(events.c.task_id, events.c.version, events.c.to_assignee_id)
    .where(events.c.task_id.in_(bindparam("task_ids", expanding=True)), events.c.version <= bindparam("newest"))
    .order_by(events.c.task_id, events.c.version)
)


def _assignee(lock: bool):
    """The active user :username, with each department they belong to (a row each, or one with no department);
    with `lock`, their row is locked (in a CTE, as the tasks' are: see `_lock_task`)."""
    me = select(users.c.id, users.c.username, users.c.display_name).where(
        users.c.username == bindparam("username"), users.c.active.is_(True)
    )
    me = (me.with_for_update() if lock else me).cte("me")
    return select(me.c.id, me.c.username, me.c.display_name, user_departments.c.department_id).select_from(
        me.outerjoin(user_departments, user_departments.c.user_id == me.c.id)
    )


ASSIGNEE = _assignee(lock=False)
LOCK_ASSIGNEE = _assignee(lock=True)
# PostgreSQL: every applied task of a bulk assign updated (with the version compare) and its event written, in one
# statement whatever the count; the per-task values come as arrays, so the statement's text never changes.
ASSIGN_MANY = text(
    """
WITH change AS (
    SELECT * FROM unnest(
        CAST(:task_ids AS integer[]), CAST(:seen AS integer[]), CAST(:from_assignee_ids AS integer[]),
        CAST(:from_statuses AS text[]), CAST(:to_statuses AS text[])
    ) AS change (task_id, seen, from_assignee_id, from_status, to_status)
), updated AS (
    UPDATE tasks
    SET assignee_id = CAST(:assignee_id AS integer), status = change.to_status, version = change.seen + 1,
        updated_at = :now
    FROM change
    WHERE tasks.id = change.task_id AND tasks.version = change.seen
    RETURNING tasks.id
)
INSERT INTO task_events
    (task_id, actor_id, action, from_assignee_id, to_assignee_id, from_status, to_status, version)
SELECT change.task_id, CAST(:actor_id AS integer), CAST(:action AS text), change.from_assignee_id,
    CAST(:assignee_id AS integer), change.from_status, change.to_status, change.seen + 1
FROM change JOIN updated ON updated.id = change.task_id
RETURNING task_id
"""
)


def snapshot(row) -> TaskSnapshot:
    """A TaskSnapshot from a LOCK_TASK row, or from a namespace with the same names."""
    return TaskSnapshot(
        id=row.id,
        work_order_id=row.work_order_id,
        department_id=row.department_id,
        sequence=row.sequence,
        status=row.status,
        version=row.version,
        planned_qty=row.planned_qty,
        good_qty=row.good_qty,
        scrap_qty=row.scrap_qty,
        updated_at=row.updated_at,
        work_order=OrderPart(
            row.work_order_id, row.number, row.customer, row.product, row.quantity, row.priority, row.due_date
        ),
        process=ProcessPart(row.process_code, row.process_name),
        department=DepartmentPart(row.department_id, row.department_code, row.department_name),
        assignee=(Person(row.assignee_id, row.username, row.display_name, row.active) if row.assignee_id else None),
        waiting_for=(
            StepPart(row.blocker_sequence, row.blocker_name)
            if row.blocker_status not in (None, TaskStatus.DONE)
            else None
        ),
    )


class commit_without_flush(FunctionElement):
    """In a statement run on its own (autocommit) that only locks and reads: its implicit transaction commits
    without waiting for the WAL to reach the disk (`SET LOCAL synchronous_commit = off`, for that transaction
    alone). Taking a row lock gives a transaction an id, and committing one waits for a flush; for a lock that
    ended with its statement there is nothing a crash could lose. Never in a transaction that writes."""

    type = Boolean()
    inherit_cache = True


@compiles(commit_without_flush, "postgresql")
def _commit_without_flush_postgresql(_element, _compiler, **_kw) -> str:
    return "set_config('synchronous_commit', 'off', true) IS NOT NULL"


@compiles(commit_without_flush)
def _commit_without_flush_elsewhere(_element, _compiler, **_kw) -> str:
    return "1 = 1"  # SQLite: no row locks, nothing to flush for them


# An action's first look (first_look.py), on its own: LOCK_TASK, committed without a flush.
FIRST_LOOK = LOCK_TASK.add_columns(commit_without_flush().label("commit_without_flush"))
# LOCK_TASK beside the request's user (`first_look.read_user`): its columns, each labelled with this prefix.
TASK_PREFIX = "task_"


@cache
def task_beside(user_statement: Select) -> Select:
    """`user_statement` with LOCK_TASK's columns for :task_id on each of its rows (NULLs if there is no such
    task), labelled TASK_PREFIX + name: the caller and the task they act on, locked, in one round trip. For a
    statement on its own: it commits without a flush (`commit_without_flush`)."""
    task = LOCK_TASK.subquery("task")
    columns = [column.label(TASK_PREFIX + column.name) for column in task.c]
    quiet = commit_without_flush().label("commit_without_flush")
    return user_statement.outerjoin(task, true()).add_columns(*columns, quiet)


def prefixed_snapshot(row) -> TaskSnapshot | None:
    """The TaskSnapshot of a `task_beside` row; None when the task was not found."""
    values = row._mapping
    if values[TASK_PREFIX + "id"] is None:
        return None
    return snapshot(SimpleNamespace(**{name: values[TASK_PREFIX + name] for name in _TASK_NAMES}))


_TASK_NAMES = tuple(column.name for column in LOCK_TASK.selected_columns)
