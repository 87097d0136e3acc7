"""A customer's work order: what to make, how many, by when."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workorders.extensions import db
from workorders.forms import MAX_INT
from workorders.orders.errors import InvalidField

if TYPE_CHECKING:
    from workorders.tasks.models import Task
    from workorders.users.models import User


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


# Board order: urgent first.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


# WO-YYYY-NNNN: four digits up to the year's 9,999th order, then as many as the column holds (16 characters).
NUMBER_LENGTH = 16
_SERIAL_DIGITS = NUMBER_LENGTH - len("WO-2026-")
NUMBER_PATTERN = re.compile(rf"^WO-(\d{{4}})-(\d{{4}}|[1-9]\d{{4,{_SERIAL_DIGITS - 1}}})$")
MAX_SERIAL = 10**_SERIAL_DIGITS - 1
SEARCHED = ("number", "product", "customer")


class WorkOrder(db.Model):
    __tablename__ = "work_orders"
    __table_args__ = (
        CheckConstraint("number LIKE 'WO-____-____%'", name="number_format"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status"),
        # Search by any part of the number ("0042"), product or customer: trigrams (pg_trgm, made by migration
        # 0003, which names the operator class with its schema). SQLite has no such index and searches with a plain
        # LIKE; an empty partial index of the same name (WHERE 0: it holds no row and costs no write) keeps the two
        # schemas alike.
        Index(
            "ix_work_orders_search",
            *SEARCHED,
            postgresql_using="gin",
            postgresql_ops=dict.fromkeys(SEARCHED, "gin_trgm_ops"),
            sqlite_where=text("0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(NUMBER_LENGTH), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    due_date: Mapped[date] = mapped_column(Date, index=True)
    priority: Mapped[str] = mapped_column(String(8), default=Priority.NORMAL)
    status: Mapped[str] = mapped_column(String(12), default=OrderStatus.OPEN, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    created_by: Mapped[User | None] = relationship()
    tasks: Mapped[list[Task]] = relationship(back_populates="work_order", order_by="Task.sequence")

    def __repr__(self) -> str:
        return f"<WorkOrder {self.number}>"


MAX_ROUTE_STEPS = 20
MAX_TEXT = 200
MAX_REASON = 500
EARLIEST_DUE, LATEST_DUE = date(2000, 1, 1), date(2099, 12, 31)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class OrderDraft:
    """A work order still to be made: its route is process codes in order; `number` None means "allocate one"."""

    customer: str
    product: str
    quantity: int
    due_date: date
    priority: str
    route: list[str]
    number: str | None = None


def check_draft(draft: OrderDraft) -> None:
    """Raise InvalidField for the first field of `draft` that breaks a rule (process codes are not looked up)."""
    for field in ("customer", "product"):
        check_text(field, getattr(draft, field), MAX_TEXT, required=True)
    if not 1 <= draft.quantity <= MAX_INT:
        raise InvalidField("quantity", _("must be a whole number from 1 to %(most)s.", most=format_decimal(MAX_INT)))
    if not EARLIEST_DUE <= draft.due_date <= LATEST_DUE:
        raise InvalidField(
            "due_date", _("must be between %(first)s and %(last)s.", first=EARLIEST_DUE, last=LATEST_DUE)
        )
    if draft.priority not in set(Priority):
        raise InvalidField("priority", _("must be one of %(values)s.", values=", ".join(Priority)))
    if not 1 <= len(draft.route) <= MAX_ROUTE_STEPS:
        raise InvalidField("route", _("needs 1 to %(most)s steps.", most=MAX_ROUTE_STEPS))
    if draft.number is not None and not is_number(draft.number):
        raise InvalidField("number", _("must look like WO-2026-0042: WO, a year and 0001 to 9999, then 10000 and on."))


def check_text(field: str, value: str | None, max_length: int, required: bool) -> None:
    """Raise InvalidField unless `value` is short enough, on one line, and (if required) not blank."""
    value = value or ""
    if required and not value.strip():
        raise InvalidField(field, _("is required."))
    if len(value) > max_length:
        raise InvalidField(
            field,
            _("may be at most %(most)s characters, not %(count)s.", most=max_length, count=format_decimal(len(value))),
        )
    if _CONTROL.search(value):
        raise InvalidField(field, _("may not contain control characters such as tabs or line breaks."))


def is_number(number: str) -> bool:
    """Whether `number` is a well-formed work order number: WO-YYYY-NNNN from 0001, past 9999 without leading
    zeros (WO-2026-10000), so that each order of a year has exactly one way of being written."""
    match = NUMBER_PATTERN.match(number)
    return match is not None and int(match.group(2)) >= 1


def format_number(year: int, serial: int) -> str:
    """The number of a year's `serial`-th work order: WO-2026-0042, WO-2026-10000."""
    return f"WO-{year}-{serial:04d}"


def number_order() -> tuple:
    """ORDER BY terms that sort numbers as numbers: by year, then the longer serial last (…-9999 before …-10000)."""
    return func.substr(WorkOrder.number, 1, 8), func.length(WorkOrder.number), WorkOrder.number
