"""People who use the board: their role, departments, login and API token."""

from __future__ import annotations

import enum
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workorders.extensions import db

if TYPE_CHECKING:
    from workorders.departments.models import Department


class Role(enum.StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


user_departments = Table(
    "user_departments",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class Permissions(UserMixin):
    """What a user may do, by role and departments: for the User model and for the request's UserSnapshot alike.

    A subclass has `id`, `role`, `active` and `session_version`, and says which departments it belongs to.
    """

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        """Supervisors and admins: may assign, reassign and manage work orders."""
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    def department_ids(self) -> AbstractSet[int]:
        raise NotImplementedError

    def belongs_to(self, department_id: int) -> bool:
        """Whether the user works in the department (an admin works in all of them)."""
        return self.is_admin or department_id in self.department_ids()

    def supervises(self, department_id: int) -> bool:
        """Whether the user may assign and reassign the department's tasks."""
        return self.is_admin or (self.role == Role.SUPERVISOR and department_id in self.department_ids())


class User(Permissions, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('operator', 'supervisor', 'admin')", name="role"),
        CheckConstraint("length(username) > 0", name="username_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=Role.OPERATOR)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Bumped when a password is reset, so cookies issued before it stop working.
    session_version: Mapped[int] = mapped_column(default=1)
    # The language the user chose (workorders/i18n.py LANGUAGES); None until they choose: the browser's then.
    language: Mapped[str | None] = mapped_column(String(8))

    departments: Mapped[list[Department]] = relationship(
        secondary=user_departments, back_populates="members", order_by="Department.code"
    )

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"

    def department_ids(self) -> set[int]:
        return {department.id for department in self.departments}
