"""GET /api/v1/notifications: the caller's notifications, newest first, and how many are unread."""

from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from workorders.api.views import bp
from workorders.errors import BadInput
from workorders.notifications.queries import Item
from workorders.notifications.service import read_notifications

FLAGS = {"1": True, "true": True, "0": False, "false": False, "": False}


@bp.get("/notifications")
def notifications() -> Response:
    """Read-only unless `mark_read=1`: a script polling it must not eat what the person has not seen."""
    mark_read = FLAGS.get((request.args.get("mark_read") or "").lower())
    if mark_read is None:
        raise BadInput(_("mark_read must be 1 or 0 (true or false)."))
    shown = read_notifications(current_user, mark_read=mark_read)
    return jsonify({"items": [notification_json(item) for item in shown.items], "unread": shown.unread})


def notification_json(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "task_id": item.task_id,
        "text": item.text,
        "created_at": item.created_at.isoformat(),
        "read": item.read,
    }
