"""The user a request runs as: read once, in one statement, as plain values.

Every request that needs its user (a session's or a bearer token's) reads it with its departments in one Core
statement and keeps it as a `UserSnapshot`, not an ORM object: nothing to expire on rollback, no session to keep
it in, so every page and error can say who is logged in without asking the database again (it may be why the
request failed). Loading the ORM `User` with its departments cost a third of a millisecond more on each request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select

from workorders.notifications.queries import Unread, unread_columns
from workorders.users.models import Permissions, User, user_departments

users = User.__table__
COLUMNS = ("id", "username", "display_name", "role", "active", "session_version", "language")


@dataclass(eq=False)
class UserSnapshot(Permissions):
    """A user as the request found them; `unread_notifications` when the statement read them (see `user_rows`)."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    session_version: int
    language: str | None
    member_of: frozenset[int]
    unread_notifications: Unread | None = None

    def department_ids(self) -> frozenset[int]:
        return self.member_of


def user_rows(*where, unread: bool = False) -> Select:
    """The user `where` picks, a row per department they belong to (one with a NULL department for none); with
    `unread`, also their unread notifications' count and newest id (the user's id bound as `user_id`)."""
    columns = [*(users.c[name] for name in COLUMNS), user_departments.c.department_id]
    if unread:
        columns.extend(unread_columns("user_id"))
    joined = users.outerjoin(user_departments, user_departments.c.user_id == users.c.id)
    return select(*columns).select_from(joined).where(*where)


def snapshot_of(rows: Sequence) -> UserSnapshot | None:
    """The UserSnapshot of `user_rows`' rows; None when there are none."""
    if not rows:
        return None
    first = rows[0]
    departments = frozenset(row.department_id for row in rows if row.department_id is not None)
    user = UserSnapshot(*(getattr(first, name) for name in COLUMNS), member_of=departments)
    if "unread_count" in first._fields:
        user.unread_notifications = Unread(first.unread_count, first.newest_unread)
    return user
