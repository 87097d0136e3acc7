"""What can go wrong when someone acts on a task."""

from workorders.errors import DomainError, NotFound


class TaskConflict(DomainError):
    """The task changed after the version the user saw, and the action no longer applies."""

    status = 409
    code = "task_conflict"
    can_retry = True
    suggestion = "Refresh to see the task as it is now."
    action_text = "Refresh"


class NotAllowed(DomainError):
    """The user's role or department forbids this, whatever the task's state."""

    status = 403
    code = "permission_denied"
    suggestion = "Ask a supervisor of the department if this task should be yours."
    action_text = "Refresh"


class RuleBroken(DomainError):
    """Not allowed in the state the user saw: wrong order of steps, over the cap, a bad quantity."""

    status = 400
    code = "business_rule"
    suggestion = "Refresh the task, then choose an action it offers."
    action_text = "Refresh"


class TaskNotFound(NotFound):
    def __init__(self, task_id: int):
        super().__init__(f"There is no task {task_id}.", task_id=task_id)
