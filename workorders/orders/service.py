"""Creating, importing and cancelling work orders, each in one short transaction.

Numbers (``WO-YYYY-NNNN``) are the year's highest number plus one, read under a lock only one writer holds
at a time: a transaction-scoped advisory lock on PostgreSQL, the database's write lock on SQLite. The unique
constraint on ``number`` stays the last line of defence: should a number be taken anyway (a writer that did
not take the lock), creation retries with a fresh one. Past a year's 9,999th order numbers grow a digit
(WO-2026-10000), up to what the column holds.

Tasks are only ever added here, under that same lock, so task ids become visible in the order they were handed
out: a reader that sees task 101 will never later see a task 100 appear. The live board's version relies on it
(workorders/tasks/queries.py, `board_version`).

Cancelling keeps the lock order of workorders/tasks/service.py — the order's tasks (by id), then the order —
so it never waits in a circle with a task action that locks a task and then its work order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import current_app
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, cast, func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from workorders.departments.models import Process
from workorders.errors import Unavailable
from workorders.extensions import db
from workorders.notifications.service import notify_cancelled
from workorders.orders import importer
from workorders.orders.errors import ImportRejected, InvalidField, OrderNotFound, SupervisorsOnly
from workorders.orders.models import (
    MAX_REASON,
    MAX_SERIAL,
    NUMBER_LENGTH,
    OrderDraft,
    OrderStatus,
    WorkOrder,
    check_draft,
    check_text,
    format_number,
)
from workorders.tasks.errors import RuleBroken, TaskConflict
from workorders.tasks.models import NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.transactions import transaction
from workorders.users.models import User

# The key of the PostgreSQL advisory lock every number allocation takes ("WONR" in ASCII).
NUMBERING_LOCK = 0x574F4E52
NUMBER_ATTEMPTS = 3


@dataclass(frozen=True)
class Cancelled:
    number: str
    tasks: int
    message: str


@dataclass(frozen=True)
class Imported:
    orders: int
    tasks: int
    message: str


# What only supervisors may do, as SupervisorsOnly says it ("Only supervisors and admins may …").
WHAT = {
    "create": _l("create work orders"),
    "cancel": _l("cancel work orders"),
    "import": _l("import work orders"),
    "workload": _l("see the workload"),
}


def _already(order: WorkOrder) -> str:
    if order.status == OrderStatus.DONE:
        return _("%(number)s is done already; nothing was changed.", number=order.number)
    return _("%(number)s is cancelled already; nothing was changed.", number=order.number)


def require_supervisor(actor: User, what: str) -> None:
    """Raise SupervisorsOnly unless `actor` is a supervisor or an admin; `what` is one of WHAT, translated."""
    if not actor.is_supervisor:
        raise SupervisorsOnly(_("Only supervisors and admins may %(what)s.", what=what))


def create_work_order(actor: User, draft: OrderDraft) -> WorkOrder:
    """Add a work order and one open task per route step, numbered with the next free number of this year.

    `draft.number` is ignored: a new order always gets the next number. Raises SupervisorsOnly, InvalidField
    (naming the field), RuleBroken (the year's numbers are used up), Unavailable.
    """
    require_supervisor(actor, WHAT["create"])
    check_draft(draft)
    if draft.due_date < date.today():
        raise InvalidField("due_date", _("may not be in the past."))
    processes = route_processes(draft.route)
    for attempt in range(1, NUMBER_ATTEMPTS + 1):
        number = None
        try:
            with _transaction():
                _lock_numbering()
                number = next_numbers(date.today().year, 1)[0]
                order = _add_order(draft, number, processes, actor)
            return order
        except IntegrityError:
            # Only a number taken without the lock is worth another try; anything else is a bug to see.
            if number is None or not _number_taken(number):
                raise
            current_app.logger.warning("work order number %s was taken; attempt %s", number, attempt)
    raise Unavailable(_("No free work order number could be reserved just now; nothing was created."))


def route_processes(codes: list[str]) -> list[Process]:
    """The processes of a route, in its order. Raises InvalidField for a code that names no process."""
    found = {process.code: process for process in db.session.scalars(select(Process).where(Process.code.in_(codes)))}
    for code in codes:
        if code not in found:
            raise InvalidField("route", _("names an unknown process %(code)r.", code=code))
    return [found[code] for code in codes]


def _add_order(draft: OrderDraft, number: str, processes: list[Process], actor: User | None) -> WorkOrder:
    order = WorkOrder(
        number=number,
        customer=draft.customer.strip(),
        product=draft.product.strip(),
        quantity=draft.quantity,
        due_date=draft.due_date,
        priority=draft.priority,
        status=OrderStatus.OPEN,
        created_by_id=actor.id if actor is not None else None,
    )
    order.tasks = [
        Task(process=process, department_id=process.department_id, sequence=sequence, planned_qty=draft.quantity)
        for sequence, process in enumerate(processes, start=1)
    ]
    db.session.add(order)
    db.session.flush()
    return order


def next_numbers(year: int, count: int, also_taken: Sequence[str] = ()) -> list[str]:
    """The next `count` numbers of `year` after the highest in use (or in `also_taken`); call under the lock.

    Raises RuleBroken when they would not fit the number column (WO-2026-99999999 is the last one).
    """
    prefix = f"WO-{year}-"
    # The highest as a number: as text, WO-2026-9999 would sort after WO-2026-10000.
    serial = func.max(cast(func.substr(WorkOrder.number, len(prefix) + 1), Integer))
    highest = db.session.scalar(select(serial).where(WorkOrder.number.like(f"{prefix}%"))) or 0
    last = max([highest, *(serial_of(number) for number in also_taken if number.startswith(prefix))])
    if last + count > MAX_SERIAL:
        raise RuleBroken(
            _(
                "The work order numbers of %(year)s are used up: the highest is %(highest)s, and a number holds at"
                " most %(length)s characters, so %(last)s is the last one; %(count)s more do not fit.",
                year=year,
                highest=format_number(year, last),
                length=NUMBER_LENGTH,
                last=format_number(year, MAX_SERIAL),
                count=format_decimal(count),
            )
        )
    return [format_number(year, n) for n in range(last + 1, last + count + 1)]


def serial_of(number: str) -> int:
    """42 for WO-2026-0042."""
    return int(number.rsplit("-", 1)[1])


def _lock_numbering() -> None:
    """Make this transaction the only one handing out numbers until it ends."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": NUMBERING_LOCK})
    else:
        # SQLite has no such lock, but a write that changes nothing takes the database's write lock now (waiting
        # out the busy timeout), so the highest number read next is the latest and nobody adds one until we end.
        db.session.execute(text("UPDATE work_orders SET id = id WHERE 1 = 0"))


