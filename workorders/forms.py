"""Form fields shared by every feature."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import ValidationError

from workorders.errors import BadInput
from workorders.i18n import WTFORMS_TRANSLATIONS
from workorders.urls import safe_next

MAX_INT = 2**31 - 1  # the database's integer column
# Numbers of this many digits or more are read as 10**19: none is in range anywhere here, and int() refuses
# strings of over 4,300 digits outright (a ValueError, which was a 500).
LONGEST = 20


class Form(FlaskForm):
    """The base of every form here: Flask-WTF's, with WTForms' own messages from catalogs read once per process."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return WTFORMS_TRANSLATIONS


def whole_number(raw: str) -> int | None:
    """The value of `raw` written in plain ASCII digits, None for anything else ("1.5", "1e9", "-1", "٣", text).

    A number too long to be in any range (LONGEST digits or more) comes back as 10**19, no larger than it is:
    callers compare it with their own limits.
    """
    if not (raw.isascii() and raw.isdigit()):
        return None
    digits = raw.lstrip("0") or "0"
    return int(digits) if len(digits) < LONGEST else 10 ** (LONGEST - 1)


class NonNegativeIntegerField(StringField):
    """A whole number 0 … 2³¹−1 written in plain ASCII digits: "1.5", "1e9", "NaN", "-1", "٣" and text fail."""

    def process_formdata(self, valuelist):
        self.data = None
        self.raw = valuelist[0].strip() if valuelist else ""
        number = whole_number(self.raw)
        if number is not None and number <= MAX_INT:
            self.data = number

    least = 0  # the smallest number the field takes

    def pre_validate(self, form):
        if self.data is None or self.data < self.least:
            shown = getattr(self, "raw", "")
            if shown:
                raise ValidationError(
                    _(
                        "%(field)s must be a whole number of %(least)s or more, not %(value)r.",
                        field=self.label.text,
                        least=self.least,
                        value=shown[:20],
                    )
                )
            raise ValidationError(
                _("%(field)s must be a whole number of %(least)s or more.", field=self.label.text, least=self.least)
            )


def next_path(field: Field) -> str | None:
    """The form's `next` when it is a path on this site, else None."""
    return safe_next(field.data)


# What an id in a URL path names, for parse_id's message.
ID_OF = {"task": _l("task"), "work order": _l("work order"), "user": _l("user")}


def parse_id(raw: str, what: str = "task") -> int:
    """An id from a URL path; anything but a plain whole number is a 400 (BadInput), not a 404."""
    number = whole_number(raw)
    if number is None or number > MAX_INT:
        raise BadInput(_("A %(what)s id is a whole number, not %(value)r.", what=ID_OF.get(what, what), value=raw[:20]))
    return number
