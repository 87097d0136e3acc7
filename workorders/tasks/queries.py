"""Reading the board: filters, ordering, paging, counts, and what each viewer may do on each row.

A board page costs the same few queries whether it shows 5 rows or 50.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from workorders.departments.models import Department, Process
from workorders.errors import BadInput
from workorders.extensions import db
from workorders.forms import whole_number
from workorders.orders.models import PRIORITY_RANK, WorkOrder
from workorders.tasks.models import CLAIMABLE, NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.tasks.snapshots import Member, StepPart, TaskSnapshot
from workorders.users.models import User, user_departments

STATUS_FILTERS = ("active", "all", *TaskStatus)
# What an operator does next with a row, most pressing first; the My tasks view makes it the biggest button.
NEXT_ACTIONS = ("complete", "start", "claim")
# My tasks lists one's own work in the order it wants attention: what runs, what waits, what has not begun.
HELD_ORDER = {TaskStatus.IN_PROGRESS: 0, TaskStatus.PAUSED: 1, TaskStatus.OPEN: 2}
MAX_PAGE = 100_000
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows: `department` is a code, "all", or None for the viewer's own departments."""

    department: str | None = None
    status: str = "active"
    assignee: str | None = None
    q: str = ""
    page: int = 1
    per_page: int = 50

    @classmethod
    def parse(cls, args, per_page: int = 50, max_per_page: int | None = None) -> BoardFilters:
        """Read filters from a query string (and `per_page`, when a maximum is given). Raises BadInput."""
        if max_per_page is not None:
            per_page = _positive_int(args.get("per_page"), "per_page", per_page, max_per_page)
        status = args.get("status") or "active"
        if status not in STATUS_FILTERS:
            raise BadInput(f"status must be one of {', '.join(STATUS_FILTERS)}.")
        department = (args.get("department") or "").strip().upper() or None
        if department == "ALL":
            department = "all"
        assignee = (args.get("assignee") or "").strip().lower() or None
        q = (args.get("q") or "").strip()
        if len(q) > MAX_QUERY_LENGTH:
            raise BadInput(f"q may be at most {MAX_QUERY_LENGTH} characters.")
        return cls(department, status, assignee, q, _positive_int(args.get("page"), "page", 1, MAX_PAGE), per_page)

    def query_args(self, **changes) -> dict[str, str | int]:
        """The filters as query-string arguments, leaving defaults out."""
        filters = replace(self, **changes)
        args = {
            "department": filters.department,
            "status": filters.status if filters.status != "active" else None,
            "assignee": filters.assignee,
            "q": filters.q or None,
            "page": filters.page if filters.page > 1 else None,
        }
        return {key: value for key, value in args.items() if value is not None}


@dataclass
class Row:
    """One task as one viewer sees it."""

    task: TaskSnapshot
    actions: tuple[str, ...] = ()
    assignee_choices: Sequence[Member] = ()

    @property
    def waiting_for(self) -> StepPart | None:
        return self.task.waiting_for

    @property
    def next_action(self) -> str | None:
        """The step that moves the task on (complete, start or claim), if the viewer may take one."""
        return next((action for action in NEXT_ACTIONS if action in self.actions), None)


@dataclass
class Board:
    rows: list[Row]
    filters: BoardFilters
    counts: dict[str, int]
    total: int
    departments: list[Department]
    version: str

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.filters.per_page))


@dataclass
class MyTasks:
    """An operator's own unfinished tasks, then (up to a page of) the free tasks they could claim."""

    held: list[Row]
    free: list[Row]
    free_total: int
    version: str


