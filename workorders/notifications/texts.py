"""Every text a notification shows, in one place: rendered when shown, never stored (so it follows the viewer's
language and the names things have now). Placeholders are named, for translation."""

from __future__ import annotations

from workorders.notifications.models import NotificationKind

TEXTS = {
    NotificationKind.ASSIGNED: "%(actor)s assigned you %(task)s.",
    NotificationKind.UNASSIGNED: "%(actor)s took %(task)s from you.",
    NotificationKind.CANCELLED: "%(actor)s cancelled %(order)s, so %(task)s is cancelled.",
}
# The live poll's message names at most this many, then "and N more".
ANNOUNCED = 3
AND_MORE = "And %(count)d more: see Notifications."
AND_ONE_MORE = "And 1 more: see Notifications."


def notification_text(kind: str, actor: str, task: str, order: str) -> str:
    """What the notification says: `actor` is who did it (display name), `task` its label, `order` its number."""
    return TEXTS[NotificationKind(kind)] % {"actor": actor, "task": task, "order": order}


def and_more(count: int) -> str:
    """The line after the first ANNOUNCED of `count` more new notifications."""
    return AND_ONE_MORE if count == 1 else AND_MORE % {"count": count}
