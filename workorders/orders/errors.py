"""What can go wrong when someone creates, imports or cancels a work order."""

from __future__ import annotations

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workorders.errors import BadInput, NotFound
from workorders.tasks.errors import NotAllowed

MAX_LISTED_PROBLEMS = 20


class SupervisorsOnly(NotAllowed):
    """Only supervisors and admins create, import and cancel work orders or see the workload."""

    suggestion = _l("Ask a supervisor to do this.")
    action_text = _l("Back to board")


# The fields as the forms label them (an import names its columns as the file does).
LABELS = {
    "number": _l("Number"),
    "customer": _l("Customer"),
    "product": _l("Product"),
    "quantity": _l("Quantity"),
    "due_date": _l("Due date"),
    "priority": _l("Priority"),
    "route": _l("Route"),
    "add_process": _l("Process to add"),
    "reason": _l("Reason"),
    "row": _l("Row"),
}


class InvalidField(BadInput):
    """One field is wrong: `field` names it (a form shows the message beside it, an import names the column).

    The message reads "Due date must be …": the field's label, then `problem` (translated, as the label is).
    """

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        label = LABELS.get(field) or field.replace("_", " ").capitalize()
        super().__init__(_("%(field)s %(problem)s", field=label, problem=problem))


class OrderNotFound(NotFound):
    def __init__(self, order_id: int):
        super().__init__(_("There is no work order %(id)s.", id=order_id))


class ImportRejected(BadInput):
    """A CSV file with at least one bad row: nothing of it was imported. `problems` are (line, reason) pairs."""

    suggestion = _l("Correct the lines listed and import the whole file again.")

    def __init__(self, problems: list[tuple[int, str]], total: int | None = None):
        self.problems = problems[:MAX_LISTED_PROBLEMS]
        self.total = total if total is not None else len(problems)
        lines = [_("line %(line)s: %(reason)s", line=line, reason=reason) for line, reason in self.problems]
        if self.total > len(self.problems):
            lines.append(_("… and %(count)s more.", count=format_decimal(self.total - len(self.problems))))
        head = ngettext(
            "Nothing was imported: the file has %(count)s problem.",
            "Nothing was imported: the file has %(count)s problems.",
            self.total,
            count=format_decimal(self.total),
        )
        super().__init__(head + "\n" + "\n".join(lines))