def _positive_int(raw: str | None, name: str, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    number = whole_number(raw)
    if number is None or not 1 <= number <= maximum:
        raise BadInput(f"{name} must be a whole number from 1 to {maximum:,}.")
    return number


def board_version(viewer: User, filters: BoardFilters) -> str:
    """A token that changes whenever a task the board would count changes, joins or leaves: one query."""
    return _tally(_filtered(select(Task), viewer, filters))[1]


def load_board(viewer: User, filters: BoardFilters) -> Board:
    """The board page for `viewer`: rows in board order, counts per status, and the departments to pick from."""
    departments = list(db.session.scalars(select(Department).order_by(Department.code)))
    if filters.department not in (None, "all") and filters.department not in {d.code for d in departments}:
        raise BadInput(f"There is no department {filters.department!r}.")
    tasks, counts, version = _page_of_tasks(viewer, filters)
    total = sum(count for status, count in counts.items() if status in _statuses(filters.status))
    return Board(_rows(viewer, tasks), filters, counts, total, departments, version)


def list_tasks(viewer: User, filters: BoardFilters) -> tuple[list[TaskSnapshot], int]:
    """One page of the tasks the board would show `viewer`, in board order, and how many match in all."""
    tasks, counts, _ = _page_of_tasks(viewer, filters)
    total = sum(count for status, count in counts.items() if status in _statuses(filters.status))
    return [TaskSnapshot.of(task) for task in tasks], total


def _page_of_tasks(viewer: User, filters: BoardFilters) -> tuple[list[Task], dict[str, int], str]:
    base = _filtered(select(Task), viewer, filters)
    counts, version = _tally(base)
    if filters.status != "all":
        base = base.where(Task.status.in_(_statuses(filters.status)))
    offset = (filters.page - 1) * filters.per_page
    page = _with_row_data(base).order_by(*_board_order()).limit(filters.per_page).offset(offset)
    return list(db.session.scalars(page).unique()), counts, version


def _tally(base: Select) -> tuple[dict[str, int], str]:
    """Tasks per status, and a version of the whole set: a change bumps one task's version, and a task joining
    or leaving changes the count and the sum of ids."""
    columns = (Task.status, func.count(), func.sum(Task.id), func.sum(Task.version))
    rows = db.session.execute(base.with_only_columns(*columns).group_by(Task.status)).all()
    counts = {status: count for status, count, _, _ in rows}
    totals = [sum(int(row[i]) for row in rows) for i in (1, 2, 3)]
    return counts, ".".join(map(str, totals))


def my_tasks_version(viewer: User) -> str:
    """Like `board_version`, for the My tasks view: one query."""
    return _mine_tally(viewer)[1]


def load_my_tasks(viewer: User, limit: int) -> MyTasks:
    """The viewer's unfinished tasks (in progress, paused, open), then the free tasks of their departments."""
    # The version first: a change landing between it and the rows makes the next poll refresh, never miss it.
    free_total, version = _mine_tally(viewer)
    mine = _mine(select(Task), viewer)
    held_rank = case({str(status): rank for status, rank in HELD_ORDER.items()}, value=Task.status, else_=9)
    held = _with_row_data(mine.where(Task.assignee_id == viewer.id)).order_by(held_rank, *_board_order())
    free = _with_row_data(mine.where(Task.assignee_id.is_(None))).order_by(*_board_order())
    held_tasks = list(db.session.scalars(held.limit(limit)).unique())
    free_tasks = list(db.session.scalars(free.limit(limit)).unique())
    rows = _rows(viewer, held_tasks + free_tasks)
    return MyTasks(rows[: len(held_tasks)], rows[len(held_tasks) :], free_total, version)


def _mine_tally(viewer: User) -> tuple[int, str]:
    """How many free tasks My tasks would list, and a version of its whole set (as `_tally`)."""
    free = Task.assignee_id.is_(None)
    columns = (free, func.count(), func.sum(Task.id), func.sum(Task.version))
    rows = db.session.execute(_mine(select(Task), viewer).with_only_columns(*columns).group_by(free)).all()
    free_total = sum(count for is_free, count, _, _ in rows if is_free)
    totals = [sum(int(row[i]) for row in rows) for i in (1, 2, 3)]
    return free_total, ".".join(map(str, totals))


def _mine(stmt: Select, viewer: User) -> Select:
    """Tasks the viewer holds and has not finished (any department), or could claim in their own departments."""
    held = and_(Task.assignee_id == viewer.id, Task.status.in_(NOT_DONE))
    free = and_(Task.assignee_id.is_(None), Task.status.in_(CLAIMABLE))
    departments = _department_filter(viewer, BoardFilters())
    if departments is not None:
        free = and_(free, departments)
    return stmt.join(Task.work_order).where(or_(held, free))


def load_row(viewer: User, task_id: int) -> Row | None:
    """One task's row as `viewer` sees it, or None if there is no such task."""
    rows = load_rows(viewer, [task_id])
    return rows[0] if rows else None


def load_rows(viewer: User, task_ids: list[int]) -> list[Row]:
    """These tasks' rows as `viewer` sees them, in step order, at a fixed number of queries however many."""
    query = _with_row_data(select(Task).join(Task.work_order)).where(Task.id.in_(task_ids))
    query = query.order_by(Task.work_order_id, Task.sequence).execution_options(populate_existing=True)
    return _rows(viewer, list(db.session.scalars(query).unique()))


def task_history(task_id: int) -> list[TaskEvent]:
    """Every change to the task, newest first."""
    return list(
        db.session.scalars(
            select(TaskEvent)
            .where(TaskEvent.task_id == task_id)
            .options(
                joinedload(TaskEvent.actor), joinedload(TaskEvent.from_assignee), joinedload(TaskEvent.to_assignee)
            )
            .order_by(TaskEvent.version.desc(), TaskEvent.id.desc())
        )
    )


def _statuses(status_filter: str) -> tuple[str, ...]:
    if status_filter == "active":
        return tuple(NOT_DONE)
    if status_filter == "all":
        return tuple(TaskStatus)
    return (status_filter,)


def _department_filter(viewer: User, filters: BoardFilters):
    """The departments shown: one by code, all of them, or (the default) the viewer's own; None means no limit."""
    if filters.department == "all" or (filters.department is None and viewer.is_admin):
        return None
    if filters.department:
        return Task.department_id.in_(select(Department.id).where(Department.code == filters.department))
    return Task.department_id.in_(viewer.department_ids())


def _filtered(stmt: Select, viewer: User, filters: BoardFilters) -> Select:
    stmt = stmt.join(Task.work_order)
    departments = _department_filter(viewer, filters)
    if departments is not None:
        stmt = stmt.where(departments)
    if filters.assignee == "me":
        stmt = stmt.where(Task.assignee_id == viewer.id)
    elif filters.assignee == "none":
        stmt = stmt.where(Task.assignee_id.is_(None))
    elif filters.assignee:
        stmt = stmt.where(
            Task.assignee_id == select(User.id).where(User.username == filters.assignee).scalar_subquery()
        )
    if filters.q:
        pattern = f"%{_escape_like(filters.q)}%"
        stmt = stmt.where(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (WorkOrder.number, WorkOrder.product, WorkOrder.customer)
                )
            )
        )
    return stmt


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _with_row_data(stmt: Select) -> Select:
    """Eager-load what a row shows; `stmt` has joined the work order already."""
    return stmt.join(Task.process).options(
        contains_eager(Task.work_order),
        contains_eager(Task.process),
        joinedload(Task.department),
        joinedload(Task.assignee),
    )


