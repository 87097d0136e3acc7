"""Reading the board: filters, ordering, paging, counts, the live poll's version, and what each viewer may do.

What a page costs follows what it shows, not how many tasks the shop has finished over the years: unfinished tasks
are read through a partial index that holds them alone (a few hundred), finished ones newest first through another,
and nothing counts the whole history. A board page costs the same few queries whether it shows 5 rows or 50.

**The live poll** (`board_version`, `my_tasks_version`) answers from one aggregate over the unfinished tasks of the
departments a page shows: their count, the sum of their versions and their highest id. It changes with every
change to those tasks, and with nothing else (the argument is in docs/performance.md, "The board at scale"):

- a change to an unfinished task bumps its version, so the sum rises, unless the task left the set with it (done
  or cancelled: both final), and then the count falls, unless a task joined;
- a task joins only by being created (open, in its department for good), and tasks are created only under the
  numbering lock (workorders/orders/service.py), so a new task's id is higher than any id a reader saw before:
  the highest id rises.

The same statement also reads the viewer's unread notifications (their count and newest id, two scalar subqueries
over a partial index), so a notification makes the next poll answer, and an unchanged poll is still one query.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, and_, bindparam, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import contains_eager, joinedload

from workorders.departments.models import Department, Process
from workorders.errors import BadInput
from workorders.extensions import db
from workorders.forms import whole_number
from workorders.notifications.queries import Unread, kept_since, unread_columns, unread_of, with_unread
from workorders.orders.models import PRIORITY_RANK, WorkOrder, number_order
from workorders.tasks.models import CLAIMABLE, NOT_DONE, Task, TaskEvent, TaskStatus
from workorders.tasks.snapshots import Member, StepPart, TaskSnapshot
from workorders.users.models import User, user_departments

STATUS_FILTERS = ("active", "all", *TaskStatus)
FINISHED = (TaskStatus.DONE, TaskStatus.CANCELLED)
# The board counts finished tasks over the last week only: that costs the same in a shop's first month and its tenth
# year, and says what a supervisor wants to know (how much got done lately).
RECENT_DAYS = 7
# How deep a list reaches into finished tasks (counted and paged, newest first); older ones are found by search.
FINISHED_REACH = 2_000
# What an operator does next with a row, most pressing first; the My tasks view makes it the biggest button.
NEXT_ACTIONS = ("complete", "start", "claim")
# My tasks lists one's own work in the order it wants attention: what runs, what waits, what has not begun.
HELD_ORDER = {TaskStatus.IN_PROGRESS: 0, TaskStatus.PAUSED: 1, TaskStatus.OPEN: 2}
MAX_PAGE = 100_000
MAX_QUERY_LENGTH = 100


def in_statuses(column, statuses) -> object:
    """`column IN ('open', 'paused')`, the statuses written as literals: the partial indexes' predicates are
    (tasks.models.NOT_DONE_SQL), and only literals let PostgreSQL's generic plans and SQLite see that they apply."""
    return column.in_([literal_column(f"'{TaskStatus(status)}'") for status in statuses])


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
            raise BadInput(_("%(field)s must be one of %(values)s.", field="status", values=", ".join(STATUS_FILTERS)))
        department = (args.get("department") or "").strip().upper() or None
        if department == "ALL":
            department = "all"
        assignee = (args.get("assignee") or "").strip().lower() or None
        q = (args.get("q") or "").strip()
        if len(q) > MAX_QUERY_LENGTH:
            raise BadInput(_("%(field)s may be at most %(most)s characters.", field="q", most=MAX_QUERY_LENGTH))
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
    # Unfinished tasks per status, and finished ones (done, cancelled) of the last RECENT_DAYS days.
    counts: dict[str, int]
    # How many tasks the filters reach: every unfinished one, and up to FINISHED_REACH finished ones.
    total: int
    departments: list[Department]
    version: str
    more_finished: bool = False  # more finished tasks match than the list reaches

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.filters.per_page))

    @property
    def recent_days(self) -> int:
        return RECENT_DAYS

    @property
    def can_assign(self) -> bool:
        """Whether the viewer may assign some row of this page (then the board offers the bulk assign)."""
        return any("assign" in row.actions for row in self.rows)

    @property
    def assign_choices(self) -> list[Member]:
        """Everyone the viewer may give some row of this page to: the bulk assign's select."""
        return unique_members(row.assignee_choices for row in self.rows if "assign" in row.actions)


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
        raise BadInput(
            _("%(field)s must be a whole number from 1 to %(most)s.", field=name, most=format_decimal(maximum))
        )
    return number


