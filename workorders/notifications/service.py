"""Writing notifications in the transaction of the change that causes them, showing a person their list (which
marks it read), and pruning old ones.

The writers run inside the caller's open transaction and never commit: a notification is written if and only if
its change is, on every app server alike, and a change that rolls back (refused, conflicted, failed) leaves none.
Nobody is told of their own action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import and_, bindparam, delete, func, insert, select, update

from workorders.extensions import db
from workorders.notifications.models import NotificationKind
from workorders.notifications.queries import LIST_LIMIT, Item, kept_since, list_items, notifications
from workorders.transactions import transaction

if TYPE_CHECKING:
    from workorders.tasks.snapshots import TaskSnapshot
    from workorders.users.models import User


class HeldTask(Protocol):
    """What a cancellation notice needs of a task: an ORM Task or a TaskSnapshot alike."""

    @property
    def id(self) -> int: ...

    @property
    def assignee_id(self) -> int | None: ...


def notify_holder_changes(actor_id: int, changes: Iterable[tuple[TaskSnapshot, TaskSnapshot]]) -> None:
    """For each (before, after) of a task in this transaction: 'assigned' to the new holder, 'unassigned' to
    the old one (when the holder changed), never to the actor; all rows in ONE INSERT; nothing when none."""
    rows = []
    for before, after in changes:
        old, new = before.assignee_id, after.assignee_id
        if old == new:
            continue
        rows += [_row(old, NotificationKind.UNASSIGNED, after.id, actor_id)] if old not in (None, actor_id) else []
        rows += [_row(new, NotificationKind.ASSIGNED, after.id, actor_id)] if new not in (None, actor_id) else []
    _insert(rows)


def notify_cancelled(actor_id: int, tasks: Iterable[HeldTask]) -> None:
    """'cancelled' to the holder of each of these tasks (just cancelled with their work order), unless that is the
    actor; one INSERT, nothing when nobody is to be told."""
    _insert(
        [
            _row(task.assignee_id, NotificationKind.CANCELLED, task.id, actor_id)
            for task in tasks
            if task.assignee_id not in (None, actor_id)
        ]
    )


def _row(user_id: int, kind: NotificationKind, task_id: int, actor_id: int) -> dict:
    return {"user_id": user_id, "kind": str(kind), "task_id": task_id, "actor_id": actor_id}


def _insert(rows: list[dict]) -> None:
    if not rows:
        return
    # One clock for the transaction's rows, from Python as the tasks' timestamps are (on SQLite the stored text
    # then compares with the age limit the queries bind).
    now = datetime.now(UTC)
    db.session.connection().execute(insert(notifications).values([row | {"created_at": now} for row in rows]))


@dataclass(frozen=True)
class Shown:
    """A person's notifications as their list showed them (`read` as it was before), and what is unread now."""

    items: list[Item]
    unread: int
    more: bool  # older ones exist beyond the list's limit


_UNREAD_COUNT = (
    select(func.count())
    .select_from(notifications)
    .where(
        notifications.c.user_id == bindparam("user_id"),
        notifications.c.read_at.is_(None),
        notifications.c.created_at >= bindparam("kept_since", type_=notifications.c.created_at.type),
    )
)


def show_notifications(viewer: User, limit: int = LIST_LIMIT) -> Shown:
    """The viewer's notifications, newest first, marked read in the transaction that reads them; their old ones
    (older than NOTIFICATION_KEEP_DAYS) are deleted first. Raises Unavailable."""
    since = kept_since()
    with transaction("notifications"):
        connection = db.session.connection()
        connection.execute(delete(notifications).where(_older_than(since), notifications.c.user_id == viewer.id))
        items = list_items(viewer.id, limit + 1)
        shown = items[:limit]
        unread_ids = [item.id for item in shown if not item.read]
        if unread_ids:
            mark = and_(notifications.c.user_id == viewer.id, notifications.c.id.in_(unread_ids))
            connection.execute(update(notifications).where(mark).values(read_at=datetime.now(UTC)))
        unread = connection.execute(_UNREAD_COUNT, {"user_id": viewer.id, "kept_since": since}).scalar_one()
    return Shown(shown, unread, len(items) > limit)


def read_notifications(viewer: User, mark_read: bool) -> Shown:
    """The viewer's notifications for the API: as `show_notifications` when `mark_read`, else only read (the list and
    the unread count, nothing changed)."""
    if mark_read:
        return show_notifications(viewer)
    items = list_items(viewer.id, LIST_LIMIT + 1)
    unread = db.session.execute(_UNREAD_COUNT, {"user_id": viewer.id, "kept_since": kept_since()}).scalar_one()
    return Shown(items[:LIST_LIMIT], unread, len(items) > LIST_LIMIT)


def prune() -> int:
    """Delete every notification older than NOTIFICATION_KEEP_DAYS (none when it is 0); how many. For cron."""
    since = kept_since()
    with transaction("notifications prune"):
        return db.session.connection().execute(delete(notifications).where(_older_than(since))).rowcount


def _older_than(since: datetime):
    return notifications.c.created_at < since