def _number_taken(number: str) -> bool:
    return db.session.scalar(select(WorkOrder.id).where(WorkOrder.number == number)) is not None


def cancel_work_order(actor: User, order_id: int, version: int, reason: str | None = None) -> Cancelled:
    """Cancel an open work order: every step not done yet becomes cancelled, with one event each.

    `version` is the order's version as the user saw it (the sum of its tasks' versions). Raises
    SupervisorsOnly; OrderNotFound; RuleBroken when the order is done or cancelled already, or a step is in
    progress (its operator pauses it first); TaskConflict instead when that step was started after the version
    the user saw; InvalidField for a bad reason; Unavailable.
    """
    require_supervisor(actor, WHAT["cancel"])
    reason = (reason or "").strip()
    check_text("reason", reason, MAX_REASON, required=False)
    with _transaction():
        tasks, order = _lock_order(order_id)
        if order.status != OrderStatus.OPEN:
            raise RuleBroken(_already(order))
        _refuse_if_running(tasks, stale=version != sum(task.version for task in tasks))
        unfinished = [task for task in tasks if task.status in NOT_DONE]
        # Kept as written here, a record; the history shows it in the viewer's language (tasks.labels.event_note).
        note = f"Work order cancelled: {reason}" if reason else "Work order cancelled"
        for task in unfinished:
            _cancel_task(task, actor, note)
        order.status = OrderStatus.CANCELLED
        db.session.flush()
        notify_cancelled(actor.id, unfinished)
        message = ngettext(
            "You cancelled %(number)s (%(num)d step).",
            "You cancelled %(number)s (%(num)d steps).",
            len(unfinished),
            number=order.number,
        )
        return Cancelled(order.number, len(unfinished), message)


def _lock_order(order_id: int) -> tuple[list[Task], WorkOrder]:
    """Lock the order's tasks in id order, then the order itself. Raises OrderNotFound."""
    tasks = list(
        db.session.scalars(
            select(Task)
            .where(Task.work_order_id == order_id)
            .order_by(Task.id)
            .with_for_update(of=Task)
            .execution_options(populate_existing=True)
        )
    )
    order = db.session.scalar(
        select(WorkOrder).where(WorkOrder.id == order_id).with_for_update().execution_options(populate_existing=True)
    )
    if order is None:
        raise OrderNotFound(order_id)
    return tasks, order


def _refuse_if_running(tasks: list[Task], stale: bool) -> None:
    running = next((task for task in tasks if task.status == TaskStatus.IN_PROGRESS), None)
    if running is None:
        return
    holder = running.assignee
    step = _(
        "Step %(sequence)s, %(process)s, is in progress with %(name)s (%(username)s)",
        sequence=running.sequence,
        process=running.process.name,
        name=holder.display_name,
        username=holder.username,
    )
    if stale:
        detail = _("The work order changed since you saw it: %(step)s.", step=step)
        raise TaskConflict(detail, task_id=running.id, current_owner=holder.username)
    detail = _("%(step)s. Ask them to pause it, then cancel the work order.", step=step)
    raise RuleBroken(detail, task_id=running.id, current_owner=holder.username)


