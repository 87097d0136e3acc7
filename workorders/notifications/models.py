"""A notification: one person told that someone else gave them a task, took one from them, or cancelled it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from workorders.extensions import db

UNREAD_SQL = "read_at IS NULL"


class NotificationKind(enum.StrEnum):
    ASSIGNED = "assigned"  # a task was given to you
    UNASSIGNED = "unassigned"  # a task you held was taken from you by someone else
    CANCELLED = "cancelled"  # the work order of a task you held was cancelled


class Notification(db.Model):
    """Who is told (`user_id`), what happened (`kind`) to which task, and who did it; read or not.

    No text is stored: it is rendered when shown, from the kind and what the task, its work order and the actor
    are called then (and in the viewer's language).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("kind IN ('assigned', 'unassigned', 'cancelled')", name="kind"),
        # The list: one person's notifications, newest first.
        Index("ix_notifications_user_id_id", "user_id", "id"),
        # The unread count and the newest unread id, which every page and every live poll read: one person's unread
        # notifications within the kept age, a short range of this index; on PostgreSQL read from the index alone
        # (id is included; SQLite keeps the rowid, which is id, in every index).
        Index(
            "ix_notifications_unread",
            "user_id",
            "created_at",
            postgresql_include=["id"],
            postgresql_where=text(UNREAD_SQL),
            sqlite_where=text(UNREAD_SQL),
        ),
    )

    # The app deletes no user or task (it deactivates users, cancels tasks); if someone does by hand, the
    # notifications about them go too rather than stand in the way. No index on task_id or actor_id: nothing reads
    # by them, and every index is a write on each notification.
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} task {self.task_id} to {self.user_id}>"