def _board_order() -> list:
    rank = case({str(priority): value for priority, value in PRIORITY_RANK.items()}, value=WorkOrder.priority, else_=9)
    return [rank, WorkOrder.due_date, WorkOrder.number, Task.sequence]


def make_row(viewer: User, task: TaskSnapshot, choices: Sequence[Member] = ()) -> Row:
    """The row `viewer` sees for `task`; `choices` are whom they may assign it to. Reads nothing."""
    return Row(task, _actions(viewer, task), choices)


def _rows(viewer: User, tasks: list[Task]) -> list[Row]:
    blockers = _blocking_steps(tasks)
    supervised = {task.department_id for task in tasks if viewer.supervises(task.department_id)}
    choices = assignee_choices(supervised)
    return [
        make_row(viewer, TaskSnapshot.of(task, blockers.get(task.id)), choices.get(task.department_id, ()))
        for task in tasks
    ]


def _actions(viewer: User, task: TaskSnapshot) -> tuple[str, ...]:
    """The actions this viewer may take on the task right now, in the order the row shows them."""
    possible = {
        "start": task.can_start(viewer) and task.waiting_for is None,
        "pause": task.can_pause(viewer),
        "complete": task.can_complete(viewer),
        "claim": task.can_claim(viewer),
        "release": task.can_release(viewer),
        "assign": task.can_assign(viewer),
    }
    return tuple(action for action, allowed in possible.items() if allowed)


def _blocking_steps(tasks: list[Task]) -> dict[int, StepPart]:
    """For each not-done task, the previous non-parallel step of its work order when that is not done yet."""
    pending = [task for task in tasks if task.status in NOT_DONE]
    if not pending:
        return {}
    steps = db.session.scalars(
        select(Task)
        .join(Task.process)
        .options(contains_eager(Task.process))
        .where(Task.work_order_id.in_({task.work_order_id for task in pending}), Process.parallel.is_(False))
        .order_by(Task.work_order_id, Task.sequence)
    )
    by_order: dict[int, list[Task]] = {}
    for step in steps:
        by_order.setdefault(step.work_order_id, []).append(step)
    blockers = {}
    for task in pending:
        earlier = [step for step in by_order.get(task.work_order_id, []) if step.sequence < task.sequence]
        if earlier and earlier[-1].status != TaskStatus.DONE:
            blockers[task.id] = StepPart(earlier[-1].sequence, earlier[-1].process.name)
    return blockers


def assignee_choices(department_ids: set[int]) -> dict[int, list[Member]]:
    """Active members of each of these departments, with how many unfinished tasks each holds: one query."""
    if not department_ids:
        return {}
    load = (
        select(Task.assignee_id, func.count().label("held"))
        .where(Task.status.in_(NOT_DONE), Task.assignee_id.is_not(None))
        .group_by(Task.assignee_id)
        .subquery()
    )
    result = db.session.execute(
        select(
            user_departments.c.department_id,
            User.id,
            User.username,
            User.display_name,
            func.coalesce(load.c.held, 0),
        )
        .join(User, User.id == user_departments.c.user_id)
        .outerjoin(load, load.c.assignee_id == User.id)
        .where(user_departments.c.department_id.in_(department_ids), User.active.is_(True))
        .order_by(User.display_name)
    )
    choices: dict[int, list[Member]] = {}
    for department_id, user_id, username, display_name, held in result:
        choices.setdefault(department_id, []).append(Member(user_id, username, display_name, held))
    return choices
