"""Bulk assign: a supervisor gives many tasks to one person (or to nobody) in one short transaction.

Each task gets exactly the answer a single assign would give it (`service.decide_assign`): assigned, or refused
with a 409, 403, 400 or 404 of its own; the ones that apply are applied. The steps, as `service._act`'s:

1. **Lock** every task in one statement, in id order (`statements.LOCK_TASKS`: the lock in a CTE, the rows the
   answer needs joined outside it). SQLite has no row locks: there the file's write lock is taken first
   (``BEGIN IMMEDIATE``), so what is read next is the last word until COMMIT.
2. **Lock the assignee's user row** (when the per-operator cap applies) and count what they hold, once: every
   change that could add to that count locks the same row first.
3. **Decide** each task in id order on what is locked, the cap filling up as tasks apply (the 11th task over a cap
   of 10 is refused as a single assign would be).
4. **Write** the applied ones with a version compare and an event each in a constant number of statements (one on
   PostgreSQL, `statements.ASSIGN_MANY`; an executemany each for the UPDATE and the events on SQLite), then the
   notifications in one INSERT.
5. **Commit**, and answer from the snapshots: nothing after COMMIT reads the database.

Rows are locked in the module-wide order, tasks (by id) → users, so a bulk assign and the single actions (or two
bulk assigns over overlapping tasks) never wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from workorders.errors import BadInput, Unavailable
from workorders.extensions import db
from workorders.notifications.service import notify_holder_changes
from workorders.tasks import statements as sql
from workorders.tasks.errors import TaskConflict, TaskError, TaskNotFound
from workorders.tasks.queries import assignee_choices, unique_members
from workorders.tasks.service import Change, Outcome, cap_reached, decide_assign, unfit_assignee
from workorders.tasks.snapshots import Member, Person, TaskSnapshot
from workorders.transactions import transaction
from workorders.users.models import User

MAX_TASKS = 200  # a shift's worth and more; a bigger list is a mistake, not a plan
ASSIGNED = "assigned"
NOT_FOUND = "not_found"
# What people read, in one place: translated where used, the named placeholders filled in then.
TEXTS = {
    "applied": _l("%(label)s: assigned to %(name)s."),
    "holder_now": _l("%(label)s: %(holder)s has it now."),
    "labelled": _l("%(label)s: %(detail)s"),
    "nobody": _l("nobody"),
    "no_tasks": _l("Tick at least one task to assign."),
    "too_many": _l("At most %(most)s tasks can be assigned at once, not %(count)s."),
    "twice": _l("Task %(task_id)s is in the list twice."),
}
# How many refusals the summary sentence names; the list under it names them all.
SUMMARY_NAMES = 3


@dataclass(frozen=True)
class TaskResult:
    """One task's answer: `outcome` is "assigned" (`changed` False when it was theirs already) or a refusal's code.

    `task` is the task as this transaction left it, or saw it under the lock when refused (None: no such task);
    `note` is the line the board lists it with.
    """

    task_id: int
    outcome: str
    status: int
    detail: str
    note: str
    task: TaskSnapshot | None = None
    changed: bool = False
    current_owner: str | None = None


@dataclass(frozen=True)
class BulkOutcome:
    """Every task's result in id order, whom they went to, and whom the actor may assign to (loads as left)."""

    results: tuple[TaskResult, ...]
    assignee: Person | None
    asked_for: str | None  # the username asked for, as typed (None: nobody)
    choices: dict[int, tuple[Member, ...]]

    @property
    def refused(self) -> list[TaskResult]:
        return [result for result in self.results if result.outcome != ASSIGNED]

    @property
    def assigned(self) -> int:
        """How many tasks the assignee holds now from this list (the ones that were theirs already included)."""
        return sum(result.outcome == ASSIGNED for result in self.results)

    @property
    def status(self) -> int:
        """200 when every task applied; else 409 when any conflicted; else the first refusal's status."""
        refused = self.refused
        if not refused:
            return 200
        return TaskConflict.status if self.code == TaskConflict.code else refused[0].status

    @property
    def code(self) -> str:
        """The answer's code, as a single action's error would carry it ("assigned" when all applied)."""
        refused = self.refused
        if any(result.outcome == TaskConflict.code for result in refused):
            return TaskConflict.code
        return refused[0].outcome if refused else ASSIGNED

    @property
    def summary(self) -> str:
        """ "Assigned 4 to Omar. WO-2026-0042 · Printing: Olga has it now." """
        if self.asked_for is None:
            head = ngettext("Unassigned %(num)d.", "Unassigned %(num)d.", self.assigned)
        else:
            name = _name(self.assignee, self.asked_for)
            head = ngettext("Assigned %(num)d to %(name)s.", "Assigned %(num)d to %(name)s.", self.assigned, name=name)
        refused = self.refused
        named = [result.note for result in refused[:SUMMARY_NAMES]]
        if len(refused) > SUMMARY_NAMES:
            more = len(refused) - SUMMARY_NAMES
            named.append(ngettext("%(num)d more below.", "%(num)d more below.", more))
        return " ".join([head, *named])

    @property
    def members(self) -> list[Member]:
        """Everyone in `choices`, once each, by name (the bulk form's select, loads as this transaction left them)."""
        return unique_members(self.choices.values())


