"""The fields each task action takes."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import Length, Optional

from workorders.forms import NonNegativeIntegerField, next_path


class ActionForm(FlaskForm):
    """Claim, release, start and pause: just the version the user saw."""

    version = NonNegativeIntegerField("version")
    next = HiddenField(validators=[Optional(), Length(max=2000)])

    def service_args(self) -> dict:
        return {"version": self.version.data}

    def next_url(self) -> str | None:
        return next_path(self.next)


class AssignForm(ActionForm):
    assignee = StringField("assignee", validators=[Optional(), Length(max=64)])

    def service_args(self) -> dict:
        return {**super().service_args(), "assignee": (self.assignee.data or "").strip() or None}


class CompleteForm(ActionForm):
    good_qty = NonNegativeIntegerField("Good quantity")
    scrap_qty = NonNegativeIntegerField("Scrap quantity")

    def service_args(self) -> dict:
        return {**super().service_args(), "good_qty": self.good_qty.data, "scrap_qty": self.scrap_qty.data}


FORMS = {
    "claim": ActionForm,
    "release": ActionForm,
    "start": ActionForm,
    "pause": ActionForm,
    "assign": AssignForm,
    "complete": CompleteForm,
}
