"""Board pages, row fragments and the action endpoints (htmx fragment or plain form post)."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from workorders.errors import BadInput, DomainError, render_error
from workorders.forms import parse_id
from workorders.htmx import current_path, is_htmx, retarget, vary_on_htmx
from workorders.notifications.views import poll_answer
from workorders.tasks import bulk
from workorders.tasks.errors import TaskConflict, TaskNotFound
from workorders.tasks.forms import FORMS, BulkAssignForm
from workorders.tasks.queries import (
    BoardFilters,
    board_version,
    load_board,
    load_my_tasks,
    load_row,
    make_row,
    my_tasks_version,
    task_history,
)
from workorders.tasks.service import ACTIONS
from workorders.urls import safe_next

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.before_request
@login_required
def require_login() -> None:
    """Every board page and action needs a logged-in user."""


@bp.get("")
def board() -> Response:
    """The board page; for htmx the board fragment, or 204 when nothing changed `since` the version it has (or the
    notifications' news alone, when only they changed)."""
    filters = BoardFilters.parse(request.args, per_page=current_app.config["BOARD_PAGE_SIZE"])
    since, news = request.args.get("since"), ""
    if is_htmx() and since:
        version = board_version(current_user, filters)
        answer, news = poll_answer(since, version, url_for(".board", since=version, **filters.query_args()))
        if answer is not None:
            return vary_on_htmx(answer)
    context = {
        "board": load_board(current_user, filters),
        "return_to": url_for(".board", **filters.query_args()),
        "poll_seconds": current_app.config["BOARD_POLL_SECONDS"],
        # "Select all shown" without JavaScript: the board again, every box the viewer may tick ticked.
        "select_all": request.args.get("select") == "all",
    }
    template = "tasks/_board.html" if is_htmx() else "tasks/index.html"
    return vary_on_htmx(Response(render_template(template, **context) + news))


@bp.get("/mine")
def mine() -> Response:
    """My tasks: one's own unfinished tasks, next action biggest, then free ones to claim; 204 as the board."""
    since, news = request.args.get("since"), ""
    if is_htmx() and since:
        version = my_tasks_version(current_user)
        answer, news = poll_answer(since, version, url_for(".mine", since=version))
        if answer is not None:
            return vary_on_htmx(answer)
    context = {
        "mine": load_my_tasks(current_user, limit=current_app.config["BOARD_PAGE_SIZE"]),
        "return_to": url_for(".mine"),
        "poll_seconds": current_app.config["BOARD_POLL_SECONDS"],
    }
    template = "tasks/_mine.html" if is_htmx() else "tasks/mine.html"
    return vary_on_htmx(Response(render_template(template, **context) + news))


@bp.get("/<task_id>/row")
def row(task_id: str) -> str:
    task_id = parse_id(task_id)
    row = load_row(current_user, task_id) or _not_found(task_id)
    return render_template("tasks/_row.html", row=row, return_to=_return_path())


@bp.get("/<task_id>")
def detail(task_id: str) -> str:
    task_id = parse_id(task_id)
    row = load_row(current_user, task_id) or _not_found(task_id)
    return render_template("tasks/detail.html", row=row, events=task_history(task_id), return_to=_return_path())


@bp.post("/<task_id>/<action>")
def act(task_id: str, action: str) -> Response:
    if action not in ACTIONS:
        abort(404)
    task_id = parse_id(task_id)
    form = FORMS[action]()
    if not form.validate():
        raise BadInput(_first_error(form), task_id=task_id)
    # The user itself, not Flask-Login's proxy: the rules ask it a dozen questions, each a lookup through the proxy.
    user = current_user._get_current_object()
    outcome = ACTIONS[action](task_id, user, **form.service_args())
    # From here on, only what the transaction saw and wrote: the database is not asked again.
    if not is_htmx():
        flash(outcome.message, "success" if outcome.changed else "info")
        return redirect(form.next_url() or url_for(".board"), code=303)
    row = make_row(user, outcome.task, outcome.choices)
    return Response(render_template("tasks/_acted.html", row=row, outcome=outcome, return_to=_return_path()))


@bp.post("/assign")
def assign_many() -> Response:
    """Bulk assign: every ticked task to one person. htmx: the summary in the message area when all applied, else a
    dialog listing each task's outcome; the fresh rows out of band either way. Plain post: 303 with a flash when
    all applied, else a page with the same status listing the outcomes."""
    form = BulkAssignForm()
    if not form.validate():
        raise BadInput(_first_error(form))
    outcome = bulk.assign_many(current_user, **form.service_args())
    # From here on, only what the transaction saw and wrote: the database is not asked again.
    back = form.next_url() or url_for(".board")
    if not is_htmx():
        if outcome.status == 200:
            flash(outcome.summary, "success")
            return redirect(back, code=303)
        page = render_template("tasks/bulk_assigned.html", outcome=outcome, back_url=back)
        return Response(page, status=outcome.status)
    body = render_template("tasks/_bulk_assigned.html", outcome=outcome, rows=_bulk_rows(outcome), return_to=back)
    response = Response(body, status=outcome.status)
    return response if outcome.status == 200 else retarget(response, "#modal-slot")


def _bulk_rows(outcome: bulk.BulkOutcome) -> list:
    """The row of every task the bulk assign found, as its transaction left it (or saw it, when refused)."""
    tasks = [result.task for result in outcome.results if result.task is not None]
    return [make_row(current_user, task, outcome.choices.get(task.department_id, ())) for task in tasks]


@bp.errorhandler(DomainError)
def refused(error: DomainError) -> Response:
    """Any refusal on a board page; a 409 for htmx also carries the row as it was read under the lock."""
    if not (isinstance(error, TaskConflict) and error.task is not None):
        return render_error(error)

    def dialog() -> str:
        row = make_row(current_user, error.task, error.choices)
        return render_template("tasks/_conflict.html", error=error, row=row, oob=True, return_to=_return_path())

    return render_error(error, dialog=dialog)


def _not_found(task_id) -> None:
    raise TaskNotFound(task_id)


def _return_path() -> str:
    """Where a plain form post should land afterwards: the board the user came from."""
    return safe_next(request.form.get("next")) or safe_next(current_path()) or url_for(".board")


def _first_error(form) -> str:
    for field in form:
        if field.errors:
            message, label = str(field.errors[0]), str(field.label.text)
            if field.name in message or label in message:
                return message
            return _("%(field)s: %(problem)s", field=label, problem=message)
    return _("The form is incomplete.")
