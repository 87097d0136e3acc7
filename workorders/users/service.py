"""Creating users and issuing their API tokens."""

import re

from flask_babel import gettext as _
from sqlalchemy import select, update

from workorders.departments.service import department_by_code
from workorders.errors import BadInput
from workorders.extensions import db
from workorders.i18n import LANGUAGES
from workorders.transactions import transaction
from workorders.users.models import Role, User
from workorders.users.passwords import hash_password, new_api_token

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD_LENGTH = 8


def create_user(
    username: str,
    role: str,
    department_codes: list[str] | tuple[str, ...] = (),
    password: str | None = None,
    display_name: str | None = None,
) -> User:
    """Add a user. Raises BadInput for a bad or taken username, unknown role or department, or short password."""
    username = (username or "").strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise BadInput(_("A username is 1–64 lower-case letters, digits, '.', '-' or '_'."))
    if role not in set(Role):
        raise BadInput(_("Role must be one of %(values)s, not %(value)r.", values=", ".join(Role), value=role))
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(_("A password needs at least %(least)s characters.", least=MIN_PASSWORD_LENGTH))
    departments = [department_by_code(code) for code in department_codes]
    if role != Role.ADMIN and not departments:
        raise BadInput(_("Operators and supervisors need at least one department."))
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise BadInput(_("User %(username)s exists already.", username=username))
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:120],
        role=role,
        departments=departments,
        password_hash=hash_password(password) if password else None,
    )
    db.session.add(user)
    db.session.commit()
    return user


def user_by_username(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        raise BadInput(_("There is no user %(username)r.", username=username))
    return user


def issue_api_token(username: str) -> str:
    """Give the user a new API token (the old one stops working) and return it; only its hash is kept."""
    user = user_by_username(username)
    token, token_hash = new_api_token()
    user.api_token_hash = token_hash
    db.session.commit()
    return token


def set_language(user_id: int, language: str) -> None:
    """Keep the language the user chose for every page and API answer. Raises BadInput for one not offered."""
    if language not in LANGUAGES:
        raise BadInput(
            _("Choose one of the languages offered: %(languages)s.", languages=", ".join(LANGUAGES.values()))
        )
    with transaction("set language"):
        db.session.execute(update(User).where(User.id == user_id).values(language=language))