def assign_many(actor: User, assignee: str | None, seen: Sequence[tuple[int, int]]) -> BulkOutcome:
    """Give each of these tasks (id, version seen) to the active member `assignee` (a username; None: nobody).

    Each task is decided as `service.assign` would decide it, and every one that applies is applied, in one
    transaction. Raises BadInput (no tasks, more than MAX_TASKS, a task twice) and Unavailable; a task's own
    refusal is its result, not an exception.
    """
    versions = _checked(seen)
    asked_for = assignee.strip() if assignee and assignee.strip() else None
    cap = int(current_app.config["TASK_CAP_PER_OPERATOR"])
    with transaction("bulk assign"):
        connection = db.session.connection()
        _take_the_write_lock_on_sqlite(connection)
        tasks = _lock_tasks(connection, sorted(versions))
        target = _target(connection, asked_for, cap)
        holders = _holders_seen(connection, tasks, versions)
        results, changes = _decide_all(actor, tasks, versions, holders, target, cap)
        written = _write(connection, actor, target.person, changes)
        for (_, after), (_, change) in zip(written, changes, strict=True):
            results[after.id] = _applied(after, change.message)
        notify_holder_changes(actor.id, written)
        choices = _choices(actor, tasks.values())
    return BulkOutcome(tuple(results[task_id] for task_id in sorted(results)), target.person, asked_for, choices)


@dataclass
class _Target:
    """Whom the tasks go to: the active user asked for (None: nobody, or no such user), the departments they
    belong to, and how many unfinished tasks they hold (counted under their row's lock, when the cap applies)."""

    asked_for: str | None
    person: Person | None = None
    member_of: frozenset[int] = frozenset()
    held: int = 0


def _decide_all(actor: User, tasks, versions, holders, target: _Target, cap: int):
    """Each task's decision, in id order: the results so far (refusals, tasks that were the assignee's already,
    missing tasks) and the changes to write; the cap fills up as the changes are counted."""
    results: dict[int, TaskResult] = {}
    changes: list[tuple[TaskSnapshot, Change]] = []
    for task_id in sorted(versions):
        task = tasks.get(task_id)
        if task is None:
            results[task_id] = _not_found(task_id)
            continue
        try:
            decision = _decide(task, actor, versions[task_id], holders[task_id], target)
            if isinstance(decision, Outcome):
                results[task_id] = _kept(decision)
                continue
            if cap and target.person is not None:
                if target.held >= cap:
                    raise cap_reached(target.person, target.held, cap, task, actor)
                target.held += 1
            changes.append((task, decision))
        except TaskError as refusal:
            results[task_id] = _refused(task_id, refusal)
    return results, changes


def _checked(seen: Sequence[tuple[int, int]]) -> dict[int, int]:
    """{task id: version seen}. Raises BadInput for no tasks, too many, or one task twice."""
    if not seen:
        raise BadInput(str(TEXTS["no_tasks"]))
    if len(seen) > MAX_TASKS:
        raise BadInput(str(TEXTS["too_many"]) % {"most": MAX_TASKS, "count": len(seen)})
    versions: dict[int, int] = {}
    for task_id, version in seen:
        if task_id in versions:
            raise BadInput(str(TEXTS["twice"]) % {"task_id": task_id}, task_id=task_id)
        versions[task_id] = version
    return versions


