"""What can go wrong when logging in, as domain errors (mapped to HTTP in workorders/errors.py)."""

import math

from workorders.errors import DomainError, Unauthorized


class WrongCredentials(Unauthorized):
    """The username, the password or both were wrong, or the account is switched off: deliberately not said which."""

    suggestion = "Check the username and the password (is Caps Lock on?) and try again."
    action_text = "Try again"

    def __init__(self):
        super().__init__("Wrong username or password, or the account is switched off.")


class TooManyAttempts(DomainError):
    """Too many failed log-ins for one username or from one address: no password is checked until a slot is free.

    The same text whichever key ran out and whether or not the username exists, so it tells an attacker nothing.
    """

    status = 429
    code = "too_many_attempts"
    can_retry = True
    action_text = "Try again later"

    def __init__(self, retry_after: int):
        super().__init__("Too many failed log-in attempts for this username or from this device.")
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
        self.suggestion = f"Wait {wait}, then try again; a supervisor can help if the password is forgotten."