def board_version(viewer: User, filters: BoardFilters) -> str:
    """What the live poll compares: a token that changes whenever an unfinished task of the departments this board
    shows changes, joins or leaves (see the module's docstring), or the viewer's unread notifications do, and on
    nothing else. One index-only query."""
    params = {"viewer_id": viewer.id, "kept_since": kept_since()}
    if filters.department == "all" or (filters.department is None and viewer.is_admin):
        *totals, unread, newest = db.session.execute(_VERSION_OF_ALL, params).one()
    elif filters.department:
        *totals, unread, newest = db.session.execute(_VERSION_OF_CODE, params | {"code": filters.department}).one()
    else:
        params["department_ids"] = sorted(viewer.department_ids())
        *totals, unread, newest = db.session.execute(_VERSION_OF_IDS, params).one()
    return _version(totals, viewer, filters, Unread(unread, newest))


# The live poll's statements, built once on the plain table: the poll is the request every open board makes every
# few seconds, and building a statement anew (and the ORM's handling of it) would cost it more than running it.
# Each also reads the viewer's unread notifications (count, newest id), in the same round trip.
_tasks = Task.__table__
_TOTALS = (func.count(), func.coalesce(func.sum(_tasks.c.version), 0), func.coalesce(func.max(_tasks.c.id), 0))
_UNREAD = unread_columns("viewer_id")
_UNFINISHED = in_statuses(_tasks.c.status, NOT_DONE)
_VERSION_OF_ALL = select(*_TOTALS, *_UNREAD).where(_UNFINISHED)
_VERSION_OF_IDS = _VERSION_OF_ALL.where(_tasks.c.department_id.in_(bindparam("department_ids", expanding=True)))
_VERSION_OF_CODE = _VERSION_OF_ALL.where(
    _tasks.c.department_id == select(Department.id).where(Department.code == bindparam("code")).scalar_subquery()
)
_FREE = and_(_tasks.c.assignee_id.is_(None), in_statuses(_tasks.c.status, CLAIMABLE))
_MINE_OF_ALL = select(func.count().filter(_FREE), *_TOTALS, *_UNREAD).where(_UNFINISHED)
_MINE_OF_IDS = (
    select(
        func.count().filter(_FREE, _tasks.c.department_id.in_(bindparam("department_ids", expanding=True))),
        *_TOTALS,
        *_UNREAD,
    )
    .where(_UNFINISHED)
    .where(
        or_(
            _tasks.c.assignee_id == bindparam("viewer_id"),
            _tasks.c.department_id.in_(bindparam("department_ids", expanding=True)),
        )
    )
)


def _version(totals, viewer: User, filters: BoardFilters | None, unread: Unread) -> str:
    """The token: count, sum of versions, highest id; for a board of "my departments", which those are now; then the
    viewer's unread notifications (workorders/notifications/queries.py, `Unread.token`)."""
    token = ".".join(str(int(total)) for total in totals)
    if filters is None or (filters.department is None and not viewer.is_admin):
        token += "-" + ".".join(map(str, sorted(viewer.department_ids())))
    return with_unread(token, unread)


def load_board(viewer: User, filters: BoardFilters) -> Board:
    """The board page for `viewer`: rows in board order, counts per status, and the departments to pick from.

    Unfinished tasks come first in board order, then (for a status filter that takes them in) finished ones,
    newest first. Raises BadInput for an unknown department or a page past what the list reaches.
    """
    departments = list(db.session.scalars(select(Department).order_by(Department.code)))
    if filters.department not in (None, "all") and filters.department not in {d.code for d in departments}:
        raise BadInput(_("There is no department %(code)r.", code=filters.department))
    # The version first: a change landing between it and the rows makes the next poll refresh, never miss it.
    counts, totals = _status_counts(viewer, filters, recent=True)
    # A person or a search narrows what is counted, not what the version covers (the departments): then it is a
    # query of its own.
    narrowed = filters.assignee or filters.q
    # The viewer's unread notifications as loaded with them (at the start of the request: a notification landing
    # since then makes the next poll announce it, never miss it).
    version = board_version(viewer, filters) if narrowed else _version(totals, viewer, filters, unread_of(viewer))
    page = _page_of_tasks(viewer, filters, counts)
    return Board(_rows(viewer, page.tasks), filters, counts, page.total, departments, version, page.more_finished)


def list_tasks(viewer: User, filters: BoardFilters) -> tuple[list[TaskSnapshot], int]:
    """One page of the tasks the board would show `viewer`, in board order, and how many the filters reach."""
    page = _page_of_tasks(viewer, filters, _status_counts(viewer, filters, recent=False)[0])
    return [TaskSnapshot.of(task) for task in page.tasks], page.total