def _take_the_write_lock_on_sqlite(connection) -> None:
    """SQLite: take the file's write lock before reading (waiting up to the busy timeout), as a row lock would."""
    if connection.dialect.name != "sqlite":
        return
    # The driver opens a transaction only before a write; one already open has written, and holds the lock.
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _lock_tasks(connection, task_ids: list[int]) -> dict[int, TaskSnapshot]:
    """These tasks locked in id order, each with what its row shows (one statement; two when a holder is a user
    made while the statement waited for a lock, see `service._lock`)."""
    rows = connection.execute(sql.LOCK_TASKS, {"task_ids": task_ids}).all()
    tasks = {row.id: sql.snapshot(row) for row in rows}
    unnamed = sorted({row.assignee_id for row in rows if row.assignee_id is not None and row.username is None})
    if unnamed:
        people = {row.id: Person(*row) for row in connection.execute(sql.HOLDERS, {"user_ids": unnamed})}
        for task_id, task in tasks.items():
            if task.assignee is not None and task.assignee.id in people:
                tasks[task_id] = replace(task, assignee=people[task.assignee.id])
    return tasks


def _target(connection, asked_for: str | None, cap: int) -> _Target:
    """The active user named `asked_for`, with their departments; when the cap applies, their row locked (after the
    tasks') and what they hold counted (a statement of its own, so that it sees what committed while it waited)."""
    if asked_for is None:
        return _Target(None)
    statement = sql.LOCK_ASSIGNEE if cap else sql.ASSIGNEE
    rows = connection.execute(statement, {"username": asked_for.lower()}).all()
    if not rows:
        return _Target(asked_for)
    person = Person(rows[0].id, rows[0].username, rows[0].display_name)
    held = connection.execute(sql.COUNT_HELD, {"holder_id": person.id}).scalar_one() if cap else 0
    return _Target(asked_for, person, frozenset(row.department_id for row in rows) - {None}, held)


def _holders_seen(connection, tasks: dict[int, TaskSnapshot], versions: dict[int, int]) -> dict[int, int | None]:
    """Who held each task at the version the supervisor saw, as `service._assignee_seen_at` tells it for one task
    (-1: a version the task never had); the event log is read once for all the stale ones."""
    holders: dict[int, int | None] = {}
    stale: dict[int, int] = {}
    for task_id, task in tasks.items():
        version = versions[task_id]
        if version == task.version:
            holders[task_id] = task.assignee_id
        elif version > task.version or version < 1:
            holders[task_id] = -1
        else:
            stale[task_id] = version
            holders[task_id] = None  # unless an event up to that version says otherwise
    if stale:
        history = connection.execute(sql.HISTORY, {"task_ids": sorted(stale), "newest": max(stale.values())})
        for event in history:  # by task, oldest first: the last event at or before the version seen wins
            if event.version <= stale[event.task_id]:
                holders[event.task_id] = event.to_assignee_id
    return holders


def _decide(task: TaskSnapshot, actor: User, version: int, seen_holder: int | None, target: _Target):
    """A single assign's decision on this locked task, from what the transaction has read already."""

    def new_holder() -> Person | None:
        if target.asked_for is None:
            return None
        if target.person is None or task.department_id not in target.member_of:
            raise unfit_assignee(target.asked_for, task)
        return target.person

    return decide_assign(task, actor, version, seen_holder=lambda: seen_holder, new_holder=new_holder)


def _write(
    connection, actor: User, person: Person | None, changes: list[tuple[TaskSnapshot, Change]]
) -> list[tuple[TaskSnapshot, TaskSnapshot]]:
    """Apply the changes (each locked task to `person`) with a version compare and an event each; the (before,
    after) snapshots. Raises Unavailable, rolling everything back, should a version have moved under the locks
    (it cannot: they are held)."""
    if not changes:
        return []
    now = datetime.now(UTC)
    pairs = [(task, _after(task, change, now)) for task, change in changes]
    action = "assign" if person else "unassign"
    if connection.dialect.name == "postgresql":
        written = len(connection.execute(sql.ASSIGN_MANY, _arrays(pairs, actor, person, action, now)).all())
    else:
        written = _write_on_sqlite(connection, pairs, actor, action, now)
    if written != len(pairs):
        current_app.logger.error(
            "bulk assign: %d of %d tasks moved under their locks", len(pairs) - written, len(pairs)
        )
        raise Unavailable.nothing_changed()
    return pairs


