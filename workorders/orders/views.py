"""Work order pages: the list, the new-order form and its route editor, the detail page, cancel, CSV upload,
and the supervisors' workload chart."""

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required

from workorders.errors import BadInput
from workorders.forms import parse_id
from workorders.htmx import is_htmx, redirect_page, vary_on_htmx
from workorders.orders import service
from workorders.orders.errors import ImportRejected, InvalidField, OrderNotFound
from workorders.orders.forms import CancelForm, ImportForm, WorkOrderForm, first_error
from workorders.orders.importer import COLUMNS
from workorders.orders.queries import OrderFilters, list_orders, load_order, load_workload, route_choices, route_steps

bp = Blueprint("orders", __name__)


@bp.before_request
@login_required
def require_login() -> None:
    """Every work order page needs a logged-in user."""


def supervisors_only(what: str) -> Callable:
    """Answer 403 (SupervisorsOnly) to anyone but supervisors and admins, before anything else is looked at."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            service.require_supervisor(current_user, what)
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.get("/work-orders")
def index() -> Response:
    filters = OrderFilters.parse(request.args, per_page=current_app.config["BOARD_PAGE_SIZE"])
    template = "orders/_list.html" if is_htmx() else "orders/index.html"
    return vary_on_htmx(Response(render_template(template, page=list_orders(filters))))


@bp.get("/work-orders/new")
@supervisors_only(service.WHAT["create"])
def new() -> Response:
    return _form_page(WorkOrderForm())


@bp.post("/work-orders")
@supervisors_only(service.WHAT["create"])
def create() -> Response:
    form = WorkOrderForm()
    try:
        if form.route_op.data:
            return _form_page(form, focus=form.apply_route_op())
        if not form.validate():
            return _form_page(form, status=400)
        order = service.create_work_order(current_user, form.draft())
    except InvalidField as error:
        form.show(error)
        return _form_page(form, status=400)
    message = ngettext(
        "You created %(number)s with %(num)d step.",
        "You created %(number)s with %(num)d steps.",
        len(order.tasks),
        number=order.number,
    )
    flash(message, "success")
    return _see_other(url_for(".detail", order_id=order.id))


@bp.get("/work-orders/<order_id>")
def detail(order_id: str) -> str:
    order_id = parse_id(order_id, "work order")
    found = load_order(current_user, order_id)
    if found is None:
        raise OrderNotFound(order_id)
    here = url_for(".detail", order_id=order_id)
    return render_template("orders/detail.html", detail=found, cancel_form=CancelForm(), return_to=here)


@bp.post("/work-orders/<order_id>/cancel")
@supervisors_only(service.WHAT["cancel"])
def cancel(order_id: str) -> Response:
    order_id = parse_id(order_id, "work order")
    form = CancelForm()
    if not form.validate():
        raise BadInput(first_error(form))
    outcome = service.cancel_work_order(current_user, order_id, form.version.data, form.reason.data)
    flash(outcome.message, "success")
    return _see_other(form.next_url() or url_for(".detail", order_id=order_id))


@bp.get("/work-orders/import")
@supervisors_only(service.WHAT["import"])
def import_form() -> str:
    return render_template("orders/import.html", form=ImportForm(), columns=COLUMNS)


@bp.post("/work-orders/import")
@supervisors_only(service.WHAT["import"])
def import_file() -> Response | tuple[str, int]:
    form = ImportForm()
    if not form.validate():
        return render_template("orders/import.html", form=form, columns=COLUMNS), 400
    try:
        outcome = service.import_csv(current_user, form.file.data.read())
    except ImportRejected as error:
        return render_template("orders/import.html", form=form, columns=COLUMNS, rejected=error), 400
    flash(outcome.message, "success")
    return _see_other(url_for(".index"))


@bp.get("/workload")
@supervisors_only(service.WHAT["workload"])
def workload() -> str:
    loads = load_workload(current_user, cap=int(current_app.config["TASK_CAP_PER_OPERATOR"]))
    return render_template("orders/workload.html", workload=loads)


def _form_page(form: WorkOrderForm, status: int = 200, focus: str | None = None) -> Response:
    """The new-order form: a whole page, or for htmx the form alone (swapped in place of the old one)."""
    context = {"form": form, "choices": route_choices(), "steps": route_steps(form.route.data), "focus": focus}
    template = "orders/_form.html" if is_htmx() else "orders/new.html"
    return vary_on_htmx(Response(render_template(template, **context), status=status))


def _see_other(url: str) -> Response:
    """After a change: a 303 for a plain form post, a whole-page load for htmx."""
    return redirect_page(url) if is_htmx() else redirect(url, code=303)
