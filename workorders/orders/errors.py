"""What can go wrong when someone creates, imports or cancels a work order."""

from __future__ import annotations

from workorders.errors import BadInput, NotFound
from workorders.tasks.errors import NotAllowed

MAX_LISTED_PROBLEMS = 20


class SupervisorsOnly(NotAllowed):
    """Only supervisors and admins create, import and cancel work orders or see the workload."""

    suggestion = "Ask a supervisor to do this."
    action_text = "Back to board"


LABELS = {"due_date": "Due date", "add_process": "Process to add"}


class InvalidField(BadInput):
    """One field is wrong: `field` names it (a form shows the message beside it, an import names the column).

    The message reads "Due date must be …": the field's label, then `problem`.
    """

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{LABELS.get(field, field.replace('_', ' ').capitalize())} {problem}")


class OrderNotFound(NotFound):
    def __init__(self, order_id: int):
        super().__init__(f"There is no work order {order_id}.")


class ImportRejected(BadInput):
    """A CSV file with at least one bad row: nothing of it was imported. `problems` are (line, reason) pairs."""

    suggestion = "Correct the lines listed and import the whole file again."

    def __init__(self, problems: list[tuple[int, str]], total: int | None = None):
        self.problems = problems[:MAX_LISTED_PROBLEMS]
        self.total = total if total is not None else len(problems)
        lines = [f"line {line}: {reason}" for line, reason in self.problems]
        if self.total > len(self.problems):
            lines.append(f"… and {self.total - len(self.problems)} more.")
        plural = "problem" if self.total == 1 else "problems"
        super().__init__(f"Nothing was imported: the file has {self.total} {plural}.\n" + "\n".join(lines))
