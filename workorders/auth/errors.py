"""What can go wrong when logging in, as domain errors (mapped to HTTP in workorders/errors.py)."""

import math

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from workorders.errors import DomainError, Unauthorized


class WrongCredentials(Unauthorized):
    """The username, the password or both were wrong, or the account is switched off: deliberately not said which."""

    suggestion = _l("Check the username and the password (is Caps Lock on?) and try again.")
    action_text = _l("Try again")

    def __init__(self):
        super().__init__(_("Wrong username or password, or the account is switched off."))


class TooManyAttempts(DomainError):
    """Too many failed log-ins for one username or from one address: no password is checked until a slot is free.

    The same text whichever key ran out and whether or not the username exists, so it tells an attacker nothing.
    """

    status = 429
    code = "too_many_attempts"
    can_retry = True
    action_text = _l("Try again later")

    def __init__(self, retry_after: int):
        super().__init__(_("Too many failed log-in attempts for this username or from this device."))
        self.retry_after = max(1, retry_after)
        self.suggestion = ngettext(
            "Wait %(num)d minute, then try again; a supervisor can help if the password is forgotten.",
            "Wait %(num)d minutes, then try again; a supervisor can help if the password is forgotten.",
            math.ceil(self.retry_after / 60),
        )
