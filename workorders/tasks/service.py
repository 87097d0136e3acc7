"""Claim, release, assign, start, pause and complete: each one short transaction under a row lock.

Every action follows the same steps (`_act`):

0. **Look** at the task: the same lock-and-read as step 1, but as a statement of its own, outside a transaction
   (`first_look`; for an action request it came in the statement that read the caller), and decide on it. A refusal
   or a no-op is answered from that look: no BEGIN, no ROLLBACK. Only a change goes on, and decides again on what
   the transaction's lock shows.
1. **Lock** the task row and read, in that one statement, all that the rules and the answer need: the task, its
   work order, process, department, holder, and the previous step it may be waiting for (``WITH locked AS
   (SELECT … FOR UPDATE) SELECT …``, see `statements.LOCK_TASK`; the lock wait is bounded by ``lock_timeout``,
   set on every PostgreSQL connection).
2. **Decide** on that snapshot: each action's `decide` returns the change to make, a no-op outcome, or raises.
3. **Write** with a version compare (``UPDATE … WHERE id = :id AND version = :seen``, which also guards SQLite,
   where there are no row locks) and one TaskEvent (one statement with the UPDATE on PostgreSQL); the
   per-operator cap is folded into the same UPDATE, after the holder's user row is locked so that two claims by
   one person cannot both squeeze under it.
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
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from workorders.extensions import db
from workorders.notifications.service import notify_holder_changes
from workorders.orders.models import OrderStatus, WorkOrder
from workorders.tasks import first_look
from workorders.tasks import statements as sql
from workorders.tasks.errors import NotAllowed, RuleBroken, TaskConflict, TaskError, TaskNotFound
from workorders.tasks.labels import status_label
from workorders.tasks.models import CLAIMABLE, NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.tasks.queries import assignee_choices
from workorders.tasks.snapshots import Member, Person, TaskSnapshot
from workorders.transactions import reading, transaction
from workorders.users.models import User, user_departments


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
            return Outcome(task, False, _("You already have %(task)s.", task=task.label), already_claimed=True)
        if not actor.belongs_to(task.department_id):
            _refuse(task, version, NotAllowed, _belongs_elsewhere(task))
        if task.assignee is not None and not mine:
            raise TaskConflict.naming_holder(task)
        if task.status not in CLAIMABLE:
            _refuse(task, version, RuleBroken, _state_reason(task, "claimed"))
        me = Person.of(actor)
        return Change("claim", _("You claimed %(task)s.", task=task.label), assignee=me, cap_holder=me)

    # The claimant's row is locked with the task (one round trip), for the cap; a refusal just holds it briefly.
    return _act(task_id, actor, decide, lock_user_id=actor.id if _cap() else None)


def release(task_id: int, actor: User, version: int) -> Outcome:
    """Give a held task back to the pool; by its holder or a supervisor. Raises as `claim` does."""

    def decide(task: TaskSnapshot) -> Decision:
        holder = task.is_held_by(actor)
        if not actor.belongs_to(task.department_id):
            _refuse(task, version, NotAllowed, _belongs_elsewhere(task))
        if task.assignee is None:
            _refuse(task, version, RuleBroken, _("Nobody holds %(task)s.", task=task.label))
        if not holder and not actor.supervises(task.department_id):
            _refuse(task, version, NotAllowed, _("Only the operator holding a task or a supervisor may release it."))
        if not holder and _assignee_seen_at(task, version) != task.assignee_id:
            raise TaskConflict.naming_holder(task)
        if task.status not in CLAIMABLE:
            advice = _("Pause it first.") if holder else _("Assign it to nobody instead: that pauses it as it moves.")
            _refuse(task, version, RuleBroken, f"{_state_reason(task, 'released')} {advice}")
        if holder:
            return Change("release", _("You released %(task)s.", task=task.label), assignee=None)
        message = _("You released %(task)s from %(name)s.", task=task.label, name=task.assignee.display_name)
        return Change("release", message, assignee=None)

    return _act(task_id, actor, decide)


def assign(task_id: int, actor: User, version: int, assignee: str | None) -> Outcome:
    """Give a task to an active member of its department (by username), or to nobody; a started task is paused.

    Raises TaskConflict when the task's holder is not the one the supervisor saw, NotAllowed for anyone but
    the department's supervisors, RuleBroken for a finished task, an unfit assignee or a full cap.
    """

    def decide(task: TaskSnapshot) -> Decision:
        return decide_assign(
            task,
            actor,
            version,
            seen_holder=lambda: _assignee_seen_at(task, version),
            new_holder=lambda: _assignable_person(assignee, task),
        )

    return _act(task_id, actor, decide)


def decide_assign(
    task: TaskSnapshot,
    actor: User,
    version: int,
    seen_holder: Callable[[], int | None],
    new_holder: Callable[[], Person | None],
) -> Decision:
    """Assign's rules on a locked task, for `assign` and `bulk.assign_many` alike (the cap is checked on writing).

    `seen_holder()` is who held the task at `version` (-1: a version it never had); `new_holder()` is the person
    to give it to, or raises RuleBroken. Both are asked only when the rules get that far. Raises TaskConflict,
    NotAllowed, RuleBroken.
    """
    if not actor.supervises(task.department_id):
        _refuse(task, version, NotAllowed, _("Only a supervisor of the department may assign its tasks."))
    if seen_holder() != task.assignee_id:
        raise TaskConflict.naming_holder(task)
    if task.status not in NOT_DONE:
        _refuse(task, version, RuleBroken, _state_reason(task, "assigned"))
    person = new_holder()
    if (person.id if person else None) == task.assignee_id:
        if person is None:
            return Outcome(task, False, _("%(task)s is already assigned to nobody.", task=task.label))
        return Outcome(
            task, False, _("%(task)s is already assigned to %(name)s.", task=task.label, name=person.display_name)
        )
    paused = TaskStatus.PAUSED if task.status == TaskStatus.IN_PROGRESS else None
    if person is None:
        message = _("You assigned %(task)s to nobody.", task=task.label)
    else:
        message = _("You assigned %(task)s to %(name)s.", task=task.label, name=person.display_name)
    return Change(
        "assign" if person else "unassign",
        message,
        assignee=person,
        status=paused,
        cap_holder=person,
    )


def start(task_id: int, actor: User, version: int) -> Outcome:
    """Begin work on a task one holds, once the previous step is done. Raises as `claim` does."""

    def decide(task: TaskSnapshot) -> Decision:
        _require_holder(task, actor, version, "start")
        if task.status == TaskStatus.IN_PROGRESS:
            return Outcome(task, False, _("%(task)s is already in progress.", task=task.label))
        if task.status not in CLAIMABLE:
            _refuse(task, version, RuleBroken, _state_reason(task, "started"))
        if task.waiting_for is not None:
            step = task.waiting_for
            waiting = _("Step %(sequence)s, %(process)s, is not done yet.", sequence=step.sequence, process=step.name)
            _refuse(task, version, RuleBroken, waiting)
        return Change(
            "start",
            _("You started %(task)s.", task=task.label),
            status=TaskStatus.IN_PROGRESS,
            values={"started_at": _now()},
        )

    return _act(task_id, actor, decide)


def pause(task_id: int, actor: User, version: int) -> Outcome:
    """Stop work on a task in progress, keeping it. Raises as `claim` does."""

    def decide(task: TaskSnapshot) -> Decision:
        _require_holder(task, actor, version, "pause")
        if task.status == TaskStatus.PAUSED:
            return Outcome(task, False, _("%(task)s is already paused.", task=task.label))
        if task.status != TaskStatus.IN_PROGRESS:
            _refuse(task, version, RuleBroken, _state_reason(task, "paused"))
        return Change("pause", _("You paused %(task)s.", task=task.label), status=TaskStatus.PAUSED)

    return _act(task_id, actor, decide)


def complete(task_id: int, actor: User, version: int, good_qty: int, scrap_qty: int) -> Outcome:
    """Finish a task in progress with its counts; the work order is done with its last task. Raises as `claim`."""

    def decide(task: TaskSnapshot) -> Decision:
        _require_holder(task, actor, version, "complete")
        if task.status == TaskStatus.DONE and (task.good_qty, task.scrap_qty) == (good_qty, scrap_qty):
            return Outcome(task, False, _("%(task)s is already done.", task=task.label))
        if task.status != TaskStatus.IN_PROGRESS:
            _refuse(task, version, RuleBroken, _state_reason(task, "completed"))
        return Change(
            "complete",
            _(
                "You completed %(task)s: %(good)s good, %(scrap)s scrap.",
                task=task.label,
                good=format_decimal(good_qty),
                scrap=format_decimal(scrap_qty),
            ),
            status=TaskStatus.DONE,
            values={"good_qty": good_qty, "scrap_qty": scrap_qty, "completed_at": _now()},
            # Kept as written, a record; the history shows it in the viewer's language (tasks.labels.event_note).
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


def _act(
    task_id: int, actor: User, decide: Callable[[TaskSnapshot], Decision], lock_user_id: int | None = None
) -> Outcome:
    """Decide on a first look at the task under its lock; for a change, lock again in a transaction, decide again,
    write, commit. The outcome (or the refusal) carries the row as it was decided on, or as the transaction left it.

    Refusals and no-ops are answered from the first look (`first_look`), a statement of its own with no transaction
    around it; `decide` may therefore run twice, and must not write. `lock_user_id`: a user row to lock along with
    the task, in the same statement (the claimant's, for the cap).
    """
    with reading(f"task {task_id}", task_id=task_id):
        seen = first_look.looked_at(task_id)
        if seen is None:
            raise TaskNotFound(task_id)
        try:
            decision = decide(seen)
        except TaskError as refusal:
            if refusal.task is not None:
                refusal.choices = _choices(actor, refusal.task)
            raise
        if isinstance(decision, Outcome):
            return replace(decision, choices=_choices(actor, seen))
    with transaction(f"task {task_id}", task_id=task_id):
        try:
            # A second round only on SQLite, when another writer committed between our read and our write:
            # the failed UPDATE took the write lock, so the second read is the last word.
            for _round in range(2):
                task = _lock(task_id, lock_user_id)
                decision = decide(task)
                if isinstance(decision, Outcome):
                    return replace(decision, choices=_choices(actor, task))
                written = _write(task, decision, actor, lock_user_id)
                if written is not None:
                    if written.assignee_id != task.assignee_id:
                        notify_holder_changes(actor.id, [(task, written)])
                    if decision.action == "complete":
                        _close_work_order_if_done(written.work_order_id)
                    return Outcome(written, True, decision.message, choices=_choices(actor, written))
            raise TaskConflict.naming_holder(_lock(task_id))
        except TaskError as refusal:
            if refusal.task is not None:
                refusal.choices = _choices(actor, refusal.task)
            raise


def _lock(task_id: int, user_id: int | None = None) -> TaskSnapshot:
    """The task, locked for this transaction, with what its row shows (one statement); and, given `user_id`, that
    user's row, locked after the task's. Raises TaskNotFound."""
    connection = db.session.connection()
    if user_id is None:
        row = connection.execute(sql.LOCK_TASK, {"task_id": task_id}).one_or_none()
    else:
        row = connection.execute(sql.LOCK_TASK_AND_USER, {"task_id": task_id, "user_id": user_id}).one_or_none()
    if row is None:
        raise TaskNotFound(task_id)
    task = sql.snapshot(row)
    if row.assignee_id is not None and row.username is None:
        # The holder is a user made after this statement's snapshot was taken, while it waited for the lock.
        holder = connection.execute(sql.HOLDER, {"user_id": row.assignee_id}).one()
        task = replace(task, assignee=Person(row.assignee_id, holder.username, holder.display_name, holder.active))
    return task


def _write(task: TaskSnapshot, change: Change, actor: User, locked_user_id: int | None) -> TaskSnapshot | None:
    """Apply `change` to the locked task and write its event; None when the version moved (SQLite only).

    `locked_user_id` is a user row this transaction has locked already. Raises RuleBroken when the new holder is
    at the cap.
    """
    connection = db.session.connection()
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
    params = {f"new_{name}": value for name, value in values.items()} | {"task_id": task.id, "seen": task.version}
    cap = _cap()
    capped = change.cap_holder is not None and cap > 0
    if capped:
        if change.cap_holder.id != locked_user_id:
            # Lock the holder's row first: a second claim by the same person waits here, then counts this one.
            connection.execute(sql.LOCK_USER, {"user_id": change.cap_holder.id})
        params |= {"holder_id": change.cap_holder.id, "cap": cap}
    event = {
        "task_id": task.id,
        "actor_id": actor.id,
        "action": change.action,
        "from_assignee_id": task.assignee_id,
        "to_assignee_id": values["assignee_id"],
        "from_status": task.status,
        "to_status": status,
        "version": values["version"],
        "note": change.note,
    }
    if not _update_and_log(connection, tuple(values), capped, params, event):
        if capped:
            _check_cap(change.cap_holder, cap, task, actor)
        return None
    counts = {name: change.values[name] for name in ("good_qty", "scrap_qty") if name in change.values}
    return replace(task, assignee=assignee, status=status, version=values["version"], updated_at=now, **counts)


def _update_and_log(connection, columns: tuple[str, ...], capped: bool, params: dict, event: dict) -> bool:
    """Update the task and write its event; False (and nothing written) when the UPDATE matched no row."""
    if connection.dialect.name == "postgresql":
        # One round trip for both; SQLite has no data-modifying CTEs.
        event_params = {f"event_{name}": value for name, value in event.items()}
        return connection.execute(sql.update_task_and_log(columns, capped), params | event_params).first() is not None
    if connection.execute(sql.update_task(columns, capped), params).rowcount != 1:
        return False
    connection.execute(sql.INSERT_EVENT, event)
    return True


def _check_cap(holder: Person, cap: int, task: TaskSnapshot, actor: User) -> None:
    """Raise RuleBroken when `holder` already holds as many unfinished tasks as the shop allows."""
    held = db.session.connection().execute(sql.COUNT_HELD, {"holder_id": holder.id}).scalar_one()
    if held >= cap:
        raise cap_reached(holder, held, cap, task, actor)


def cap_reached(holder: Person, held: int, cap: int, task: TaskSnapshot, actor: User) -> RuleBroken:
    """The refusal of a task for `holder`, who holds `held` unfinished tasks: the most the shop allows."""
    if holder.id == actor.id:
        detail = ngettext(
            "You hold %(num)d unfinished task, the most allowed (%(cap)d). Finish or release it first.",
            "You hold %(num)d unfinished tasks, the most allowed (%(cap)d). Finish or release one first.",
            held,
            cap=cap,
        )
    else:
        detail = ngettext(
            "%(name)s holds %(num)d unfinished task, the most allowed (%(cap)d). Finish or release it first.",
            "%(name)s holds %(num)d unfinished tasks, the most allowed (%(cap)d). Finish or release one first.",
            held,
            name=holder.display_name,
            cap=cap,
        )
    return RuleBroken(detail, task=task)


def _cap() -> int:
    """TASK_CAP_PER_OPERATOR: the most unfinished tasks one person may hold; 0 = no cap."""
    return int(current_app.config["TASK_CAP_PER_OPERATOR"])


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
        _refuse(task, version, RuleBroken, str(CLAIM_FIRST[verb]) % {"task": task.label})
    if not task.is_held_by(actor):
        words = {"name": task.assignee.display_name, "task": task.label}
        _refuse(task, version, NotAllowed, str(HOLDER_ONLY[verb]) % words)


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
        raise unfit_assignee(username, task)
    return Person(found.id, found.username, found.display_name)


def unfit_assignee(username: str, task: TaskSnapshot) -> RuleBroken:
    """The refusal of an assignee who is not an active member of the task's department."""
    detail = _(
        "%(username)r is not an active member of %(department)s.", username=username, department=task.department.name
    )
    return RuleBroken(detail, task=task)


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
    return str(CANNOT_BE[verb]) % {"task": task.label, "status": status_label(task.status).lower()}


def _belongs_elsewhere(task: TaskSnapshot) -> str:
    return _("%(task)s belongs to %(department)s.", task=task.label, department=task.department.name)


# Whole sentences per verb, so that each reads naturally in every language; filled in where they are raised.
CANNOT_BE = {
    "claimed": _l("%(task)s is %(status)s, so it cannot be claimed."),
    "released": _l("%(task)s is %(status)s, so it cannot be released."),
    "assigned": _l("%(task)s is %(status)s, so it cannot be assigned."),
    "started": _l("%(task)s is %(status)s, so it cannot be started."),
    "paused": _l("%(task)s is %(status)s, so it cannot be paused."),
    "completed": _l("%(task)s is %(status)s, so it cannot be completed."),
}
CLAIM_FIRST = {
    "start": _l("Claim %(task)s before you start it."),
    "pause": _l("Claim %(task)s before you pause it."),
    "complete": _l("Claim %(task)s before you complete it."),
}
HOLDER_ONLY = {
    "start": _l("%(name)s holds %(task)s; only they may start it."),
    "pause": _l("%(name)s holds %(task)s; only they may pause it."),
    "complete": _l("%(name)s holds %(task)s; only they may complete it."),
}


def _now() -> datetime:
    return datetime.now(UTC)
