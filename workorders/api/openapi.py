"""The OpenAPI 3.1 description of /api/v1, built from the same field lists the views check."""

from typing import Any

from workorders.api.schemas import ACTION_FIELDS
from workorders.forms import MAX_INT
from workorders.notifications.models import NotificationKind
from workorders.notifications.queries import LIST_LIMIT as NOTIFICATIONS_LISTED
from workorders.tasks.bulk import MAX_TASKS
from workorders.tasks.models import TaskStatus
from workorders.tasks.queries import STATUS_FILTERS

BULK_OUTCOMES = ["assigned", "task_conflict", "permission_denied", "business_rule", "not_found"]
ERROR_CODES = ["task_conflict", "permission_denied", "business_rule", "not_found", "unavailable", "unauthorized"]
WHOLE = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
NULLABLE_STRING = {"type": ["string", "null"]}
ACTION_SUMMARIES = {
    "claim": "Take an open or paused task nobody holds (200 with already_claimed when it is yours already).",
    "release": "Give a held task back; by its holder or a supervisor. Open or paused tasks only.",
    "assign": "Supervisors: give the task to an active member of its department, or to nobody (null).",
    "start": "The holder starts it, once the previous non-parallel step is done.",
    "pause": "The holder pauses a task in progress.",
    "complete": "The holder completes a task in progress with its good and scrap counts.",
}
ERROR_RESPONSES = {
    "400": "Bad input, or not allowed in the state the user saw (business_rule).",
    "401": "No valid API token or session (unauthorized).",
    "403": "The role or department forbids it, whatever the state (permission_denied).",
    "404": "No such task or action (not_found).",
    "409": "The task changed after the version sent and the action no longer applies (task_conflict).",
    "415": "The body is not JSON.",
    "503": (
        "The database is busy or unreachable (unavailable); retry after Retry-After seconds. The detail says"
        " whether nothing was changed or, when the connection died during COMMIT, the outcome is unknown;"
        " every action is safe to repeat."
    ),
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _errors(*codes: str) -> dict:
    return {code: {"description": ERROR_RESPONSES[code], "content": _json(_ref("Error"))} for code in codes}


def _schemas() -> dict[str, Any]:
    task_fields = {
        "id": WHOLE,
        "work_order": {"type": "string", "pattern": r"^WO-\d{4}-\d{4,}$"},
        "process": {"type": "string"},
        "department": {"type": "string"},
        "sequence": WHOLE,
        "status": {"type": "string", "enum": list(TaskStatus)},
        "assignee": NULLABLE_STRING,
        "version": WHOLE,
        "planned_qty": WHOLE,
        "good_qty": WHOLE,
        "scrap_qty": WHOLE,
        "updated_at": {"type": "string", "format": "date-time"},
    }
    retry_fields = {
        "can_retry": {"type": "boolean"},
        "suggestion": {"type": "string"},
        "action_text": {"type": "string"},
        "current_owner": NULLABLE_STRING,
    }
    error_fields = {
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": ERROR_CODES},
        "task_id": {"type": ["integer", "null"]},
        "current_owner": NULLABLE_STRING,
        "retry": _ref("Retry"),
    }
    return {
        "Task": _object(task_fields),
        "TaskEnvelope": _object({"task": _ref("Task")}),
        "TaskPage": _object(
            {"items": {"type": "array", "items": _ref("Task")}, "page": WHOLE, "per_page": WHOLE, "total": WHOLE}
        ),
        "ActionResult": _object({"task": _ref("Task"), "already_claimed": {"type": "boolean"}}),
        "Retry": _object(retry_fields),
        "Error": _object(error_fields),
        **_notification_schemas(),
        **_bulk_schemas(),
        **{f"{action.title()}Body": _body(fields) for action, fields in ACTION_FIELDS.items()},
    }


def _bulk_schemas() -> dict[str, Any]:
    seen = _object({"id": WHOLE, "version": WHOLE})
    body = _object(
        {
            "assignee": {**NULLABLE_STRING, "maxLength": 64, "description": "Username; null or '' unassigns."},
            "tasks": {"type": "array", "items": seen, "minItems": 1, "maxItems": MAX_TASKS},
        }
    )
    result = _object(
        {
            "id": {"type": "integer"},
            "outcome": {"type": "string", "enum": BULK_OUTCOMES},
            "task": {"oneOf": [_ref("Task"), {"type": "null"}]},
            "current_owner": NULLABLE_STRING,
            "detail": {"type": "string"},
        }
    )
    results = {"results": {"type": "array", "items": _ref("BulkAssignResult")}, "assigned": WHOLE}
    return {"BulkAssignBody": body, "BulkAssignResult": result, "BulkAssignResults": _object(results)}


def _notification_schemas() -> dict[str, Any]:
    notification = {
        "id": WHOLE,
        "kind": {"type": "string", "enum": list(NotificationKind)},
        "task_id": WHOLE,
        "text": {"type": "string", "description": "What happened, in the token owner's language."},
        "created_at": {"type": "string", "format": "date-time"},
        "read": {"type": "boolean", "description": "Whether it had been read before this request."},
    }
    items = {"type": "array", "items": _ref("Notification"), "maxItems": NOTIFICATIONS_LISTED}
    return {"Notification": _object(notification), "NotificationList": _object({"items": items, "unread": WHOLE})}


def _object(properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _body(fields: tuple[str, ...]) -> dict:
    properties = {name: WHOLE for name in fields}
    if "assignee" in properties:
        properties["assignee"] = {**NULLABLE_STRING, "maxLength": 64, "description": "Username; null or '' unassigns."}
    required = [name for name in fields if name != "assignee"]
    properties["next"] = {"type": "string", "description": "Accepted for parity with the form; ignored."}
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _query_parameters() -> list[dict]:
    def query(name: str, schema: dict, description: str) -> dict:
        return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}

    return [
        query("department", {"type": "string"}, "Department code, or 'all'; default: the caller's own departments."),
        query("status", {"type": "string", "enum": list(STATUS_FILTERS)}, "Default 'active': not done or cancelled."),
        query("assignee", {"type": "string"}, "'me', 'none' or a username."),
        query("q", {"type": "string", "maxLength": 100}, "Work order number, product or customer."),
        query("page", {"type": "integer", "minimum": 1}, "Page number, from 1."),
        query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}, "Tasks per page, at most 200."),
    ]


TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": WHOLE}


def _action_path(action: str) -> dict:
    return {
        "post": {
            "operationId": f"{action}Task",
            "summary": ACTION_SUMMARIES[action],
            "parameters": [TASK_ID],
            "requestBody": {"required": True, "content": _json(_ref(f"{action.title()}Body"))},
            "responses": {
                "200": {"description": "Done, or nothing to do.", "content": _json(_ref("ActionResult"))},
                **_errors("400", "401", "403", "404", "409", "415", "503"),
            },
        }
    }


def _bulk_assign_path() -> dict:
    results = {"content": _json(_ref("BulkAssignResults"))}
    either = {"content": _json({"oneOf": [_ref("BulkAssignResults"), _ref("Error")]})}
    return {
        "post": {
            "operationId": "assignTasks",
            "summary": (
                "Supervisors: give several tasks to one person (or to nobody) in one transaction, locked in id order;"
                " each task gets the outcome a single assign would give it, and the ones that apply are applied."
            ),
            "requestBody": {"required": True, "content": _json(_ref("BulkAssignBody"))},
            "responses": {
                "200": {"description": "Every task applied (or was theirs already).", **results},
                "400": {"description": f"{ERROR_RESPONSES['400']} Bad input changes nothing (Error).", **either},
                "403": {"description": "No conflict, and the first refusal is permission_denied.", **results},
                "404": {"description": "No conflict, and the first refusal is a task that does not exist.", **results},
                "409": {"description": "At least one task conflicted; each names its current owner.", **results},
                **_errors("401", "415", "503"),
            },
        }
    }


def _notifications_path() -> dict:
    mark_read = {
        "name": "mark_read",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["1", "0", "true", "false"]},
        "description": "1: mark the listed ones read, as the /notifications page does when it shows them. Default 0.",
    }
    return {
        "get": {
            "operationId": "listNotifications",
            "summary": (
                f"The caller's notifications, newest first (at most {NOTIFICATIONS_LISTED}; older than"
                " NOTIFICATION_KEEP_DAYS left out), and how many are unread: tasks someone else assigned to them"
                " (assigned), took from them (unassigned) or cancelled with their work order (cancelled). Read-only"
                " unless mark_read=1, so a script polling it does not mark read what the person has not seen; with"
                " mark_read=1 the listed ones are marked read, `read` still tells which were new, and `unread`"
                " counts what is left."
            ),
            "parameters": [mark_read],
            "responses": {
                "200": {"description": "The list.", "content": _json(_ref("NotificationList"))},
                **_errors("400", "401", "503"),
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    """The whole document, served at /api/v1/openapi.json."""
    paths = {
        "/tasks": {
            "get": {
                "operationId": "listTasks",
                "summary": "Tasks as the board shows them, in board order (urgent first, then due date).",
                "parameters": _query_parameters(),
                "responses": {
                    "200": {"description": "One page.", "content": _json(_ref("TaskPage"))},
                    **_errors("400", "401", "503"),
                },
            }
        },
        "/tasks/{task_id}": {
            "get": {
                "operationId": "getTask",
                "summary": "One task.",
                "parameters": [TASK_ID],
                "responses": {
                    "200": {"description": "The task.", "content": _json(_ref("TaskEnvelope"))},
                    **_errors("400", "401", "404", "503"),
                },
            }
        },
        "/tasks/assign": _bulk_assign_path(),
        **{f"/tasks/{{task_id}}/{action}": _action_path(action) for action in ACTION_FIELDS},
        "/notifications": _notifications_path(),
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1.", "content": _json({"type": "object"})}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Work order task board API",
            "version": "1",
            "description": "Claim, assign and work tasks. Every change is made under a row lock; send the `version` "
            "you saw, and a 409 tells you who has the task now.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": [], "csrf": []}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "From `flask --app wsgi users token`."},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
        },
    }
