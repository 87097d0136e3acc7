"""JSON endpoints over the same services as the board."""

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from workorders.api import auth
from workorders.api.openapi import openapi_document
from workorders.api.schemas import action_arguments, bulk_assign_arguments, task_json
from workorders.errors import NotFound
from workorders.forms import parse_id
from workorders.tasks import bulk
from workorders.tasks.errors import TaskNotFound
from workorders.tasks.queries import BoardFilters, list_tasks, load_row
from workorders.tasks.service import ACTIONS

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PER_PAGE = 200


@bp.before_request
def authenticate() -> None:
    if request.endpoint != "api.openapi":
        auth.authenticate()


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.get("/tasks")
def tasks() -> Response:
    filters = BoardFilters.parse(
        request.args, per_page=current_app.config["BOARD_PAGE_SIZE"], max_per_page=MAX_PER_PAGE
    )
    items, total = list_tasks(current_user, filters)
    return jsonify(
        {
            "items": [task_json(task) for task in items],
            "page": filters.page,
            "per_page": filters.per_page,
            "total": total,
        }
    )


@bp.get("/tasks/<task_id>")
def task(task_id: str) -> Response:
    task_id = parse_id(task_id)
    row = load_row(current_user, task_id)
    if row is None:
        raise TaskNotFound(task_id)
    return jsonify({"task": task_json(row.task)})


@bp.post("/tasks/assign")
def assign_many() -> Response:
    """Bulk assign: each task's result, with the status of the whole (SPEC "JSON API")."""
    outcome = bulk.assign_many(current_user, **bulk_assign_arguments())
    results = [
        {
            "id": result.task_id,
            "outcome": result.outcome,
            "task": task_json(result.task) if result.task is not None else None,
            "current_owner": result.current_owner,
            "detail": result.detail,
        }
        for result in outcome.results
    ]
    response = jsonify({"results": results, "assigned": outcome.assigned})
    response.status_code = outcome.status
    return response


@bp.post("/tasks/<task_id>/<action>")
def act(task_id: str, action: str) -> Response:
    if action not in ACTIONS:
        raise NotFound(
            _("There is no action %(action)r; the actions are %(actions)s.", action=action, actions=", ".join(ACTIONS))
        )
    task_id = parse_id(task_id)
    # The user itself, not Flask-Login's proxy (see tasks.views.act).
    outcome = ACTIONS[action](task_id, current_user._get_current_object(), **action_arguments(action, task_id))
    return jsonify({"task": task_json(outcome.task), "already_claimed": outcome.already_claimed})
