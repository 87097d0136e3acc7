"""The SQL of the action path, built once at import: plain Core statements with bound parameters.

Built per request, SQLAlchemy would construct and hash each statement anew (a third of a claim's CPU, measured);
built once, each is compiled once and its cache key kept, and psycopg prepares it on the server.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Update, bindparam, func, insert, select, true, update

from workorders.departments.models import Department, Process
from workorders.orders.models import WorkOrder
from workorders.tasks.models import NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.tasks.snapshots import DepartmentPart, OrderPart, Person, ProcessPart, StepPart, TaskSnapshot
from workorders.users.models import User

tasks = Task.__table__
events = TaskEvent.__table__
users = User.__table__
orders = WorkOrder.__table__
processes = Process.__table__
departments = Department.__table__


def _lock_task(lock_user: bool = False):
    """The task row locked, with all its row shows; the lock is taken in a CTE and the rest joined outside it.

    Joined in the locking SELECT itself, PostgreSQL would, after waiting for the lock, re-check the task's new
    row against the *old* rows of the other tables (EvalPlanQual): a claim that just committed would show a new
    holder id with no holder joined, and the loser would take the task for free.

    With `lock_user`, the same statement then locks the user row :user_id (the claimant's, for the cap), saving
    a round trip. That lock's CTE reads the task's, so the task is always locked first: the documented order
    (tasks → work order → users) holds within the statement too.
    """
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
    return select(
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


def snapshot(row) -> TaskSnapshot:
    """A TaskSnapshot from a LOCK_TASK row; `holder` names the holder when the join could not (see `holder`)."""
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