@dataclass
class _Page:
    tasks: list[Task]
    total: int
    more_finished: bool


def _status_counts(viewer: User, filters: BoardFilters, recent: bool) -> tuple[dict[str, int], tuple[int, ...]]:
    """Tasks per status under the board's department, assignee and search filters: every unfinished one and, if
    `recent`, the finished ones of the last RECENT_DAYS days. Also the version's totals over those unfinished
    tasks (count, sum of versions, highest id). One query."""
    columns = (Task.status, func.count(), func.sum(Task.version), func.max(Task.id))
    unfinished = _narrowed(select(*columns), viewer, filters).where(in_statuses(Task.status, NOT_DONE))
    stmt = _searched_each(unfinished, Task.work_order_id, filters.q).group_by(Task.status)
    if recent:
        stmt = union_all(stmt, _finished_lately(viewer, filters))
    rows = db.session.execute(stmt).all()
    unfinished_rows = [row for row in rows if row[0] in NOT_DONE]
    totals = (
        sum(row[1] for row in unfinished_rows),
        sum(row[2] for row in unfinished_rows),
        max([0, *(row[3] for row in unfinished_rows)]),
    )
    return {status: 0 for status in TaskStatus} | {row[0]: row[1] for row in rows}, totals


def _finished_lately(viewer: User, filters: BoardFilters) -> Select:
    """Finished tasks of the last RECENT_DAYS days per status (a range at the top of ix_tasks_finished)."""
    since = datetime.now(UTC) - timedelta(days=RECENT_DAYS)
    columns = (Task.status, Task.work_order_id) if filters.q else (Task.status,)
    week = _narrowed(select(*columns), viewer, filters).where(
        in_statuses(Task.status, FINISHED), Task.updated_at >= since
    )
    # The week's tasks first, then the search on each of them: left to itself, PostgreSQL would rather fetch every
    # work order the search matches over the years (MATERIALIZED keeps the two steps apart).
    week = week.cte("finished_lately").prefix_with("MATERIALIZED", dialect="postgresql")
    lately = select(week.c.status, func.count(), literal(0), literal(0))
    if filters.q:
        lately = _searched_each(lately, week.c.work_order_id, filters.q)
    return lately.group_by(week.c.status)


def _searched_each(stmt: Select, work_order_id, q: str) -> Select:
    """`stmt` kept to tasks whose work order matches `q`, checked task by task (a subquery per row, which
    PostgreSQL does not turn into a join): for statements that read few tasks."""
    if not q:
        return stmt
    order = select(WorkOrder.id).where(WorkOrder.id == work_order_id, search_orders(q))
    return stmt.where(order.scalar_subquery().is_not(None))


def _page_of_tasks(viewer: User, filters: BoardFilters, counts: dict[str, int]) -> _Page:
    """The page's tasks: unfinished ones in board order first, then finished ones newest first."""
    statuses = _statuses(filters.status)
    unfinished = [status for status in statuses if status in NOT_DONE]
    finished = [status for status in statuses if status in FINISHED]
    unfinished_total = sum(counts[status] for status in unfinished)
    finished_total, more_finished = _count_finished(viewer, filters, finished) if finished else (0, False)
    total = unfinished_total + finished_total
    offset, size = (filters.page - 1) * filters.per_page, filters.per_page
    if more_finished and offset >= total:
        raise BadInput(
            _(
                "The list reaches %(reach)s finished tasks, newest first: narrow it by department, person or search"
                " (a work order number, product or customer) to find older ones.",
                reach=format_decimal(FINISHED_REACH),
            )
        )
    tasks = []
    if unfinished and offset < unfinished_total:
        order = _board_order()
        tasks = _load(_rows_query(viewer, filters, unfinished).order_by(*order).limit(size).offset(offset))
    if finished and len(tasks) < size:
        newest = (Task.updated_at.desc(), Task.id.desc())
        query = _rows_query(viewer, filters, finished).order_by(*newest)
        tasks += _load(query.limit(size - len(tasks)).offset(max(0, offset - unfinished_total)))
    return _Page(tasks, total, more_finished)


def _count_finished(viewer: User, filters: BoardFilters, statuses: list[str]) -> tuple[int, bool]:
    """How many finished tasks match, counted up to FINISHED_REACH; and whether there are more."""
    matching = _matching(select(Task.id), viewer, filters).where(in_statuses(Task.status, statuses))
    found = db.session.scalar(select(func.count()).select_from(matching.limit(FINISHED_REACH + 1).subquery()))
    return min(found, FINISHED_REACH), found > FINISHED_REACH


