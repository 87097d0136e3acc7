"""The fields of the work order forms, and how typed text (in a form or a CSV cell) becomes values."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import Field, HiddenField, StringField
from wtforms.validators import Length, Optional, ValidationError

from workorders.errors import BadInput
from workorders.forms import Form, NonNegativeIntegerField, next_path
from workorders.orders.errors import InvalidField
from workorders.orders.importer import MAX_BYTES, parse_due_date, parse_priority
from workorders.orders.models import MAX_REASON, MAX_ROUTE_STEPS, MAX_TEXT, OrderDraft, Priority, check_text

ROUTE_BUTTON = re.compile(r"^(up|down|remove)-(\d{1,2})$")


class CheckedText:
    """A validator running the work order's own text rule, so forms and imports say the same."""

    def __init__(self, name: str, max_length: int = MAX_TEXT, required: bool = True):
        self.name, self.max_length, self.required = name, max_length, required

    def __call__(self, form, field) -> None:
        try:
            check_text(self.name, field.data, self.max_length, self.required)
        except InvalidField as error:
            raise ValidationError(error.detail) from None


class QuantityField(NonNegativeIntegerField):
    """A NonNegativeIntegerField that also refuses 0."""

    least = 1


class DueDateField(StringField):
    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        try:
            self.data = parse_due_date(self.raw)
        except InvalidField as error:
            self.data, self.problem = None, error.detail

    def _value(self) -> str:
        return self.data.isoformat() if isinstance(self.data, date) else getattr(self, "raw", "")

    def pre_validate(self, form):
        if self.data is None:
            raise ValidationError(getattr(self, "problem", None) or _("Due date is required."))


class PriorityField(StringField):
    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        try:
            self.data = parse_priority(self.raw)
        except InvalidField as error:
            self.data, self.problem = None, error.detail

    def pre_validate(self, form):
        if self.data is None:
            raise ValidationError(self.problem)


class RouteField(Field):
    """The route as process codes in order: one hidden `route` input per step."""

    def process_formdata(self, valuelist):
        self.data = [value.strip().upper() for value in valuelist if value.strip()]

    def pre_validate(self, form):
        if not self.data:
            raise ValidationError(_("Route needs at least one step: choose a process and press Add step."))
        if len(self.data) > MAX_ROUTE_STEPS:
            raise ValidationError(_("Route may have at most %(most)s steps.", most=MAX_ROUTE_STEPS))


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class WorkOrderForm(Form):
    customer = StringField(_l("Customer"), validators=[CheckedText("customer")], filters=[_strip])
    product = StringField(_l("Product"), validators=[CheckedText("product")], filters=[_strip])
    quantity = QuantityField(_l("Quantity"))
    due_date = DueDateField(_l("Due date"))
    priority = PriorityField(_l("Priority"), default=Priority.NORMAL)
    route = RouteField(_l("Route"), default=list)
    add_process = StringField(_l("Process to add"), validators=[Optional(), Length(max=32)])
    # The route button that was pressed ("add", "up-2", …): re-show the form instead of creating the order.
    route_op = StringField(validators=[Optional(), Length(max=16)])

    def draft(self) -> OrderDraft:
        return OrderDraft(
            customer=self.customer.data,
            product=self.product.data,
            quantity=self.quantity.data,
            due_date=self.due_date.data,
            priority=self.priority.data,
            route=list(self.route.data),
        )

    def apply_route_op(self) -> str:
        """Carry out the route button that was pressed; returns the id of the control to focus next.

        Raises InvalidField when the route is full, BadInput for a button this form does not have.
        """
        route, op = list(self.route.data), self.route_op.data
        if op == "add":
            code = (self.add_process.data or "").strip().upper()
            if code and len(route) >= MAX_ROUTE_STEPS:
                raise InvalidField("route", _("may have at most %(most)s steps.", most=MAX_ROUTE_STEPS))
            self.route.data = [*route, code] if code else route
            return "add-process"
        match = ROUTE_BUTTON.match(op or "")
        if match is None or not 1 <= int(match.group(2)) <= len(route):
            raise BadInput(_("route_op %(value)r is not a button of this form.", value=op[:16]))
        action, index = match.group(1), int(match.group(2)) - 1
        if action == "remove":
            route.pop(index)
            self.route.data = route
            return "add-process"
        target = index - 1 if action == "up" else index + 1
        if 0 <= target < len(route):
            route[index], route[target] = route[target], route[index]
            index = target
        self.route.data = route
        return _move_focus(index, len(route))

    def show(self, error: InvalidField) -> None:
        """Put a service's field error beside its field (or above the form when no field matches)."""
        field = getattr(self, error.field, None)
        if isinstance(field, Field):
            field.errors = [*field.errors, error.detail]
        else:
            self.form_errors.append(error.detail)


def _move_focus(index: int, length: int) -> str:
    """Keep focus on the moved step's button so pressing it again moves it further (where it is not disabled)."""
    position = index + 1
    if position == 1:
        return "route-down-1" if length > 1 else "add-process"
    return f"route-up-{position}"


class CancelForm(Form):
    version = NonNegativeIntegerField(_l("version"))
    reason = StringField(_l("Reason"), validators=[CheckedText("reason", MAX_REASON, required=False)])
    next = HiddenField(validators=[Optional(), Length(max=2000)])

    def next_url(self) -> str | None:
        return next_path(self.next)


class ImportForm(Form):
    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(_l("Choose a CSV file to import.")),
            FileSize(MAX_BYTES, message=_l("A CSV file may be at most %(most)s MB.", most=MAX_BYTES // 1024 // 1024)),
        ],
    )


def first_error(form: Form) -> str:
    """The first error message of a form that did not validate."""
    for field in form:
        if field.errors:
            return field.errors[0]
    return form.form_errors[0] if form.form_errors else _("The form is incomplete.")
