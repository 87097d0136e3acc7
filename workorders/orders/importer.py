"""Reading work orders from CSV text: every row and cell checked before anything is written.

The file is UTF-8 (a byte-order mark is fine) with the header ``number,customer,product,quantity,due_date,
priority,route`` (any order); the header is line 1. ``route`` is process codes joined by ``>``; a blank
``number`` gets the next free number of this year, a blank ``priority`` means normal.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass
from datetime import date

from flask_babel import format_decimal
from flask_babel import gettext as _

from workorders.forms import whole_number
from workorders.orders.errors import ImportRejected, InvalidField
from workorders.orders.models import OrderDraft, Priority, check_draft, is_number

COLUMNS = ("number", "customer", "product", "quantity", "due_date", "priority", "route")
MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class ImportRow:
    """One work order of the file and the line it starts on."""

    line: int
    draft: OrderDraft


def parse_quantity(raw: str) -> int:
    """A whole number of 1 or more in plain ASCII digits."""
    raw = raw.strip()
    quantity = whole_number(raw)
    if quantity is None or quantity < 1:
        raise InvalidField("quantity", _("must be a whole number of 1 or more, not %(value)r.", value=raw[:20]))
    return quantity


def parse_due_date(raw: str) -> date:
    """A real calendar date written YYYY-MM-DD."""
    raw = raw.strip()
    if ISO_DATE.match(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise InvalidField("due_date", _("must be a real date written YYYY-MM-DD, not %(value)r.", value=raw[:20]))


def parse_priority(raw: str) -> str:
    """low, normal, high or urgent, in any case; blank means normal."""
    value = raw.strip().lower() or Priority.NORMAL
    if value not in set(Priority):
        raise InvalidField(
            "priority", _("must be one of %(values)s, not %(value)r.", values=", ".join(Priority), value=raw[:20])
        )
    return value


def parse_route(raw: str) -> list[str]:
    """Process codes joined by '>' ("PLATES > OFFSET > DIECUT"), upper-cased."""
    codes = [code.strip().upper() for code in raw.split(">")]
    if "" in codes:
        raise InvalidField(
            "route", _("must be process codes joined by '>' such as PLATES>OFFSET, not %(value)r.", value=raw[:40])
        )
    return codes


def parse_number(raw: str) -> str | None:
    """A work order number (WO-YYYY-NNNN), or None when blank."""
    number = raw.strip().upper()
    if number and not is_number(number):
        raise InvalidField("number", _("must look like WO-2026-0042 or be left blank, not %(value)r.", value=raw[:20]))
    return number or None


def read_rows(data: bytes, process_codes: Container[str]) -> list[ImportRow]:
    """Every row of the file as a draft. Raises ImportRejected listing each bad line with its reason."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    rows: list[ImportRow] = []
    problems: list[tuple[int, str]] = []
    first_seen: dict[str, int] = {}
    try:
        columns = _columns(next(reader, None))
        for line, record in _records(reader):
            if len(rows) + len(problems) >= MAX_ROWS:
                problems.append(
                    (
                        line,
                        _(
                            "the file has more than %(most)s rows; split it into smaller files.",
                            most=format_decimal(MAX_ROWS),
                        ),
                    )
                )
                break
            try:
                row = ImportRow(line, _draft(record, columns, process_codes))
            except InvalidField as error:
                problems.append((line, f"{error.field} {error.problem}"))
                continue
            number = row.draft.number
            if number in first_seen:
                problems.append(
                    (
                        line,
                        _(
                            "number %(number)s appears twice (first on line %(line)s).",
                            number=number,
                            line=first_seen[number],
                        ),
                    )
                )
            elif number:
                first_seen[number] = line
            rows.append(row)
    except csv.Error as error:
        problems.append((reader.line_num, _("is not valid CSV (%(error)s).", error=error)))
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise ImportRejected([(2, _("there are no work orders under the header."))])
    return rows


def _decode(data: bytes) -> str:
    if not data.strip():
        raise ImportRejected(
            [(1, _("the file is empty; it needs the header line: %(columns)s", columns=",".join(COLUMNS)))]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRejected([(line, _("is not UTF-8 text; save the file as CSV UTF-8."))]) from None


def _columns(header: list[str] | None) -> dict[str, int]:
    """Where each column is; raises ImportRejected (line 1) for missing, unknown or repeated columns."""
    names = [name.strip().lower() for name in header or []]
    missing = [name for name in COLUMNS if name not in names]
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if missing or unknown or repeated:
        found = {_("missing"): missing, _("unknown"): unknown, _("repeated"): repeated}
        parts = "; ".join(f"{label}: {', '.join(values)}" for label, values in found.items() if values)
        problem = _("the header must name the columns %(columns)s (%(found)s).", columns=",".join(COLUMNS), found=parts)
        raise ImportRejected([(1, problem)])
    return {name: names.index(name) for name in COLUMNS}


def _records(reader) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank record with the line it starts on (a quoted cell may span lines)."""
    start = reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record):
            yield start, record
        start = reader.line_num + 1


def _draft(record: list[str], columns: dict[str, int], process_codes: Container[str]) -> OrderDraft:
    if len(record) != len(columns):
        raise InvalidField(
            "row", _("has %(count)s cells; the header has %(columns)s.", count=len(record), columns=len(columns))
        )
    cell = {name: record[index] for name, index in columns.items()}
    draft = OrderDraft(
        number=parse_number(cell["number"]),
        customer=cell["customer"].strip(),
        product=cell["product"].strip(),
        quantity=parse_quantity(cell["quantity"]),
        due_date=parse_due_date(cell["due_date"]),
        priority=parse_priority(cell["priority"]),
        route=parse_route(cell["route"]),
    )
    check_draft(draft)
    unknown = [code for code in draft.route if code not in process_codes]
    if unknown:
        raise InvalidField("route", _("names unknown processes: %(codes)s.", codes=", ".join(unknown)))
    return draft
