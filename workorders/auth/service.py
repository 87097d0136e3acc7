"""Checking who someone is."""

from sqlalchemy import select

from workorders.extensions import db
from workorders.users.models import User
from workorders.users.passwords import dummy_verify, verify_password


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None (the caller cannot tell which part was wrong)."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        dummy_verify(password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user
