"""Reading notifications: the unread count and newest unread id (folded into statements that run anyway), a
person's list with what each one is about, and the ones that arrived since a live page last looked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, func, select

from workorders.departments.models import Process
from workorders.extensions import db
from workorders.notifications.models import Notification
from workorders.notifications.texts import notification_text
from workorders.orders.models import WorkOrder
from workorders.tasks.models import Task
from workorders.users.models import User

notifications = Notification.__table__
_tasks, _orders, _processes = Task.__table__, WorkOrder.__table__, Process.__table__
_actors = User.__table__.alias("actor")
# What the list page and the API show at most, newest first: a shift's worth, and far more than anyone reads.
LIST_LIMIT = 100
# When NOTIFICATION_KEEP_DAYS is 0 (keep them all), the age limit is this: the statements keep their shape.
EVER = datetime(1970, 1, 1, tzinfo=UTC)


class Unread(NamedTuple):
    """How many unread notifications a person has, and the newest one's id (0: none)."""

    count: int
    newest: int

    @property
    def token(self) -> str:
        """The live poll's part of the page version: it changes when a notification arrives or is read."""
        return f"n{int(self.count)}.{int(self.newest)}"


def kept_since() -> datetime:
    """The oldest a notification may be and still count: NOTIFICATION_KEEP_DAYS ago (0: no limit)."""
    days = int(current_app.config["NOTIFICATION_KEEP_DAYS"])
    return datetime.now(UTC) - timedelta(days=days) if days else EVER


def unread_columns(user_id: str) -> tuple:
    """The unread count and the newest unread id of the user bound as `user_id`, as two scalar subqueries to add to
    a statement that runs anyway (the session user's, the live poll's); the age limit is bound as `kept_since`.
    Both are a short range of ix_notifications_unread."""
    unread = (
        notifications.c.user_id == bindparam(user_id),
        notifications.c.read_at.is_(None),
        notifications.c.created_at >= bindparam("kept_since", type_=notifications.c.created_at.type),
    )
    count = select(func.count()).select_from(notifications).where(*unread).scalar_subquery()
    newest = select(func.coalesce(func.max(notifications.c.id), 0)).where(*unread).scalar_subquery()
    return count.label("unread_count"), newest.label("newest_unread")


_UNREAD = select(*unread_columns("user_id"))


def loaded_unread(user: User) -> Unread | None:
    """The user's unread notifications as loaded with the session user (workorders/auth `load_user`), if they were."""
    return getattr(user, "unread_notifications", None)


def unread_of(user: User) -> Unread:
    """The user's unread notifications, as loaded with the session user, else read now."""
    loaded = loaded_unread(user)
    if loaded is not None:
        return loaded
    return Unread(*db.session.execute(_UNREAD, {"user_id": user.id, "kept_since": kept_since()}).one())


def unread_as_of(user: User, version: str) -> None:
    """Make the rest of the request count the user's unread notifications as a live page's `version` has them."""
    _, unread = split_version(version)
    if unread is not None:
        user.unread_notifications = unread


def unread_shown(user: User, count: int) -> None:
    """Make the page being rendered count `count` unread (the notifications page, having marked some read)."""
    user.unread_notifications = (loaded_unread(user) or Unread(count, 0))._replace(count=count)


def with_unread(version: str, unread: Unread) -> str:
    """A live page's version (its tasks' part) with the viewer's notifications' part appended."""
    return f"{version}_{unread.token}"


def split_version(version: str) -> tuple[str, Unread | None]:
    """A live page's version as its tasks' part and its notifications' part (None when it has none)."""
    tasks, _, part = version.rpartition("_n")
    count, _, newest = part.partition(".")
    if not (tasks and count.isdigit() and newest.isdigit() and len(part) < 40):
        return version, None
    return tasks, Unread(int(count), int(newest))


@dataclass(frozen=True)
class Item:
    """One notification as its list shows it; the text is rendered when asked for, in the viewer's language."""

    id: int
    kind: str
    task_id: int
    created_at: datetime
    read: bool
    actor: str
    order_number: str
    process_name: str

    @property
    def task_label(self) -> str:
        return f"{self.order_number} · {self.process_name}"

    @property
    def text(self) -> str:
        return notification_text(self.kind, self.actor, self.task_label, self.order_number)


_ITEMS = (
    select(
        notifications.c.id,
        notifications.c.kind,
        notifications.c.task_id,
        notifications.c.created_at,
        notifications.c.read_at,
        _actors.c.display_name,
        _orders.c.number,
        _processes.c.name,
    )
    .join(_tasks, _tasks.c.id == notifications.c.task_id)
    .join(_orders, _orders.c.id == _tasks.c.work_order_id)
    .join(_processes, _processes.c.id == _tasks.c.process_id)
    .join(_actors, _actors.c.id == notifications.c.actor_id)
    .where(
        notifications.c.user_id == bindparam("user_id"),
        notifications.c.created_at >= bindparam("kept_since", type_=notifications.c.created_at.type),
    )
    .order_by(notifications.c.id.desc())
    .limit(bindparam("limit"))
)
_NEW_ITEMS = _ITEMS.where(
    notifications.c.read_at.is_(None),
    notifications.c.id > bindparam("after"),
    notifications.c.id <= bindparam("upto"),
)


def list_items(user_id: int, limit: int = LIST_LIMIT) -> list[Item]:
    """The user's notifications within the kept age, newest first: at most `limit`. One query."""
    params = {"user_id": user_id, "kept_since": kept_since(), "limit": limit}
    return [_item(row) for row in db.session.execute(_ITEMS, params)]


def new_items(user_id: int, after: int, upto: int, limit: int = LIST_LIMIT) -> list[Item]:
    """The user's unread notifications with ids after `after` up to `upto`, newest first: what a live page has not
    announced yet, up to the version it is about to get (a later one is for the next poll to announce)."""
    params = {"user_id": user_id, "kept_since": kept_since(), "limit": limit, "after": after, "upto": upto}
    return [_item(row) for row in db.session.execute(_NEW_ITEMS, params)]


def _item(row) -> Item:
    # SQLite hands back its UTC timestamps without a zone; PostgreSQL's timestamptz comes with one.
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Item(row.id, row.kind, row.task_id, created, row.read_at is not None, *row[5:])
