"""Reading what the admin pages list: users with their load, departments with their size, processes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.tasks.models import NOT_DONE, Task
from workorders.tasks.queries import in_statuses
from workorders.users.models import User, user_departments


def users_with_load() -> list[tuple[User, int]]:
    """Every user (active ones first) with how many unfinished tasks each holds."""
    held = (
        select(Task.assignee_id, func.count().label("held"))
        .where(in_statuses(Task.status, NOT_DONE))
        .group_by(Task.assignee_id)
        .subquery()
    )
    rows = db.session.execute(
        select(User, func.coalesce(held.c.held, 0))
        .outerjoin(held, held.c.assignee_id == User.id)
        .options(selectinload(User.departments))
        .order_by(User.active.desc(), User.username)
    )
    return [(user, count) for user, count in rows]


def held_tasks(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Task).where(Task.assignee_id == user_id, in_statuses(Task.status, NOT_DONE))
    )


def departments_with_size() -> list[tuple[Department, int, int]]:
    """Every department with its number of members and of processes."""
    members = (
        select(user_departments.c.department_id, func.count().label("members"))
        .group_by(user_departments.c.department_id)
        .subquery()
    )
    processes = (
        select(Process.department_id, func.count().label("processes")).group_by(Process.department_id).subquery()
    )
    rows = db.session.execute(
        select(Department, func.coalesce(members.c.members, 0), func.coalesce(processes.c.processes, 0))
        .outerjoin(members, members.c.department_id == Department.id)
        .outerjoin(processes, processes.c.department_id == Department.id)
        .order_by(Department.code)
    )
    return [(department, member_count, process_count) for department, member_count, process_count in rows]


def processes() -> list[Process]:
    return list(db.session.scalars(select(Process).options(joinedload(Process.department)).order_by(Process.code)))


def departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.code)))
