"""What can go wrong in administration."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workorders.errors import NotFound
from workorders.tasks.errors import NotAllowed


class AdminsOnly(NotAllowed):
    """Users, departments and processes are managed by admins alone."""

    suggestion = _l("Ask an admin to do this.")
    action_text = _l("Back to board")


class UserNotFound(NotFound):
    def __init__(self, user_id: int):
        super().__init__(_("There is no user %(id)s.", id=user_id))
