"""Claim, release, assign, start, pause and complete: each one short transaction under a row lock.

Every action follows the same steps (`_act`):

1. **Lock** the task row and read, in that one statement, all that the rules and the answer need: the task, its
   work order, process, department, holder, and the previous step it may be waiting for (``SELECT … FOR UPDATE
   OF tasks``; the lock wait is bounded by ``lock_timeout``, set on every PostgreSQL connection).
2. **Decide** on that snapshot: each action's `decide` returns the change to make, a no-op outcome, or raises.
3. **Write** with a version compare (``UPDATE … WHERE id = :id AND version = :seen``, which also guards SQLite,
   where there are no row locks) and one TaskEvent; the per-operator cap is folded into the same UPDATE, after
   the holder's user row is locked so that two claims by one person cannot both squeeze under it.
4. **Commit**, and answer with a snapshot of the row as written: nothing after COMMIT reads the database.

Rows are always locked in this order, so two transactions never wait on each other in a circle:
tasks (by id) → their work order → users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NoReturn

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import aliased

from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.orders.models import OrderStatus, WorkOrder
from workorders.tasks.errors import NotAllowed, RuleBroken, TaskConflict, TaskError, TaskNotFound
from workorders.tasks.models import CLAIMABLE, NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.tasks.queries import assignee_choices
from workorders.tasks.snapshots import (
    DepartmentPart,
    Member,
    OrderPart,
    Person,
    ProcessPart,
    StepPart,
    TaskSnapshot,
)
from workorders.transactions import transaction
from workorders.users.models import User, user_departments

tasks_table = Task.__table__
events_table = TaskEvent.__table__


@dataclass(frozen=True)
class Outcome:
    """What an action did: the task as it now is; `changed` is False for a no-op (no event, version unchanged).

    `choices` are the people the actor may assign the task to (supervisors only), for the row's select.
    """

    task: TaskSnapshot
    changed: bool
    message: str
    already_claimed: bool = False
    choices: tuple[Member, ...] = ()

    @property
    def task_id(self) -> int:
        return self.task.id


_KEEP = object()  # a Change that leaves the holder as it is


@dataclass(frozen=True)
class Change:
    """What an action writes: a new holder (a Person, None, or _KEEP), a new status and other columns."""

    action: str
    message: str
    assignee: Any = _KEEP
    status: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    # The person who will hold the task, when the per-operator cap applies to them.
    cap_holder: Person | None = None


Decision = Change | Outcome


def claim(task_id: int, actor: User, version: int) -> Outcome:
    """Take an open or paused task nobody holds. Raises TaskConflict, NotAllowed, RuleBroken, TaskNotFound.

    A task someone else holds is always a TaskConflict naming them, whatever version was sent.
    """

    def decide(task: TaskSnapshot) -> Decision:
        mine = task.is_held_by(actor)
        if mine and task.status in NOT_DONE:
            return Outcome(task, False, f"You already have {task.label}.", already_claimed=True)
        if not actor.belongs_to(task.department_id):
            _refuse(task, version, NotAllowed, f"{task.label} belongs to {task.department.name}.")
        if task.assignee is not None and not mine:
            raise TaskConflict.naming_holder(task)
        if task.status not in CLAIMABLE:
            _refuse(task, version, RuleBroken, _state_reason(task, "claimed"))
        me = Person.of(actor)
        return Change("claim", f"You claimed {task.label}.", assignee=me, cap_holder=me)

    return _act(task_id, actor, decide)


def release(task_id: int, actor: User, version: int) -> Outcome:
    """Give a held task back to the pool; by its holder or a supervisor. Raises as `claim` does."""

    def decide(task: TaskSnapshot) -> Decision:
        holder = task.is_held_by(actor)
        if not actor.belongs_to(task.department_id):
            _refuse(task, version, NotAllowed, f"{task.label} belongs to {task.department.name}.")
        if task.assignee is None:
            _refuse(task, version, RuleBroken, f"Nobody holds {task.label}.")
        if not holder and not actor.supervises(task.department_id):
            _refuse(task, version, NotAllowed, "Only the operator holding a task or a supervisor may release it.")
        if not holder and _assignee_seen_at(task, version) != task.assignee_id:
            raise TaskConflict.naming_holder(task)
        if task.status not in CLAIMABLE:
            advice = " Pause it first." if holder else " Assign it to nobody instead: that pauses it as it moves."
            _refuse(task, version, RuleBroken, _state_reason(task, "released") + advice)
        whom = "." if holder else f" from {task.assignee.display_name}."
        return Change("release", f"You released {task.label}{whom}", assignee=None)

    return _act(task_id, actor, decide)


def assign(task_id: int, actor: User, version: int, assignee: str | None) -> Outcome:
    """Give a task to an active member of its department (by username), or to nobody; a started task is paused.

    Raises TaskConflict when the task's holder is not the one the supervisor saw, NotAllowed for anyone but
    the department's supervisors, RuleBroken for a finished task, an unfit assignee or a full cap.
    """

    def decide(task: TaskSnapshot) -> Decision:
        if not actor.supervises(task.department_id):
            _refuse(task, version, NotAllowed, "Only a supervisor of the department may assign its tasks.")
        if _assignee_seen_at(task, version) != task.assignee_id:
            raise TaskConflict.naming_holder(task)
        if task.status not in NOT_DONE:
            _refuse(task, version, RuleBroken, _state_reason(task, "assigned"))
        new_holder = _assignable_person(assignee, task)
        who = new_holder.display_name if new_holder else "nobody"
        if (new_holder.id if new_holder else None) == task.assignee_id:
            return Outcome(task, False, f"{task.label} is already assigned to {who}.")
        paused = TaskStatus.PAUSED if task.status == TaskStatus.IN_PROGRESS else None
        return Change(
            "assign" if new_holder else "unassign",
            f"You assigned {task.label} to {who}.",
            assignee=new_holder,
            status=paused,
            cap_holder=new_holder,
        )

    return _act(task_id, actor, decide)


def start(task_id: int, actor: User, version: int) -> Outcome:
    """Begin work on a task one holds, once the previous step is done. Raises as `claim` does."""

    def decide(task: TaskSnapshot) -> Decision:
        _require_holder(task, actor, version, "start")
        if task.status == TaskStatus.IN_PROGRESS:
            return Outcome(task, False, f"{task.label} is already in progress.")
        if task.status not in CLAIMABLE:
            _refuse(task, version, RuleBroken, _state_reason(task, "started"))
        if task.waiting_for is not None:
            step = task.waiting_for
            _refuse(task, version, RuleBroken, f"Step {step.sequence}, {step.name}, is not done yet.")
        return Change(
            "start", f"You started {task.label}.", status=TaskStatus.IN_PROGRESS, values={"started_at": _now()}
        )

    return _act(task_id, actor, decide)


def pause(task_id: int, actor: User, version: int) -> Outcome:
    """Stop work on a task in progress, keeping it. Raises as `claim` does."""

    def decide(task: TaskSnapshot) -> Decision:
        _require_holder(task, actor, version, "pause")
        if task.status == TaskStatus.PAUSED:
            return Outcome(task, False, f"{task.label} is already paused.")
        if task.status != TaskStatus.IN_PROGRESS:
            _refuse(task, version, RuleBroken, _state_reason(task, "paused"))
        return Change("pause", f"You paused {task.label}.", status=TaskStatus.PAUSED)

    return _act(task_id, actor, decide)


def complete(task_id: int, actor: User, version: int, good_qty: int, scrap_qty: int) -> Outcome:
    """Finish a task in progress with its counts; the work order is done with its last task. Raises as `claim`."""

    def decide(task: TaskSnapshot) -> Decision:
        _require_holder(task, actor, version, "complete")
        if task.status == TaskStatus.DONE and (task.good_qty, task.scrap_qty) == (good_qty, scrap_qty):
            return Outcome(task, False, f"{task.label} is already done.")
        if task.status != TaskStatus.IN_PROGRESS:
            _refuse(task, version, RuleBroken, _state_reason(task, "completed"))
        return Change(
            "complete",
            f"You completed {task.label}: {good_qty:,} good, {scrap_qty:,} scrap.",
            status=TaskStatus.DONE,
            values={"good_qty": good_qty, "scrap_qty": scrap_qty, "completed_at": _now()},
            note=f"good {good_qty}, scrap {scrap_qty}",
        )

    return _act(task_id, actor, decide)


ACTIONS = {
    "claim": claim,
    "release": release,
    "assign": assign,
    "start": start,
    "pause": pause,
    "complete": complete,
}


def _act(task_id: int, actor: User, decide: Callable[[TaskSnapshot], Decision]) -> Outcome:
    """Lock, decide, write, commit; the outcome (or the refusal) carries the row as this transaction left it."""
    with transaction(f"task {task_id}", task_id=task_id):
        try:
            # A second round only on SQLite, when another writer committed between our read and our write:
            # the failed UPDATE took the write lock, so the second read is the last word.
            for _ in range(2):
                task = _lock(task_id)
                decision = decide(task)
                if isinstance(decision, Outcome):
                    return replace(decision, choices=_choices(actor, task))
                written = _write(task, decision, actor)
                if written is not None:
                    if decision.action == "complete":
                        _close_work_order_if_done(written.work_order_id)
                    return Outcome(written, True, decision.message, choices=_choices(actor, written))
            raise TaskConflict.naming_holder(_lock(task_id))
        except TaskError as refusal:
            if refusal.task is not None:
                refusal.choices = _choices(actor, refusal.task)
            raise


_prev = aliased(Task)
_prev_process = aliased(Process)
_blocker = aliased(Task)
_blocker_process = aliased(Process)
_assignee = aliased(User)


def _lock(task_id: int) -> TaskSnapshot:
    """The task, locked for this transaction, with what its row shows. Raises TaskNotFound.

    The lock is taken in a CTE and everything else joined outside it. Joined in the locking SELECT itself,
    PostgreSQL would, after waiting for the lock, re-check the task's new row against the *old* rows of the
    other tables (EvalPlanQual): a claim that just committed would show a new holder id with no holder joined.
    """
    locked = select(tasks_table).where(tasks_table.c.id == task_id).with_for_update().cte("locked")
    previous_step = (
        select(_prev.id)
        .join(_prev_process, _prev_process.id == _prev.process_id)
        .where(
            _prev.work_order_id == locked.c.work_order_id,
            _prev.sequence < locked.c.sequence,
            _prev_process.parallel.is_(False),
        )
        .order_by(_prev.sequence.desc())
        .limit(1)
        .correlate(locked)
        .scalar_subquery()
    )
    query = (
        select(
            locked,
            WorkOrder.number,
            WorkOrder.customer,
            WorkOrder.product,
            WorkOrder.quantity,
            WorkOrder.priority,
            WorkOrder.due_date,
            Process.code.label("process_code"),
            Process.name.label("process_name"),
            Department.code.label("department_code"),
            Department.name.label("department_name"),
            _assignee.username,
            _assignee.display_name,
            _assignee.active,
            _blocker.status.label("blocker_status"),
            _blocker.sequence.label("blocker_sequence"),
            _blocker_process.name.label("blocker_name"),
        )
        .join(WorkOrder, WorkOrder.id == locked.c.work_order_id)
        .join(Process, Process.id == locked.c.process_id)
        .join(Department, Department.id == locked.c.department_id)
        .outerjoin(_assignee, _assignee.id == locked.c.assignee_id)
        .outerjoin(_blocker, _blocker.id == previous_step)
        .outerjoin(_blocker_process, _blocker_process.id == _blocker.process_id)
    )
    row = db.session.execute(query).one_or_none()
    if row is None:
        raise TaskNotFound(task_id)
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
        assignee=_holder(row),
        waiting_for=(
            StepPart(row.blocker_sequence, row.blocker_name)
            if row.blocker_status not in (None, TaskStatus.DONE)
            else None
        ),
    )


def _holder(row) -> Person | None:
    """Who holds the locked task; its holder id comes from the locked row itself, the name from the join."""
    if row.assignee_id is None:
        return None
    if row.username is None:
        # The holder is a user made after this statement's snapshot was taken (while it waited for the lock).
        user = db.session.execute(
            select(User.username, User.display_name, User.active).where(User.id == row.assignee_id)
        ).one()
        return Person(row.assignee_id, user.username, user.display_name, user.active)
    return Person(row.assignee_id, row.username, row.display_name, row.active)


def _write(task: TaskSnapshot, change: Change, actor: User) -> TaskSnapshot | None:
    """Apply `change` to the locked task and write its event; None when the version moved (SQLite only).

    Raises RuleBroken when the new holder is at the cap.
    """
    now = _now()
    assignee = task.assignee if change.assignee is _KEEP else change.assignee
    status = change.status or task.status
    values = {
        **change.values,
        "assignee_id": assignee.id if assignee else None,
        "status": status,
        "version": task.version + 1,
        "updated_at": now,
    }
    statement = update(tasks_table).where(tasks_table.c.id == task.id, tasks_table.c.version == task.version)
    cap = int(current_app.config["TASK_CAP_PER_OPERATOR"])
    if change.cap_holder is not None and cap:
        # Lock the holder's row first: a second claim by the same person waits here, then counts this one.
        db.session.execute(select(User.id).where(User.id == change.cap_holder.id).with_for_update())
        statement = statement.where(_held_by(change.cap_holder.id) < cap)
    if db.session.execute(statement.values(values)).rowcount != 1:
        if change.cap_holder is not None and cap:
            _check_cap(change.cap_holder, cap, task, actor)
        return None
    db.session.execute(
        insert(events_table).values(
            task_id=task.id,
            actor_id=actor.id,
            action=change.action,
            from_assignee_id=task.assignee_id,
            to_assignee_id=values["assignee_id"],
            from_status=task.status,
            to_status=status,
            version=values["version"],
            note=change.note,
        )
    )
    counts = {name: change.values[name] for name in ("good_qty", "scrap_qty") if name in change.values}
    return replace(task, assignee=assignee, status=status, version=values["version"], updated_at=now, **counts)


def _held_by(user_id: int):
    """How many unfinished tasks the user holds, as a subquery (its own alias, so an UPDATE can use it)."""
    held = aliased(Task)
    return (
        select(func.count())
        .select_from(held)
        .where(held.assignee_id == user_id, held.status.in_(NOT_DONE))
        .scalar_subquery()
    )


def _check_cap(holder: Person, cap: int, task: TaskSnapshot, actor: User) -> None:
    """Raise RuleBroken when `holder` already holds as many unfinished tasks as the shop allows."""
    held = db.session.scalar(select(_held_by(holder.id)))
    if held >= cap:
        who = "You hold" if holder.id == actor.id else f"{holder.display_name} holds"
        raise RuleBroken(
            f"{who} {held} unfinished tasks, the most allowed ({cap}). Finish or release one first.", task=task
        )


def _choices(actor: User, task: TaskSnapshot) -> tuple[Member, ...]:
    """Whom the actor could assign the task to, read in this transaction; none unless they supervise it."""
    if not actor.supervises(task.department_id):
        return ()
    return tuple(assignee_choices({task.department_id}).get(task.department_id, ()))


def _refuse(task: TaskSnapshot, version: int, error: type[TaskError], detail: str) -> NoReturn:
    """Raise `error`, unless the user's view was stale: then someone else's change got in the way (409)."""
    if version != task.version:
        raise TaskConflict.naming_holder(task)
    raise error(detail, task=task)


def _require_holder(task: TaskSnapshot, actor: User, version: int, verb: str) -> None:
    if task.assignee is None:
        _refuse(task, version, RuleBroken, f"Claim {task.label} before you {verb} it.")
    if not task.is_held_by(actor):
        _refuse(task, version, NotAllowed, f"{task.assignee.display_name} holds {task.label}; only they may {verb} it.")


def _assignee_seen_at(task: TaskSnapshot, version: int) -> int | None:
    """Who held the task at `version`, as the user saw it; the audit trail records every change of holder."""
    if version == task.version:
        return task.assignee_id
    if version > task.version or version < 1:
        return -1  # a version the task never had: whatever the user saw, it was not this task now
    seen = db.session.execute(
        select(TaskEvent.to_assignee_id)
        .where(TaskEvent.task_id == task.id, TaskEvent.version <= version)
        .order_by(TaskEvent.version.desc())
        .limit(1)
    ).one_or_none()
    return seen.to_assignee_id if seen is not None else None


def _assignable_person(username: str | None, task: TaskSnapshot) -> Person | None:
    """The person to assign by username (None: nobody). Raises RuleBroken unless active in the task's department."""
    if not username:
        return None
    found = db.session.execute(
        select(User.id, User.username, User.display_name)
        .join(user_departments, user_departments.c.user_id == User.id)
        .where(
            User.username == username.strip().lower(),
            User.active.is_(True),
            user_departments.c.department_id == task.department_id,
        )
    ).one_or_none()
    if found is None:
        raise RuleBroken(f"{username!r} is not an active member of {task.department.name}.", task=task)
    return Person(found.id, found.username, found.display_name)


def _close_work_order_if_done(order_id: int) -> None:
    """Mark the work order done when its last step is; its row is locked so two last completions agree."""
    db.session.execute(select(WorkOrder.id).where(WorkOrder.id == order_id).with_for_update())
    unfinished = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.work_order_id == order_id, Task.status != TaskStatus.DONE)
    )
    if unfinished == 0:
        db.session.execute(
            update(WorkOrder.__table__)
            .where(WorkOrder.id == order_id, WorkOrder.status == OrderStatus.OPEN)
            .values(status=OrderStatus.DONE)
        )


def _state_reason(task: TaskSnapshot, verb: str) -> str:
    return f"{task.label} is {task.status.replace('_', ' ')}, so it cannot be {verb}."


def _now() -> datetime:
    return datetime.now(UTC)
