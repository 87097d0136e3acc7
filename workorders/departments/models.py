"""Departments of the shop and the process steps each one performs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workorders.extensions import db

if TYPE_CHECKING:
    from workorders.users.models import User


class Department(db.Model):
    __tablename__ = "departments"
    __table_args__ = (CheckConstraint("length(code) > 0", name="code_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    members: Mapped[list[User]] = relationship(
        secondary="user_departments", back_populates="departments", order_by="User.display_name"
    )
    processes: Mapped[list[Process]] = relationship(back_populates="department", order_by="Process.code")

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class Process(db.Model):
    """One kind of step in a route, e.g. printing; `parallel` steps do not hold up the next one."""

    __tablename__ = "processes"
    __table_args__ = (CheckConstraint("length(code) > 0", name="code_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    parallel: Mapped[bool] = mapped_column(Boolean, default=False)

    department: Mapped[Department] = relationship(back_populates="processes")

    def __repr__(self) -> str:
        return f"<Process {self.code}>"
