"""Reading work orders: the filtered list with progress, one order with its steps and history, the form's choices,
and the workload. Like the board, each reads what it shows: open orders and unfinished tasks through their indexes,
finished orders newest first and counted only so far (FINISHED_REACH), searches through the trigram index."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload

from workorders.departments.models import Department, Process
from workorders.errors import BadInput
from workorders.extensions import db
from workorders.forms import whole_number
from workorders.orders.models import PRIORITY_RANK, OrderStatus, Priority, WorkOrder, number_order
from workorders.tasks.models import NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.tasks.queries import FINISHED_REACH, Row, in_statuses, load_rows, search_orders
from workorders.users.models import User, user_departments

STATUS_FILTERS = (*OrderStatus, "all")
MAX_PAGE = 100_000
MAX_QUERY_LENGTH = 100
MAX_HISTORY = 500


@dataclass(frozen=True)
class OrderFilters:
    """What the list shows: a status (or "all"), a priority (or None for any), a search text, a page."""

    status: str = OrderStatus.OPEN
    priority: str | None = None
    q: str = ""
    page: int = 1
    per_page: int = 50

    @classmethod
    def parse(cls, args, per_page: int = 50) -> OrderFilters:
        """Read filters from a query string. Raises BadInput naming the field that is wrong."""
        status = args.get("status") or OrderStatus.OPEN
        if status not in STATUS_FILTERS:
            raise BadInput(_("%(field)s must be one of %(values)s.", field="status", values=", ".join(STATUS_FILTERS)))
        priority = args.get("priority") or None
        if priority is not None and priority not in set(Priority):
            raise BadInput(_("%(field)s must be one of %(values)s.", field="priority", values=", ".join(Priority)))
        q = (args.get("q") or "").strip()
        if len(q) > MAX_QUERY_LENGTH:
            raise BadInput(_("%(field)s may be at most %(most)s characters.", field="q", most=MAX_QUERY_LENGTH))
        page = whole_number(args.get("page") or "1")
        if page is None or not 1 <= page <= MAX_PAGE:
            raise BadInput(
                _("%(field)s must be a whole number from 1 to %(most)s.", field="page", most=format_decimal(MAX_PAGE))
            )
        return cls(status, priority, q, page, per_page)

    def query_args(self, **changes) -> dict[str, str | int]:
        """The filters as query-string arguments, leaving defaults out."""
        filters = replace(self, **changes)
        args = {
            "status": filters.status if filters.status != OrderStatus.OPEN else None,
            "priority": filters.priority,
            "q": filters.q or None,
            "page": filters.page if filters.page > 1 else None,
        }
        return {key: value for key, value in args.items() if value is not None}


@dataclass(frozen=True)
class Progress:
    """How far along its route an order is: steps done, cancelled and in all."""

    done: int = 0
    cancelled: int = 0
    total: int = 0

    @property
    def percent(self) -> int:
        return math.floor(100 * self.done / self.total) if self.total else 0


@dataclass
class OrderPage:
    items: list[tuple[WorkOrder, Progress]]
    filters: OrderFilters
    total: int  # every open order that matches, and up to FINISHED_REACH finished ones
    more_finished: bool = False  # more finished orders match than the list reaches

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.filters.per_page))


@dataclass
class OrderDetail:
    order: WorkOrder
    rows: list[Row]
    events: list[TaskEvent]
    progress: Progress
    # What the user sees, for the cancel form: the sum of the tasks' versions grows with every change to a step.
    version: int


def list_orders(filters: OrderFilters) -> OrderPage:
    """One page of work orders, each with its progress: open ones urgent first, then by due date and number; then
    (for the done, cancelled and "all" filters) finished ones, newest first. Raises BadInput for a page past what
    the list reaches."""
    statuses = list(OrderStatus) if filters.status == "all" else [filters.status]
    finished = [status for status in statuses if status != OrderStatus.OPEN]
    open_total = _count(_matching_orders(filters, [OrderStatus.OPEN])) if OrderStatus.OPEN in statuses else 0
    finished_total, more_finished = _count_finished(filters, finished) if finished else (0, False)
    total = open_total + finished_total
    offset, size = (filters.page - 1) * filters.per_page, filters.per_page
    if more_finished and offset >= total:
        raise BadInput(
            _(
                "The list reaches %(reach)s finished work orders, newest first: search by number, customer or"
                " product to find older ones.",
                reach=format_decimal(FINISHED_REACH),
            )
        )
    orders = []
    if offset < open_total:
        rank = case({str(priority): value for priority, value in PRIORITY_RANK.items()}, value=WorkOrder.priority)
        by_urgency = _matching_orders(filters, [OrderStatus.OPEN]).order_by(rank, WorkOrder.due_date, *number_order())
        orders = list(db.session.scalars(by_urgency.limit(size).offset(offset)))
    if finished and len(orders) < size:
        newest = _matching_orders(filters, finished).order_by(WorkOrder.id.desc())
        orders += db.session.scalars(newest.limit(size - len(orders)).offset(max(0, offset - open_total)))
    progress = _progress([order.id for order in orders])
    items = [(order, progress.get(order.id, Progress())) for order in orders]
    return OrderPage(items, filters, total, more_finished)


def _matching_orders(filters: OrderFilters, statuses: list[str]):
    stmt = select(WorkOrder).where(WorkOrder.status.in_(statuses))
    if filters.priority:
        stmt = stmt.where(WorkOrder.priority == filters.priority)
    return stmt.where(search_orders(filters.q)) if filters.q else stmt


def _count(stmt) -> int:
    return db.session.scalar(stmt.with_only_columns(func.count()))


def _count_finished(filters: OrderFilters, statuses: list[str]) -> tuple[int, bool]:
    """How many finished orders match, counted up to FINISHED_REACH; and whether there are more."""
    matching = _matching_orders(filters, statuses).with_only_columns(WorkOrder.id).limit(FINISHED_REACH + 1)
    found = db.session.scalar(select(func.count()).select_from(matching.subquery()))
    return min(found, FINISHED_REACH), found > FINISHED_REACH


def load_order(viewer: User, order_id: int) -> OrderDetail | None:
    """The order with each step as `viewer` sees it on the board, and the history of all its steps."""
    order = db.session.scalar(
        select(WorkOrder).where(WorkOrder.id == order_id).options(joinedload(WorkOrder.created_by))
    )
    if order is None:
        return None
    task_ids = db.session.scalars(select(Task.id).where(Task.work_order_id == order_id))
    rows = load_rows(viewer, list(task_ids))
    version = sum(row.task.version for row in rows)
    return OrderDetail(order, rows, order_history(order_id), _progress([order_id]).get(order_id, Progress()), version)


def order_history(order_id: int) -> list[TaskEvent]:
    """Every change to any step of the order, newest first."""
    return list(
        db.session.scalars(
            select(TaskEvent)
            .join(TaskEvent.task)
            .where(Task.work_order_id == order_id)
            .options(
                joinedload(TaskEvent.task).joinedload(Task.process),
                joinedload(TaskEvent.actor),
                joinedload(TaskEvent.from_assignee),
                joinedload(TaskEvent.to_assignee),
            )
            .order_by(TaskEvent.id.desc())
            .limit(MAX_HISTORY)
        )
    )


def route_choices() -> list[tuple[Department, list[Process]]]:
    """The processes a route can use, grouped by department."""
    processes = db.session.scalars(
        select(Process).join(Process.department).order_by(Department.name, Process.name)
    ).all()
    groups: dict[Department, list[Process]] = {}
    for process in processes:
        groups.setdefault(process.department, []).append(process)
    return list(groups.items())


def route_steps(codes: list[str]) -> list[tuple[str, Process | None]]:
    """Each code of a route with its process (None for a code that names none)."""
    found = {process.code: process for process in db.session.scalars(select(Process).where(Process.code.in_(codes)))}
    return [(code, found.get(code)) for code in codes]


@dataclass(frozen=True)
class Load:
    """Unfinished tasks of one person or department: open (open or paused) and in progress."""

    name: str
    open: int = 0
    in_progress: int = 0
    free: int = 0  # of the open ones, how many nobody holds (departments only)
    user: User | None = None
    department: Department | None = None

    @property
    def total(self) -> int:
        return self.open + self.in_progress


@dataclass
class Workload:
    people: list[Load]
    departments: list[Load]
    cap: int

    @property
    def people_scale(self) -> int:
        """The count a full bar stands for: the cap, or the biggest load when someone is over it."""
        return max([self.cap, 1, *(load.total for load in self.people)])

    @property
    def department_scale(self) -> int:
        return max([1, *(load.total for load in self.departments)])


def load_workload(viewer: User, cap: int) -> Workload:
    """Loads of the viewer's departments (an admin's: all) and of their people: members, and anyone holding
    one of their tasks (a deactivated operator too, so the supervisor sees what to reassign)."""
    departments = list(db.session.scalars(select(Department).order_by(Department.name)))
    if not viewer.is_admin:
        departments = [department for department in departments if department.id in viewer.department_ids()]
    department_ids = [department.id for department in departments]
    unfinished = in_statuses(Task.status, NOT_DONE)
    members = select(user_departments.c.user_id).where(user_departments.c.department_id.in_(department_ids))
    holders = select(Task.assignee_id).where(unfinished, Task.department_id.in_(department_ids))
    people = db.session.scalars(
        select(User)
        .where(or_(User.id.in_(holders), (User.id.in_(members)) & User.active.is_(True)))
        .order_by(User.display_name)
    ).all()
    held = db.session.execute(
        select(Task.assignee_id, Task.status, func.count())
        .where(unfinished, Task.assignee_id.in_([person.id for person in people]))
        .group_by(Task.assignee_id, Task.status)
    )
    by_person = _counts(held)
    per_department = db.session.execute(
        select(Task.department_id, Task.status, Task.assignee_id.is_(None), func.count())
        .where(unfinished, Task.department_id.in_(department_ids))
        .group_by(Task.department_id, Task.status, Task.assignee_id.is_(None))
    ).all()
    by_department = _counts((department_id, status, count) for department_id, status, _, count in per_department)
    free = {department_id: 0 for department_id in department_ids}
    for department_id, status, nobody, count in per_department:
        if nobody and status != TaskStatus.IN_PROGRESS:
            free[department_id] += count
    return Workload(
        [replace(by_person.get(person.id, Load("")), name=person.display_name, user=person) for person in people],
        [replace(by_department.get(d.id, Load("")), name=d.name, department=d, free=free[d.id]) for d in departments],
        cap,
    )


def _counts(rows) -> dict[int, Load]:
    """(key, status, count) rows summed into a Load per key."""
    loads: dict[int, Load] = {}
    for key, status, count in rows:
        load = loads.get(key, Load(""))
        if status == TaskStatus.IN_PROGRESS:
            loads[key] = replace(load, in_progress=load.in_progress + count)
        else:
            loads[key] = replace(load, open=load.open + count)
    return loads


def _progress(order_ids: list[int]) -> dict[int, Progress]:
    if not order_ids:
        return {}
    counts = db.session.execute(
        select(Task.work_order_id, Task.status, func.count())
        .where(Task.work_order_id.in_(order_ids))
        .group_by(Task.work_order_id, Task.status)
    )
    by_order: dict[int, dict[str, int]] = {}
    for order_id, status, count in counts:
        by_order.setdefault(order_id, {})[status] = count
    return {
        order_id: Progress(
            statuses.get(TaskStatus.DONE, 0), statuses.get(TaskStatus.CANCELLED, 0), sum(statuses.values())
        )
        for order_id, statuses in by_order.items()
    }
