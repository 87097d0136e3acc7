"""Checking who someone is."""

from sqlalchemy import select

from workorders.auth import throttle
from workorders.extensions import db
from workorders.transactions import transaction
from workorders.users.models import User
from workorders.users.passwords import dummy_verify, verify_password


def authenticate(username: str, password: str, address: str | None) -> User | None:
    """The active user with this username and password, or None (the caller cannot tell which part was wrong).

    Every attempt is counted against the username and the client `address` before the password is checked (see
    throttle.py). Raises TooManyAttempts (429) while either has no attempt left — for existing and unknown
    usernames alike, right password or not — and Unavailable (503) when the database fails. A success forgets
    the username's failures.
    """
    username = username.strip()
    limits = throttle.Limits.from_config()
    throttle.take_attempt(username, address, limits)
    user = _user_named(username)
    if user is None or not user.password_hash:
        dummy_verify(password)  # the same argon2 work as a real check, so timing does not tell who exists
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    throttle.forgive(username, address, limits)
    return user


def _user_named(username: str) -> User | None:
    # Its own short transaction: none stays open during the slow password check, and a failure is a 503.
    with transaction("login: find user"):
        return db.session.scalar(select(User).where(User.username == username))
