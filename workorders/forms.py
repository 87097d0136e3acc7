"""Form fields shared by every feature."""

from wtforms import Field, StringField
from wtforms.validators import ValidationError

from workorders.errors import BadInput
from workorders.urls import safe_next

MAX_INT = 2**31 - 1  # the database's integer column


class NonNegativeIntegerField(StringField):
    """A whole number 0 … 2³¹−1 written in plain ASCII digits: "1.5", "1e9", "NaN", "-1", "٣" and text fail."""

    def process_formdata(self, valuelist):
        self.data = None
        self.raw = valuelist[0].strip() if valuelist else ""
        if self.raw.isascii() and self.raw.isdigit() and int(self.raw) <= MAX_INT:
            self.data = int(self.raw)

    def pre_validate(self, form):
        if self.data is None:
            shown = getattr(self, "raw", "")
            got = f", not {shown[:20]!r}" if shown else ""
            raise ValidationError(f"{self.label.text} must be a whole number of 0 or more{got}.")


def next_path(field: Field) -> str | None:
    """The form's `next` when it is a path on this site, else None."""
    return safe_next(field.data)


def parse_id(raw: str, what: str = "task") -> int:
    """An id from a URL path; anything but a plain whole number is a 400 (BadInput), not a 404."""
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_INT:
        raise BadInput(f"A {what} id is a whole number, not {raw[:20]!r}.")
    return int(raw)
