"""Every text a notification shows, in one place: rendered when shown, never stored (so it follows the viewer's
language and the names things have now). Placeholders are named, for the translators."""

from __future__ import annotations

from flask_babel import lazy_gettext, ngettext

from workorders.notifications.models import NotificationKind

TEXTS = {
    NotificationKind.ASSIGNED: lazy_gettext("%(actor)s assigned you %(task)s."),
    NotificationKind.UNASSIGNED: lazy_gettext("%(actor)s took %(task)s from you."),
    NotificationKind.CANCELLED: lazy_gettext("%(actor)s cancelled %(order)s, so %(task)s is cancelled."),
}
# The live poll's message names at most this many new notifications, then says how many more.
ANNOUNCED = 3


def notification_text(kind: str, actor: str, task: str, order: str) -> str:
    """What the notification says: `actor` is who did it (display name), `task` its label, `order` its number."""
    return str(TEXTS[NotificationKind(kind)]) % {"actor": actor, "task": task, "order": order}


def and_more(count: int) -> str:
    """The line after the first ANNOUNCED new notifications, for `count` more."""
    return ngettext("And %(num)d more: see Notifications.", "And %(num)d more: see Notifications.", count)