def _rows_query(viewer: User, filters: BoardFilters, statuses: list[str]) -> Select:
    stmt = _with_row_data(select(Task).join(Task.work_order))
    return _matching(stmt, viewer, filters, joined=True).where(in_statuses(Task.status, statuses))


def _load(stmt: Select) -> list[Task]:
    return list(db.session.scalars(stmt).unique())


def my_tasks_version(viewer: User) -> str:
    """Like `board_version`, for the My tasks view: over the unfinished tasks of the viewer's departments and the
    ones they hold (a task of another department they still hold, having left it). One query."""
    return _mine_tally(viewer)[1]


def load_my_tasks(viewer: User, limit: int) -> MyTasks:
    """The viewer's unfinished tasks (in progress, paused, open), then the free tasks of their departments."""
    # The version first: a change landing between it and the rows makes the next poll refresh, never miss it.
    free_total, version = _mine_tally(viewer)
    held_rank = case({str(status): rank for status, rank in HELD_ORDER.items()}, value=Task.status, else_=9)
    rows = _with_row_data(select(Task).join(Task.work_order))
    held = rows.where(Task.assignee_id == viewer.id, in_statuses(Task.status, NOT_DONE))
    free = rows.where(_free_in_departments(viewer))
    held_tasks = _load(held.order_by(held_rank, *_board_order()).limit(limit))
    free_tasks = _load(free.order_by(*_board_order()).limit(limit))
    rows = _rows(viewer, held_tasks + free_tasks)
    return MyTasks(rows[: len(held_tasks)], rows[len(held_tasks) :], free_total, version)


def _mine_tally(viewer: User) -> tuple[int, str]:
    """How many free tasks My tasks would list, and its version (as `board_version`). One query."""
    params = {"viewer_id": viewer.id, "kept_since": kept_since()}
    if viewer.is_admin:
        free_total, *totals, unread, newest = db.session.execute(_MINE_OF_ALL, params).one()
    else:
        params["department_ids"] = sorted(viewer.department_ids())
        free_total, *totals, unread, newest = db.session.execute(_MINE_OF_IDS, params).one()
    return free_total, _version(totals, viewer, None, Unread(unread, newest))


def _free_in_departments(viewer: User):
    """Tasks the viewer could claim: open or paused, held by nobody, of their departments (an admin's: any)."""
    free = and_(Task.assignee_id.is_(None), in_statuses(Task.status, CLAIMABLE))
    departments = _department_filter(viewer, BoardFilters())
    return free if departments is None else and_(free, departments)


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


def _matching(stmt: Select, viewer: User, filters: BoardFilters, joined: bool = False) -> Select:
    """`stmt` (which selects from tasks) narrowed by the board's department, assignee and search filters; the
    search joins the work orders (unless `stmt` has: `joined`), so that PostgreSQL may start from the trigram
    index."""
    stmt = _narrowed(stmt, viewer, filters)
    if not filters.q:
        return stmt
    if not joined:
        stmt = stmt.join(WorkOrder, WorkOrder.id == Task.work_order_id)
    return stmt.where(search_orders(filters.q))


def _narrowed(stmt: Select, viewer: User, filters: BoardFilters) -> Select:
    """`stmt` (which selects from tasks) narrowed by the board's department and assignee filters."""
    departments = _department_filter(viewer, filters)
    if departments is not None:
        stmt = stmt.where(departments)
    if filters.assignee == "me":
        return stmt.where(Task.assignee_id == viewer.id)
    if filters.assignee == "none":
        return stmt.where(Task.assignee_id.is_(None))
    if filters.assignee:
        return stmt.where(
            Task.assignee_id == select(User.id).where(User.username == filters.assignee).scalar_subquery()
        )
    return stmt


def search_orders(q: str):
    """Work orders whose number, product or customer holds `q`, in any case; `%` and `_` are searched for."""
    pattern = f"%{_escape_like(q)}%"
    return or_(
        *(column.ilike(pattern, escape="\\") for column in (WorkOrder.number, WorkOrder.product, WorkOrder.customer))
    )


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
    return [rank, WorkOrder.due_date, *number_order(), Task.sequence]


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


def unique_members(groups: Iterable[Sequence[Member]]) -> list[Member]:
    """The members of these lists, each once, by name."""
    members = {member.id: member for group in groups for member in group}
    return sorted(members.values(), key=lambda member: (member.display_name, member.username))


def assignee_choices(department_ids: set[int]) -> dict[int, list[Member]]:
    """Active members of each of these departments, with how many unfinished tasks each holds: one query."""
    if not department_ids:
        return {}
    load = (
        select(Task.assignee_id, func.count().label("held"))
        .where(in_statuses(Task.status, NOT_DONE), Task.assignee_id.is_not(None))
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
