"""Claim, release, assign, start, pause and complete: each one short transaction under a row lock.

Every action follows the same steps: lock the task row (``SELECT … FOR UPDATE`` with a lock timeout on
PostgreSQL), re-check the rules on what is locked, update with a version compare (SQLAlchemy's
``version_id_col`` adds ``AND version = :seen`` to the UPDATE, so the guard also holds on SQLite, which has
no row locks), write one TaskEvent, commit. Nothing is rendered until the commit is done.

Rows are always locked in this order, so two transactions never wait on each other in a circle:
tasks (by id) → their work order → users.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from workorders.departments.models import Process
from workorders.errors import DomainError
from workorders.extensions import db
from workorders.orders.models import OrderStatus, WorkOrder
from workorders.tasks.errors import NotAllowed, RuleBroken, TaskConflict, TaskNotFound
from workorders.tasks.models import CLAIMABLE, NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.transactions import transaction
from workorders.users.models import User


@dataclass(frozen=True)
class Outcome:
    """What an action did: `changed` is False for a no-op (no event written, version unchanged)."""

    task_id: int
    changed: bool
    message: str
    already_claimed: bool = False


def claim(task_id: int, actor: User, version: int) -> Outcome:
    """Take an open or paused task nobody holds. Raises TaskConflict, NotAllowed, RuleBroken, TaskNotFound."""
    with _locked_task(task_id) as task:
        if task.is_held_by(actor) and task.status in NOT_DONE:
            return Outcome(task.id, False, f"You already have {task.label}.", already_claimed=True)
        if not actor.belongs_to(task.department_id):
            _refuse(task, version, NotAllowed, f"{task.label} belongs to {task.department.name}.")
        if task.assignee_id is not None and not task.is_held_by(actor):
            _refuse(task, version, NotAllowed, f"{task.assignee.display_name} has this task.")
        if task.status not in CLAIMABLE:
            _refuse(task, version, RuleBroken, _state_reason(task, "claimed"))
        _check_cap(actor, task, actor)
        _change(task, actor, "claim", assignee=actor)
        return Outcome(task.id, True, f"You claimed {task.label}.")


def release(task_id: int, actor: User, version: int) -> Outcome:
    """Give a held task back to the pool; by its holder or a supervisor. Raises as `claim` does."""
    with _locked_task(task_id) as task:
        holder = task.is_held_by(actor)
        if not actor.belongs_to(task.department_id):
            _refuse(task, version, NotAllowed, f"{task.label} belongs to {task.department.name}.")
        if task.assignee_id is None:
            _refuse(task, version, RuleBroken, f"Nobody holds {task.label}.")
        if not holder and not actor.supervises(task.department_id):
            _refuse(task, version, NotAllowed, "Only the operator holding a task or a supervisor may release it.")
        if not holder and _assignee_seen_at(task, version) != task.assignee_id:
            raise _conflict(task)
        if task.status not in CLAIMABLE:
            advice = " Pause it first." if holder else " Assign it to nobody instead: that pauses it as it moves."
            _refuse(task, version, RuleBroken, _state_reason(task, "released") + advice)
        previous = task.assignee.display_name
        _change(task, actor, "release", assignee=None)
        return Outcome(task.id, True, f"You released {task.label}" + ("." if holder else f" from {previous}."))


def assign(task_id: int, actor: User, version: int, assignee: str | None) -> Outcome:
    """Give a task to an active member of its department (by username), or to nobody; a started task is paused.

    Raises TaskConflict when the task's holder is not the one the supervisor saw, NotAllowed for anyone but
    the department's supervisors, RuleBroken for a finished task, an unfit assignee or a full cap.
    """
    with _locked_task(task_id) as task:
        if not actor.supervises(task.department_id):
            _refuse(task, version, NotAllowed, "Only a supervisor of the department may assign its tasks.")
        if _assignee_seen_at(task, version) != task.assignee_id:
            raise _conflict(task)
        if task.status not in NOT_DONE:
            _refuse(task, version, RuleBroken, _state_reason(task, "assigned"))
        new_holder = _assignable_user(assignee, task)
        who = new_holder.display_name if new_holder else "nobody"
        if (new_holder.id if new_holder else None) == task.assignee_id:
            return Outcome(task.id, False, f"{task.label} is already assigned to {who}.")
        if new_holder is not None:
            _check_cap(new_holder, task, actor)
        paused = TaskStatus.PAUSED if task.status == TaskStatus.IN_PROGRESS else None
        _change(task, actor, "assign" if new_holder else "unassign", assignee=new_holder, status=paused)
        return Outcome(task.id, True, f"You assigned {task.label} to {who}.")


def start(task_id: int, actor: User, version: int) -> Outcome:
    """Begin work on a task one holds, once the previous step is done. Raises as `claim` does."""
    with _locked_task(task_id) as task:
        _require_holder(task, actor, version, "start")
        if task.status == TaskStatus.IN_PROGRESS:
            return Outcome(task.id, False, f"{task.label} is already in progress.")
        if task.status not in CLAIMABLE:
            _refuse(task, version, RuleBroken, _state_reason(task, "started"))
        blocker = blocking_step(task)
        if blocker is not None:
            _refuse(task, version, RuleBroken, f"Step {blocker.sequence}, {blocker.process.name}, is not done yet.")
        _change(task, actor, "start", status=TaskStatus.IN_PROGRESS, started_at=_now())
        return Outcome(task.id, True, f"You started {task.label}.")


def pause(task_id: int, actor: User, version: int) -> Outcome:
    """Stop work on a task in progress, keeping it. Raises as `claim` does."""
    with _locked_task(task_id) as task:
        _require_holder(task, actor, version, "pause")
        if task.status == TaskStatus.PAUSED:
            return Outcome(task.id, False, f"{task.label} is already paused.")
        if task.status != TaskStatus.IN_PROGRESS:
            _refuse(task, version, RuleBroken, _state_reason(task, "paused"))
        _change(task, actor, "pause", status=TaskStatus.PAUSED)
        return Outcome(task.id, True, f"You paused {task.label}.")


def complete(task_id: int, actor: User, version: int, good_qty: int, scrap_qty: int) -> Outcome:
    """Finish a task in progress with its counts; the work order is done with its last task. Raises as `claim`."""
    with _locked_task(task_id) as task:
        _require_holder(task, actor, version, "complete")
        if task.status == TaskStatus.DONE and (task.good_qty, task.scrap_qty) == (good_qty, scrap_qty):
            return Outcome(task.id, False, f"{task.label} is already done.")
        if task.status != TaskStatus.IN_PROGRESS:
            _refuse(task, version, RuleBroken, _state_reason(task, "completed"))
        _change(
            task,
            actor,
            "complete",
            status=TaskStatus.DONE,
            good_qty=good_qty,
            scrap_qty=scrap_qty,
            completed_at=_now(),
            note=f"good {good_qty}, scrap {scrap_qty}",
        )
        _close_work_order_if_done(task)
        return Outcome(task.id, True, f"You completed {task.label}: {good_qty:,} good, {scrap_qty:,} scrap.")


ACTIONS = {
    "claim": claim,
    "release": release,
    "assign": assign,
    "start": start,
    "pause": pause,
    "complete": complete,
}


def blocking_step(task: Task) -> Task | None:
    """The previous non-parallel step of the work order, if it is not done yet."""
    previous = db.session.scalar(
        select(Task)
        .join(Task.process)
        .where(Task.work_order_id == task.work_order_id, Task.sequence < task.sequence, Process.parallel.is_(False))
        .order_by(Task.sequence.desc())
        .limit(1)
    )
    return previous if previous is not None and previous.status != TaskStatus.DONE else None


@contextmanager
def _locked_task(task_id: int) -> Iterator[Task]:
    """Lock the task row for one transaction (see `transaction`); a change that lost the version race is a 409."""
    try:
        with transaction(f"task {task_id}", task_id=task_id):
            query = select(Task).where(Task.id == task_id).with_for_update(of=Task)
            task = db.session.scalar(query.execution_options(populate_existing=True))
            if task is None:
                raise TaskNotFound(task_id)
            yield task
    except StaleDataError:
        # Only reachable without row locks (SQLite): someone committed a change after our read.
        raise _conflict(db.session.get(Task, task_id, populate_existing=True)) from None


def _change(task: Task, actor: User, action: str, *, note: str | None = None, **changes) -> None:
    """Apply `changes` to the locked task and write the event; the flush bumps the version (or finds it stale)."""
    from_assignee, from_status = task.assignee, task.status
    if "assignee" in changes:
        task.assignee = changes.pop("assignee")
    status = changes.pop("status", None)
    if status is not None:
        task.status = status
    for name, value in changes.items():
        setattr(task, name, value)
    task.updated_at = _now()
    db.session.add(
        TaskEvent(
            task=task,
            actor=actor,
            action=action,
            from_assignee=from_assignee,
            to_assignee=task.assignee,
            from_status=from_status,
            to_status=task.status,
            version=task.version + 1,
            note=note,
        )
    )
    db.session.flush()


def _refuse(task: Task, version: int, error: type[DomainError], detail: str) -> NoReturn:
    """Raise `error`, unless the user's view was stale: then someone else's change got in the way (409)."""
    if version != task.version:
        raise _conflict(task)
    raise error(detail, task_id=task.id)


def _conflict(task: Task) -> TaskConflict:
    owner = task.assignee
    if owner is not None:
        detail = f"{owner.display_name} ({owner.username}) has {task.label} now."
    else:
        detail = f"{task.label} changed since you saw it: it is {task.status.replace('_', ' ')} and nobody holds it."
    return TaskConflict(detail, task_id=task.id, current_owner=owner.username if owner else None)


def _require_holder(task: Task, actor: User, version: int, verb: str) -> None:
    if task.assignee_id is None:
        _refuse(task, version, RuleBroken, f"Claim {task.label} before you {verb} it.")
    if not task.is_held_by(actor):
        _refuse(task, version, NotAllowed, f"{task.assignee.display_name} holds {task.label}; only they may {verb} it.")


def _assignee_seen_at(task: Task, version: int) -> int | None:
    """Who held the task at `version`, as the user saw it; the audit trail records every change of holder."""
    if version == task.version:
        return task.assignee_id
    if version > task.version or version < 1:
        return -1  # a version the task never had: whatever the user saw, it was not this task now
    event = db.session.scalar(
        select(TaskEvent)
        .where(TaskEvent.task_id == task.id, TaskEvent.version <= version)
        .order_by(TaskEvent.version.desc())
        .limit(1)
    )
    return event.to_assignee_id if event is not None else None


def _assignable_user(username: str | None, task: Task) -> User | None:
    """The user to assign by username (None: nobody). Raises RuleBroken unless active in the task's department."""
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active or task.department_id not in user.department_ids():
        raise RuleBroken(f"{username!r} is not an active member of {task.department.name}.", task_id=task.id)
    return user


def _check_cap(user: User, task: Task, actor: User) -> None:
    """Refuse when `user` already holds as many unfinished tasks as the shop allows."""
    cap = int(current_app.config["TASK_CAP_PER_OPERATOR"])
    if cap == 0:
        return
    # Lock the holder's row so two claims by one person cannot both squeeze under the cap.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    held = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.assignee_id == user.id, Task.status.in_(NOT_DONE))
    )
    if held >= cap:
        who = "You hold" if user.id == actor.id else f"{user.display_name} holds"
        raise RuleBroken(
            f"{who} {held} unfinished tasks, the most allowed ({cap}). Finish or release one first.", task_id=task.id
        )


def _close_work_order_if_done(task: Task) -> None:
    order = db.session.scalar(select(WorkOrder).where(WorkOrder.id == task.work_order_id).with_for_update())
    unfinished = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.work_order_id == order.id, Task.status != TaskStatus.DONE)
    )
    if unfinished == 0 and order.status == OrderStatus.OPEN:
        order.status = OrderStatus.DONE


def _state_reason(task: Task, verb: str) -> str:
    return f"{task.label} is {task.status.replace('_', ' ')}, so it cannot be {verb}."


def _now() -> datetime:
    return datetime.now(UTC)
