"""A task as one transaction saw it: plain values that render after COMMIT, even with the database gone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from workorders.tasks.models import TaskRules

if TYPE_CHECKING:
    from workorders.tasks.models import Task
    from workorders.users.models import User


@dataclass(frozen=True, slots=True)
class OrderPart:
    id: int
    number: str
    customer: str
    product: str
    quantity: int
    priority: str
    due_date: date


@dataclass(frozen=True, slots=True)
class ProcessPart:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class DepartmentPart:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class StepPart:
    """Another step of the same work order, e.g. the one a task waits for."""

    sequence: int
    name: str


@dataclass(frozen=True, slots=True)
class Person:
    """Who holds (or is given) a task, as the board names them."""

    id: int
    username: str
    display_name: str
    active: bool = True

    @classmethod
    def of(cls, user: User) -> Person:
        return cls(user.id, user.username, user.display_name, user.active)


@dataclass(frozen=True, slots=True)
class Member:
    """An active member of a department a supervisor may assign to, with how many unfinished tasks they hold."""

    id: int
    username: str
    display_name: str
    held: int


@dataclass(frozen=True, slots=True)
class TaskSnapshot(TaskRules):
    """One task with everything its row, its JSON and its messages show.

    `waiting_for` names the previous non-parallel step of the work order while that step is not done.
    """

    id: int
    work_order_id: int
    department_id: int
    sequence: int
    status: str
    version: int
    planned_qty: int
    good_qty: int
    scrap_qty: int
    updated_at: datetime
    work_order: OrderPart
    process: ProcessPart
    department: DepartmentPart
    assignee: Person | None
    waiting_for: StepPart | None = None

    @property
    def assignee_id(self) -> int | None:
        return self.assignee.id if self.assignee else None

    @classmethod
    def of(cls, task: Task, waiting_for: StepPart | None = None) -> TaskSnapshot:
        """A snapshot of an ORM task whose work order, process, department and assignee are loaded."""
        order, process, department, assignee = task.work_order, task.process, task.department, task.assignee
        return cls(
            id=task.id,
            work_order_id=task.work_order_id,
            department_id=task.department_id,
            sequence=task.sequence,
            status=task.status,
            version=task.version,
            planned_qty=task.planned_qty,
            good_qty=task.good_qty,
            scrap_qty=task.scrap_qty,
            updated_at=task.updated_at,
            work_order=OrderPart(
                order.id, order.number, order.customer, order.product, order.quantity, order.priority, order.due_date
            ),
            process=ProcessPart(process.code, process.name),
            department=DepartmentPart(department.id, department.code, department.name),
            assignee=Person.of(assignee) if assignee is not None else None,
            waiting_for=waiting_for,
        )
