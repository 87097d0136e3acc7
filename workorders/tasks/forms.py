"""The fields each task action takes."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Field, HiddenField, StringField
from wtforms.validators import Length, Optional, ValidationError

from workorders.forms import MAX_INT, Form, NonNegativeIntegerField, next_path, whole_number


class ActionForm(Form):
    """Claim, release, start and pause: just the version the user saw.

    No CSRF field of its own: CSRFProtect (workorders/extensions.py) has checked the request's token before any view
    runs, and the form's field would only sign another one, which a refusal's answer has no use for.
    """

    class Meta(Form.Meta):
        csrf = False

    version = NonNegativeIntegerField(_l("version"))
    next = HiddenField(validators=[Optional(), Length(max=2000)])

    def service_args(self) -> dict:
        return {"version": self.version.data}

    def next_url(self) -> str | None:
        return next_path(self.next)


class AssignForm(ActionForm):
    assignee = StringField(_l("assignee"), validators=[Optional(), Length(max=64)])

    def service_args(self) -> dict:
        return {**super().service_args(), "assignee": (self.assignee.data or "").strip() or None}


class CompleteForm(ActionForm):
    good_qty = NonNegativeIntegerField(_l("Good quantity"))
    scrap_qty = NonNegativeIntegerField(_l("Scrap quantity"))

    def service_args(self) -> dict:
        return {**super().service_args(), "good_qty": self.good_qty.data, "scrap_qty": self.scrap_qty.data}


class SeenTasksField(Field):
    """The repeated `task` field of the bulk assign: `{id}:{version}` per task, as the board's checkboxes send it,
    both whole numbers 0 … 2³¹−1. `data` is the list of (id, version) pairs, in the order sent."""

    def process_formdata(self, valuelist):
        self.data = []
        for raw in valuelist:
            task_id, colon, version = raw.strip().partition(":")
            numbers = (whole_number(task_id), whole_number(version))
            if not colon or None in numbers or max(numbers) > MAX_INT:
                raise ValueError(
                    _("Each task is sent as id:version, both whole numbers, not %(value)r.", value=raw[:30])
                )
            self.data.append(numbers)


class BulkAssignForm(Form):
    """Several tasks (ticked on the board) to one person; an empty assignee is nobody."""

    task = SeenTasksField(_l("task"))
    # No Optional(): it would end the checks before validate_assignee, which tells empty from not sent.
    assignee = StringField(_l("assignee"), validators=[Length(max=64)])
    next = HiddenField(validators=[Optional(), Length(max=2000)])

    def validate_assignee(self, field) -> None:
        # Sent empty it means nobody; not sent at all (the select left at its prompt), it is a choice not made.
        if not field.raw_data:
            raise ValidationError(_("Choose whom to give the ticked tasks to, or Nobody."))

    def service_args(self) -> dict:
        return {"assignee": (self.assignee.data or "").strip() or None, "seen": self.task.data or []}

    def next_url(self) -> str | None:
        return next_path(self.next)


FORMS = {
    "claim": ActionForm,
    "release": ActionForm,
    "start": ActionForm,
    "pause": ActionForm,
    "assign": AssignForm,
    "complete": CompleteForm,
}