def _cancel_task(task: Task, actor: User, note: str) -> None:
    """Cancel one locked task and write its event; the flush bumps its version (or finds it stale on SQLite)."""
    db.session.add(
        TaskEvent(
            task=task,
            actor_id=actor.id,
            action="cancel",
            from_assignee_id=task.assignee_id,
            to_assignee_id=task.assignee_id,
            from_status=task.status,
            to_status=TaskStatus.CANCELLED,
            version=task.version + 1,
            note=note,
        )
    )
    task.status = TaskStatus.CANCELLED
    task.updated_at = datetime.now(UTC)


def import_csv(actor: User | None, data: bytes) -> Imported:
    """Add every work order of a CSV file in one transaction, or none when any row is bad.

    `actor` is None for the command line. Raises SupervisorsOnly, ImportRejected (every bad line with its
    reason, the header being line 1), RuleBroken (the year's numbers are used up), Unavailable.
    """
    if actor is not None:
        require_supervisor(actor, WHAT["import"])
    processes = {process.code: process for process in db.session.scalars(select(Process))}
    rows = importer.read_rows(data, processes.keys())
    with _transaction():
        _lock_numbering()
        _check_numbers_free(rows)
        blank = [row for row in rows if row.draft.number is None]
        taken = [row.draft.number for row in rows if row.draft.number]
        for row, number in zip(blank, next_numbers(date.today().year, len(blank), taken), strict=True):
            row.draft.number = number
        tasks = _insert_orders([row.draft for row in rows], processes, actor)
    message = ngettext(
        "Imported %(count)s work order with %(steps)s steps.",
        "Imported %(count)s work orders with %(steps)s steps.",
        len(rows),
        count=format_decimal(len(rows)),
        steps=format_decimal(tasks),
    )
    return Imported(len(rows), tasks, message)


def _check_numbers_free(rows: list[importer.ImportRow]) -> None:
    """Raise ImportRejected naming each line whose number is in use already; call under the numbering lock."""
    lines = {row.draft.number: row.line for row in rows if row.draft.number}
    taken = _numbers_of_years(lines).keys() & lines.keys()
    if taken:
        exists = [(lines[number], _("number %(number)s exists already.", number=number)) for number in taken]
        raise ImportRejected(sorted(exists))


def _insert_orders(drafts: list[OrderDraft], processes: dict[str, Process], actor: User | None) -> int:
    """Insert the orders, then their tasks, each in one go; returns how many tasks."""
    created_by = actor.id if actor is not None else None
    order_rows = [
        {
            "number": draft.number,
            "customer": draft.customer.strip(),
            "product": draft.product.strip(),
            "quantity": draft.quantity,
            "due_date": draft.due_date,
            "priority": draft.priority,
            "status": OrderStatus.OPEN,
            "created_by_id": created_by,
        }
        for draft in drafts
    ]
    _insert_many(WorkOrder, order_rows)
    ids = _numbers_of_years([draft.number for draft in drafts])
    task_rows = [
        {
            "work_order_id": ids[draft.number],
            "process_id": processes[code].id,
            "department_id": processes[code].department_id,
            "sequence": sequence,
            "planned_qty": draft.quantity,
            "good_qty": 0,
            "scrap_qty": 0,
            "status": TaskStatus.OPEN,
            "version": 1,
        }
        for draft in drafts
        for sequence, code in enumerate(draft.route, start=1)
    ]
    _insert_many(Task, task_rows)
    return len(task_rows)


def _numbers_of_years(numbers) -> dict[str, int]:
    """Every work order (number → id) of the years these numbers belong to: one query, however many numbers."""
    prefixes = {number[:8] for number in numbers}  # "WO-2026-"
    if not prefixes:
        return {}
    of_years = or_(*(WorkOrder.number.like(f"{prefix}%") for prefix in prefixes))
    return dict(db.session.execute(select(WorkOrder.number, WorkOrder.id).where(of_years)).tuples().all())


def _insert_many(model: type[db.Model], rows: list[dict]) -> None:
    """Insert many rows at once: PostgreSQL's COPY (several times faster than INSERTs), else one executemany."""
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(insert(model), rows)
        return
    columns = list(rows[0])
    cursor = db.session.connection().connection.cursor()
    with cursor.copy(f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


@contextmanager
def _transaction() -> Iterator[None]:
    """One transaction (see `workorders.transactions.transaction`); a step that changed under us is a 409."""
    try:
        with transaction("work orders"):
            yield
    except StaleDataError:
        # Only reachable without row locks (SQLite): a step changed between our read and our write.
        raise TaskConflict(_("A step of this work order changed at the same moment; nothing was changed.")) from None
