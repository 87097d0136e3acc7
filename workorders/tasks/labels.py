"""What people read for a task's status, in their language (the status values themselves never change)."""

import re

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workorders.i18n import translated_once

# Keyed by the plain values (TaskStatus is a StrEnum): errors.py reads this too, and it imports no model.
STATUS_LABELS = {
    "open": _l("Open"),
    "in_progress": _l("In progress"),
    "paused": _l("Paused"),
    "done": _l("Done"),
    "cancelled": _l("Cancelled"),
}


# The task table's column names: the head shows them, and each row repeats them for the phone layout's cells.
COLUMN_LABELS = {
    "wo": _l("Work order"),
    "step": _l("Step"),
    "qty": _l("Quantity"),
    "due": _l("Due"),
    "status": _l("Status"),
    "who": _l("Who"),
    "actions": _l("Actions"),
}


def column_labels() -> dict[str, str]:
    """The column names in the viewer's language."""
    return translated_once("task_columns", COLUMN_LABELS)


def status_label(status: str) -> str:
    """The status as the viewer reads it; an unknown value as it is."""
    return translated_once("statuses", STATUS_LABELS).get(status, status)


# A history line reads "<who> <action>": the verb in the past, as the viewer reads it.
ACTION_LABELS = {
    "claim": _l("claimed"),
    "release": _l("released"),
    "assign": _l("assigned"),
    "start": _l("started"),
    "pause": _l("paused"),
    "complete": _l("completed"),
    "cancel": _l("cancelled"),
}
# The notes the services write themselves (kept in the database as written, in English): shown translated.
_COMPLETED_NOTE = re.compile(r"^good (\d+), scrap (\d+)$")
_CANCELLED_NOTE = "Work order cancelled"


def action_label(action: str) -> str:
    """The action as the viewer reads it in a history line; an unknown value as it is."""
    return translated_once("actions", ACTION_LABELS).get(action, action)


def event_note(note: str | None) -> str:
    """A history note in the viewer's language when the system wrote it; a person's own words as they are."""
    if not note:
        return ""
    if match := _COMPLETED_NOTE.match(note):
        return _(
            "good %(good)s, scrap %(scrap)s", good=format_decimal(int(match[1])), scrap=format_decimal(int(match[2]))
        )
    if note == _CANCELLED_NOTE:
        return _("Work order cancelled")
    if note.startswith(_CANCELLED_NOTE + ": "):
        return _("Work order cancelled: %(reason)s", reason=note.removeprefix(_CANCELLED_NOTE + ": "))
    return note
