"""What goes over the wire: tasks as JSON, and the checked bodies of action requests."""

from datetime import UTC, datetime
from typing import Any

from flask import request
from flask_babel import gettext as _

from workorders.errors import BadInput, UnsupportedMediaType
from workorders.forms import MAX_INT
from workorders.tasks.snapshots import TaskSnapshot

# The fields each action takes; `next` is the board URL of the form version and is accepted and ignored.
ACTION_FIELDS = {
    "claim": ("version",),
    "release": ("version",),
    "start": ("version",),
    "pause": ("version",),
    "assign": ("version", "assignee"),
    "complete": ("version", "good_qty", "scrap_qty"),
}
IGNORED_FIELDS = ("next",)


def task_json(task: TaskSnapshot) -> dict[str, Any]:
    """A task as SPEC "JSON API" describes it: codes and usernames rather than ids."""
    return {
        "id": task.id,
        "work_order": task.work_order.number,
        "process": task.process.code,
        "department": task.department.code,
        "sequence": task.sequence,
        "status": task.status,
        "assignee": task.assignee.username if task.assignee else None,
        "version": task.version,
        "planned_qty": task.planned_qty,
        "good_qty": task.good_qty,
        "scrap_qty": task.scrap_qty,
        "updated_at": _utc(task.updated_at).isoformat(),
    }


def _utc(moment: datetime) -> datetime:
    # SQLite hands back its UTC timestamps without a zone; PostgreSQL's timestamptz comes with one.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def action_arguments(action: str, task_id: int) -> dict[str, Any]:
    """The service arguments from the JSON body. Raises BadInput (400) or UnsupportedMediaType (415)."""
    if not request.is_json:
        raise UnsupportedMediaType(_("The body must be JSON (Content-Type: application/json)."), task_id=task_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput(
            _("The body must be a JSON object, e.g. %(example)s.", example='{"version": 3}'), task_id=task_id
        )
    allowed = ACTION_FIELDS[action]
    unknown = sorted(set(body) - set(allowed) - set(IGNORED_FIELDS))
    if unknown:
        known = ", ".join(allowed)
        raise BadInput(
            _("Unknown field %(name)r; %(action)s takes %(fields)s.", name=unknown[0], action=action, fields=known),
            task_id=task_id,
        )
    arguments: dict[str, Any] = {}
    for name in allowed:
        if name == "assignee":
            arguments[name] = _username(body.get(name), task_id)
        else:
            arguments[name] = _whole_number(body, name, task_id)
    return arguments


BULK_FIELDS = ("assignee", "tasks")
SEEN_FIELDS = ("id", "version")


def bulk_assign_arguments() -> dict[str, Any]:
    """`assign_many`'s arguments from `{"assignee": "omar" | null, "tasks": [{"id": 1, "version": 3}, …]}`.

    `assignee` must be sent (null: nobody), so that a forgotten field never unassigns a shift's tasks. Raises
    BadInput (400) or UnsupportedMediaType (415); the list's length and repeats are the service's to check.
    """
    body = _json_object('{"assignee": "omar", "tasks": [{"id": 1, "version": 3}]}')
    unknown = sorted(set(body) - set(BULK_FIELDS))
    if unknown:
        raise BadInput(_("Unknown field %(name)r; a bulk assign takes assignee and tasks.", name=unknown[0]))
    if "assignee" not in body:
        raise BadInput(_("assignee is required: a username, or null for nobody."))
    tasks = body.get("tasks")
    if not isinstance(tasks, list) or not all(isinstance(task, dict) for task in tasks):
        raise BadInput(_("tasks must be a list of objects, e.g. %(example)s.", example='[{"id": 1, "version": 3}]'))
    seen = []
    for task in tasks:
        unknown = sorted(set(task) - set(SEEN_FIELDS))
        if unknown:
            raise BadInput(_("Unknown field %(name)r in tasks; each task takes id and version.", name=unknown[0]))
        seen.append((_whole_number(task, "id", None), _whole_number(task, "version", None)))
    return {"assignee": _username(body["assignee"], None), "seen": seen}


def _json_object(example: str) -> dict:
    """The request's JSON body, which must be an object. Raises UnsupportedMediaType or BadInput."""
    if not request.is_json:
        raise UnsupportedMediaType(_("The body must be JSON (Content-Type: application/json)."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput(_("The body must be a JSON object, e.g. %(example)s.", example=example))
    return body


def _whole_number(body: dict, name: str, task_id: int | None) -> int:
    if name not in body:
        raise BadInput(_("%(field)s is required.", field=name), task_id=task_id)
    value = body[name]
    # bool is an int in Python, and 1.0 / 1e9 arrive as floats: all three are refused.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise BadInput(
            _(
                "%(field)s must be a whole number from 0 to %(most)s, not %(value)r.",
                field=name,
                most=MAX_INT,
                value=value,
            ),
            task_id=task_id,
        )
    return value


def _username(value: Any, task_id: int | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise BadInput(_("assignee must be a username (a string of at most 64 characters) or null."), task_id=task_id)
    return value
