"""What can go wrong when someone acts on a task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workorders.errors import DomainError, NotFound
from workorders.tasks.labels import status_label

if TYPE_CHECKING:
    from workorders.tasks.snapshots import Member, TaskSnapshot


class TaskError(DomainError):
    """A refused action, carrying the task as it was read under its lock (the first look, or the transaction).

    `choices` are the people a supervisor could assign it to, so the fresh row renders without a query.
    """

    def __init__(
        self,
        detail: str,
        *,
        task: TaskSnapshot | None = None,
        task_id: int | None = None,
        current_owner: str | None = None,
    ):
        super().__init__(detail, task_id=task.id if task is not None else task_id, current_owner=current_owner)
        self.task = task
        self.choices: tuple[Member, ...] = ()


class TaskConflict(TaskError):
    """The task changed after the version the user saw, and the action no longer applies."""

    status = 409
    code = "task_conflict"
    can_retry = True
    suggestion = _l("Refresh to see the task as it is now.")
    action_text = _l("Refresh")

    @classmethod
    def naming_holder(cls, task: TaskSnapshot) -> TaskConflict:
        """The conflict as the loser reads it: who has the task now, or that nobody does."""
        owner = task.assignee
        if owner is not None:
            detail = _(
                "%(name)s (%(username)s) has %(task)s now.",
                name=owner.display_name,
                username=owner.username,
                task=task.label,
            )
        else:
            state = status_label(task.status).lower()
            detail = _(
                "%(task)s changed since you saw it: it is %(status)s and nobody holds it.",
                task=task.label,
                status=state,
            )
        return cls(detail, task=task, current_owner=owner.username if owner else None)


class NotAllowed(TaskError):
    """The user's role or department forbids this, whatever the task's state."""

    status = 403
    code = "permission_denied"
    suggestion = _l("Ask a supervisor of the department if this task should be yours.")
    action_text = _l("Refresh")


class RuleBroken(TaskError):
    """Not allowed in the state the user saw: wrong order of steps, over the cap, a bad quantity."""

    status = 400
    code = "business_rule"
    suggestion = _l("Refresh the task, then choose an action it offers.")
    action_text = _l("Refresh")


class TaskNotFound(NotFound):
    def __init__(self, task_id: int):
        super().__init__(_("There is no task %(id)s.", id=task_id), task_id=task_id)