def _after(task: TaskSnapshot, change: Change, now: datetime) -> TaskSnapshot:
    """The task as the change writes it: its new holder, its status (a started task is paused), the next version."""
    status = change.status or task.status
    return replace(task, assignee=change.assignee, status=status, version=task.version + 1, updated_at=now)


def _arrays(pairs, actor: User, person: Person | None, action: str, now: datetime) -> dict:
    """ASSIGN_MANY's parameters: the per-task values as arrays."""
    return {
        "task_ids": [before.id for before, _ in pairs],
        "seen": [before.version for before, _ in pairs],
        "from_assignee_ids": [before.assignee_id for before, _ in pairs],
        "from_statuses": [str(before.status) for before, _ in pairs],
        "to_statuses": [str(after.status) for _, after in pairs],
        "assignee_id": person.id if person else None,
        "actor_id": actor.id,
        "action": action,
        "now": now,
    }


def _write_on_sqlite(connection, pairs, actor: User, action: str, now: datetime) -> int:
    """SQLite (no data-modifying CTEs): the UPDATEs in one executemany, then the events in another; how many matched."""
    columns = ("assignee_id", "status", "version", "updated_at")
    updates = [
        {
            "task_id": before.id,
            "seen": before.version,
            "new_assignee_id": after.assignee_id,
            "new_status": str(after.status),
            "new_version": after.version,
            "new_updated_at": now,
        }
        for before, after in pairs
    ]
    matched = connection.execute(sql.update_task(columns, False), updates).rowcount
    events = [
        {
            "task_id": before.id,
            "actor_id": actor.id,
            "action": action,
            "from_assignee_id": before.assignee_id,
            "to_assignee_id": after.assignee_id,
            "from_status": before.status,
            "to_status": after.status,
            "version": after.version,
            "note": None,
        }
        for before, after in pairs
    ]
    connection.execute(sql.INSERT_EVENT, events)
    return matched


def _choices(actor: User, tasks) -> dict[int, tuple[Member, ...]]:
    """Whom the actor may assign to, per department they supervise among these tasks' and their own, read in this
    transaction after the writes (so each person's load is as it now is)."""
    departments = {task.department_id for task in tasks} | actor.department_ids()
    supervised = {department for department in departments if actor.supervises(department)}
    return {department: tuple(members) for department, members in assignee_choices(supervised).items()}


def _name(person: Person | None, asked_for: str | None) -> str:
    if asked_for is None:
        return str(TEXTS["nobody"])
    return person.display_name if person else asked_for


def _applied(task: TaskSnapshot, message: str) -> TaskResult:
    name = task.assignee.display_name if task.assignee else str(TEXTS["nobody"])
    note = str(TEXTS["applied"]) % {"label": task.label, "name": name}
    return TaskResult(task.id, ASSIGNED, 200, message, note, task, changed=True, current_owner=task.owner_username)


def _kept(outcome: Outcome) -> TaskResult:
    """A task that was the assignee's already: assigned, as a single assign's 200 says, and nothing written."""
    task = outcome.task
    return TaskResult(task.id, ASSIGNED, 200, outcome.message, outcome.message, task, current_owner=task.owner_username)


def _refused(task_id: int, refusal: TaskError) -> TaskResult:
    task = refusal.task
    if isinstance(refusal, TaskConflict) and task is not None and task.assignee is not None:
        note = str(TEXTS["holder_now"]) % {"label": task.label, "holder": task.assignee.display_name}
    elif task is not None and task.label not in refusal.detail:
        note = str(TEXTS["labelled"]) % {"label": task.label, "detail": refusal.detail}
    else:
        note = refusal.detail
    owner = task.owner_username if task is not None else None
    return TaskResult(task_id, refusal.code, refusal.status, refusal.detail, note, task, current_owner=owner)


def _not_found(task_id: int) -> TaskResult:
    missing = TaskNotFound(task_id)
    return TaskResult(task_id, missing.code, missing.status, missing.detail, missing.detail)
