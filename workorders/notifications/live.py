"""What a live page's poll tells about notifications: the unread count now and, for new ones, a short message."""

from __future__ import annotations

from dataclasses import dataclass

from workorders.notifications.queries import Item, new_items, split_version
from workorders.notifications.texts import ANNOUNCED, and_more
from workorders.users.models import User


@dataclass(frozen=True)
class News:
    """The viewer's unread count now, and the notifications their page has not announced yet (newest first)."""

    unread: int
    new: list[Item]

    @property
    def lines(self) -> list[str]:
        """One line per new notification, the first few of them, then how many more."""
        extra = len(self.new) - ANNOUNCED
        return [item.text for item in self.new[:ANNOUNCED]] + ([and_more(extra)] if extra > 0 else [])


def news_between(viewer: User, seen: str, now: str) -> News | None:
    """What changed in the viewer's notifications from a live page's version `seen` to `now`: None if nothing.

    The new ones are read (one query) only when some arrived: unread ones newer than any `seen` knew of, up to
    the newest `now` knows of. A version without a notifications part (or a made-up one) gets the count alone.
    """
    _, before = split_version(seen)
    _, after = split_version(now)
    if after is None or before == after:
        return None
    arrived = before is not None and after.newest > before.newest
    return News(after.count, new_items(viewer.id, before.newest, after.newest) if arrived else [])


def only_notifications_changed(seen: str, now: str) -> bool:
    """Whether two versions of a live page differ in the viewer's notifications alone (its tasks are the same)."""
    return split_version(seen)[0] == split_version(now)[0]
