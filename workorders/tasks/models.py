"""Tasks (one step of a work order's route) and their append-only audit trail."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.orders.models import WorkOrder
from workorders.users.models import User


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


NOT_DONE = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.PAUSED)
CLAIMABLE = (TaskStatus.OPEN, TaskStatus.PAUSED)
_STATUS_SQL = "', '".join(TaskStatus)
# The predicates of the two partial indexes. Queries name statuses as literals too (tasks.queries.in_statuses), so
# that PostgreSQL (in a generic plan too) and SQLite can tell that the index applies.
NOT_DONE_SQL = "status IN ('open', 'in_progress', 'paused')"
FINISHED_SQL = "status IN ('done', 'cancelled')"


class TaskRules:
    """What a task allows, read from its `status`, `assignee_id` and `department_id`; for Task and TaskSnapshot."""

    @property
    def label(self) -> str:
        """How people name the task: "WO-2026-0042 · Printing"."""
        return f"{self.work_order.number} · {self.process.name}"

    @property
    def owner_username(self) -> str | None:
        return self.assignee.username if self.assignee else None

    def is_held_by(self, user: User) -> bool:
        return self.assignee_id is not None and self.assignee_id == user.id

    def can_claim(self, user: User) -> bool:
        """Open or paused, nobody holds it, and the user works in its department."""
        return self.status in CLAIMABLE and self.assignee_id is None and user.belongs_to(self.department_id)

    def can_release(self, user: User) -> bool:
        held = self.assignee_id is not None and self.status in CLAIMABLE
        return held and (self.is_held_by(user) or user.supervises(self.department_id))

    def can_assign(self, user: User) -> bool:
        return self.status in NOT_DONE and user.supervises(self.department_id)

    def can_start(self, user: User) -> bool:
        """Only whether the holder may start it; the previous step is checked by the service."""
        return self.status in CLAIMABLE and self.is_held_by(user)

    def can_pause(self, user: User) -> bool:
        return self.status == TaskStatus.IN_PROGRESS and self.is_held_by(user)

    def can_complete(self, user: User) -> bool:
        return self.status == TaskStatus.IN_PROGRESS and self.is_held_by(user)


class Task(TaskRules, db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"status IN ('{_STATUS_SQL}')", name="status"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        CheckConstraint("planned_qty >= 0", name="planned_qty_non_negative"),
        CheckConstraint("good_qty >= 0", name="good_qty_non_negative"),
        CheckConstraint("scrap_qty >= 0", name="scrap_qty_non_negative"),
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint(
            "status NOT IN ('in_progress', 'done') OR assignee_id IS NOT NULL", name="worked_task_has_assignee"
        ),
        Index("ix_tasks_department_status", "department_id", "status"),
        Index("ix_tasks_assignee_status", "assignee_id", "status"),
        Index("uq_tasks_work_order_sequence", "work_order_id", "sequence", unique=True),
        # What the board, My tasks, the workload and the live poll read: the unfinished tasks alone, a few hundred
        # however long the shop has run. On PostgreSQL the poll's count, sum(version) and max(id) come from this
        # index alone (an index-only scan).
        Index(
            "ix_tasks_not_done",
            "department_id",
            "status",
            "assignee_id",
            postgresql_include=["id", "version"],
            postgresql_where=text(NOT_DONE_SQL),
            sqlite_where=text(NOT_DONE_SQL),
        ),
        # The finished tasks newest first (lists of done and cancelled tasks), and the last week's of them (the
        # board's "last 7 days" counts): a range at the top of this index, the same size at any age of the shop.
        Index(
            "ix_tasks_finished",
            "updated_at",
            "id",
            postgresql_include=["department_id", "status"],
            postgresql_where=text(FINISHED_SQL),
            sqlite_where=text(FINISHED_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="RESTRICT"))
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="RESTRICT"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    sequence: Mapped[int]
    planned_qty: Mapped[int]
    good_qty: Mapped[int] = mapped_column(default=0)
    scrap_qty: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The ORM adds "AND version = :seen" to every UPDATE and bumps it: the guard that also holds on SQLite.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it once)

    work_order: Mapped[WorkOrder] = relationship(back_populates="tasks")
    process: Mapped[Process] = relationship()
    department: Mapped[Department] = relationship()
    assignee: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Task {self.id} v{self.version} {self.status} {self.assignee_id}>"


class TaskEvent(db.Model):
    """One change to a task: who did what, from which owner and status to which. Never updated or deleted."""

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(16))
    from_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    to_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    # The task's version after this change: tells what someone who saw an older version was looking at.
    version: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    task: Mapped[Task] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    from_assignee: Mapped[User | None] = relationship(foreign_keys=[from_assignee_id])
    to_assignee: Mapped[User | None] = relationship(foreign_keys=[to_assignee_id])
