"""What can go wrong in administration."""

from workorders.errors import NotFound
from workorders.tasks.errors import NotAllowed


class AdminsOnly(NotAllowed):
    """Users, departments and processes are managed by admins alone."""

    suggestion = "Ask an admin to do this."
    action_text = "Back to board"


class UserNotFound(NotFound):
    def __init__(self, user_id: int):
        super().__init__(f"There is no user {user_id}.")
