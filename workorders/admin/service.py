"""Managing people, departments and processes: admins only, each change one short transaction.

A user's row is locked while it changes; users come last in the lock order of workorders/tasks/service.py
(tasks → work orders → users), and nothing here locks anything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from workorders.admin.errors import AdminsOnly, UserNotFound
from workorders.admin.queries import held_tasks
from workorders.departments import service as departments_service
from workorders.departments.models import Department, Process
from workorders.errors import BadInput
from workorders.extensions import db
from workorders.transactions import transaction
from workorders.users import service as users_service
from workorders.users.models import Role, User
from workorders.users.passwords import hash_password


@dataclass(frozen=True)
class Changed:
    """What a change did, in words for the flash message; `changed` is False when nothing needed to change."""

    user_id: int
    changed: bool
    message: str


def require_admin(actor: User) -> None:
    """Raise AdminsOnly unless `actor` is an admin."""
    if not actor.is_admin:
        raise AdminsOnly(_("Only admins may manage users, departments and processes."))


def create_user(
    actor: User, username: str, display_name: str, role: str, department_codes: list[str], password: str
) -> User:
    """Add a user who can log in with `password`. Raises AdminsOnly, BadInput (naming what is wrong)."""
    require_admin(actor)
    if not password:
        raise BadInput(_("A password is needed: the new user logs in with it."))
    return users_service.create_user(username, role, department_codes, password, display_name or None)


def update_user(actor: User, user_id: int, display_name: str, role: str, department_codes: list[str]) -> Changed:
    """Change a user's name, role and departments. Raises AdminsOnly, UserNotFound, BadInput.

    Tasks the user holds stay theirs, even in a department they leave: a supervisor reassigns them.
    """
    require_admin(actor)
    if role not in set(Role):
        raise BadInput(_("Role must be one of %(values)s, not %(value)r.", values=", ".join(Role), value=role))
    departments = [departments_service.department_by_code(code) for code in department_codes]
    if role != Role.ADMIN and not departments:
        raise BadInput(_("Operators and supervisors need at least one department."))
    with _locked_user(user_id) as user:
        if user.id == actor.id and role != Role.ADMIN:
            raise BadInput(_("You cannot take away your own admin role; ask another admin to."))
        user.display_name = (display_name or "").strip() or user.username
        user.role = role
        user.departments = departments
        return Changed(
            user.id, True, _("Saved %(name)s (%(username)s).", name=user.display_name, username=user.username)
        )


def set_active(actor: User, user_id: int, active: bool) -> Changed:
    """Switch a user on or off. Switching off ends their sessions at once; their tasks stay theirs (and show as
    held by an inactive user) until a supervisor reassigns them. Raises AdminsOnly, UserNotFound, BadInput."""
    require_admin(actor)
    with _locked_user(user_id) as user:
        who = {"name": user.display_name, "username": user.username}
        if user.active == active:
            if active:
                return Changed(user.id, False, _("%(name)s (%(username)s) is active already.", **who))
            return Changed(user.id, False, _("%(name)s (%(username)s) is deactivated already.", **who))
        if user.id == actor.id:
            raise BadInput(_("You cannot deactivate yourself; ask another admin to."))
        user.active = active
        if active:
            return Changed(user.id, True, _("%(name)s (%(username)s) can log in again.", **who))
        user.session_version += 1  # a cookie from before must not come back to life on reactivation
        held = held_tasks(user.id)
        message = _("%(name)s (%(username)s) is deactivated.", **who)
        if held:
            still = ngettext(
                "They still hold %(num)d unfinished task: reassign it on the board.",
                "They still hold %(num)d unfinished tasks: reassign them on the board.",
                held,
            )
            message = f"{message} {still}"
        return Changed(user.id, True, message)


def reset_password(actor: User, user_id: int, password: str) -> Changed:
    """Give a user a new password; every session they had ends. Raises AdminsOnly, UserNotFound, BadInput."""
    require_admin(actor)
    if len(password or "") < users_service.MIN_PASSWORD_LENGTH:
        raise BadInput(_("A password needs at least %(least)s characters.", least=users_service.MIN_PASSWORD_LENGTH))
    password_hash = hash_password(password)
    with _locked_user(user_id) as user:
        user.password_hash = password_hash
        user.session_version += 1
        message = _("New password set for %(name)s (%(username)s).", name=user.display_name, username=user.username)
        return Changed(user.id, True, message)


def create_department(actor: User, code: str, name: str) -> Department:
    """Add a department. Raises AdminsOnly, BadInput for a bad or taken code or a bad name."""
    require_admin(actor)
    return departments_service.create_department(code, name)


def create_process(actor: User, code: str, name: str, department_code: str, parallel: bool) -> Process:
    """Add a process step done by a department. Raises AdminsOnly, BadInput."""
    require_admin(actor)
    return departments_service.create_process(code, name, department_code, parallel)


@contextmanager
def _locked_user(user_id: int) -> Iterator[User]:
    """Lock the user's row for one transaction (see `workorders.transactions.transaction`)."""
    with transaction(f"user {user_id}"):
        user = db.session.scalar(
            select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
        )
        if user is None:
            raise UserNotFound(user_id)
        yield user
