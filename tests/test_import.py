"""CSV import (SPEC "Command line"): every row checked; one bad row rejects the file with its line and reason."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.helpers import Browser
from workorders.extensions import db
from workorders.orders import service
from workorders.orders.errors import ImportRejected
from workorders.orders.importer import MAX_ROWS
from workorders.orders.models import WorkOrder
from workorders.tasks.models import Task

HEADER = "number,customer,product,quantity,due_date,priority,route"
YEAR = date.today().year


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def rejected(data: bytes) -> list[tuple[int, str]]:
    with pytest.raises(ImportRejected) as caught:
        service.import_csv(None, data)
    assert count(WorkOrder) == count(Task) == 0
    return caught.value.problems


def test_imports_every_row_with_its_route(app, shop):
    data = csv_file(
        'WO-2026-0101,Northwind Foods,"folding boxes, 4/0",5000,2026-12-18,high,OFFSET>DIECUT',
        "WO-2026-0102,Alpine Dairy,labels,20000,2026-12-20,,offset",
    )
    outcome = service.import_csv(None, data)
    assert (outcome.orders, outcome.tasks) == (2, 3)
    first, second = db.session.scalars(select(WorkOrder).order_by(WorkOrder.number))
    assert (first.number, first.product, first.quantity, first.priority) == (
        "WO-2026-0101",
        "folding boxes, 4/0",
        5000,
        "high",
    )
    assert [(t.sequence, t.process.code, t.department.code, t.planned_qty, t.version) for t in first.tasks] == [
        (1, "OFFSET", "PRINT", 5000, 1),
        (2, "DIECUT", "CUT", 5000, 1),
    ]
    assert (second.priority, second.due_date, second.created_by_id) == ("normal", date(2026, 12, 20), None)


def test_blank_numbers_get_the_next_free_numbers_of_this_year(app, shop, make_work_order):
    make_work_order(number=f"WO-{YEAR}-0005")
    data = csv_file(
        "WO-2031-0001,A,boxes,10,2031-01-10,low,OFFSET",
        ",B,boxes,10,2031-01-10,low,OFFSET",
        f"WO-{YEAR}-0009,C,boxes,10,2031-01-10,low,OFFSET",
        ",D,boxes,10,2031-01-10,low,OFFSET",
    )
    service.import_csv(None, data)
    numbers = dict(db.session.execute(select(WorkOrder.customer, WorkOrder.number)).tuples().all())
    assert (numbers["B"], numbers["D"]) == (f"WO-{YEAR}-0010", f"WO-{YEAR}-0011")


def test_header_columns_may_come_in_any_order_with_a_bom_and_crlf(app, shop):
    data = "\ufeffRoute , Customer,number,product,QUANTITY,due_date,priority\r\nOFFSET,A,,boxes,1,2030-01-01,urgent\r\n"
    assert service.import_csv(None, data.encode()).orders == 1


def test_blank_lines_are_skipped_and_do_not_shift_line_numbers(app, shop):
    data = csv_file(",A,boxes,1,2030-01-01,,OFFSET", "", ",B,boxes,one,2030-01-01,,OFFSET")
    assert rejected(data) == [(4, "quantity must be a whole number of 1 or more, not 'one'.")]


BAD_ROWS = [
    ("WO-26-1,A,boxes,1,2030-01-01,,OFFSET", "number must look like WO-2026-0042 or be left blank, not 'WO-26-1'."),
    ("WO-2026-0000,A,boxes,1,2030-01-01,,OFFSET", "number must look like WO-2026-0042"),
    (",,boxes,1,2030-01-01,,OFFSET", "customer is required."),
    (",   ,boxes,1,2030-01-01,,OFFSET", "customer is required."),
    (",A,,1,2030-01-01,,OFFSET", "product is required."),
    (",A," + "x" * 201 + ",1,2030-01-01,,OFFSET", "product may be at most 200 characters, not 201."),
    (',"A\tB",boxes,1,2030-01-01,,OFFSET', "customer may not contain control characters"),
    (',"A\nB",boxes,1,2030-01-01,,OFFSET', "customer may not contain control characters"),
    (",A,boxes,0,2030-01-01,,OFFSET", "quantity must be a whole number of 1 or more, not '0'."),
    (",A,boxes,-5,2030-01-01,,OFFSET", "quantity must be a whole number of 1 or more, not '-5'."),
    (",A,boxes,1.5,2030-01-01,,OFFSET", "quantity must be a whole number of 1 or more"),
    (",A,boxes,1e3,2030-01-01,,OFFSET", "quantity must be a whole number of 1 or more"),
    (',A,boxes,"5,000",2030-01-01,,OFFSET', "quantity must be a whole number of 1 or more"),
    (",A,boxes,１２,2030-01-01,,OFFSET", "quantity must be a whole number of 1 or more"),
    (",A,boxes,99999999999,2030-01-01,,OFFSET", "quantity must be a whole number from 1 to 2,147,483,647."),
    (",A,boxes,1,2026-02-30,,OFFSET", "due_date must be a real date written YYYY-MM-DD, not '2026-02-30'."),
    (",A,boxes,1,30/01/2030,,OFFSET", "due_date must be a real date written YYYY-MM-DD"),
    (",A,boxes,1,,,OFFSET", "due_date must be a real date written YYYY-MM-DD, not ''."),
    (",A,boxes,1,1999-12-31,,OFFSET", "due_date must be between 2000-01-01 and 2099-12-31."),
    (",A,boxes,1,2030-01-01,asap,OFFSET", "priority must be one of low, normal, high, urgent, not 'asap'."),
    (",A,boxes,1,2030-01-01,,", "route must be process codes joined by '>'"),
    (",A,boxes,1,2030-01-01,,OFFSET>>DIECUT", "route must be process codes joined by '>'"),
    (",A,boxes,1,2030-01-01,,OFFSET>FOIL>EMBOSS", "route names unknown processes: FOIL, EMBOSS."),
    (",A,boxes,1,2030-01-01,," + ">".join(["OFFSET"] * 21), "route needs 1 to 20 steps."),
    (",A,boxes,1,2030-01-01,OFFSET", "row has 6 cells; the header has 7."),
    (",A,boxes,1,2030-01-01,,OFFSET,extra", "row has 8 cells; the header has 7."),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS, ids=[reason[:40] for _, reason in BAD_ROWS])
def test_one_bad_row_rejects_the_whole_file_with_its_line(app, shop, row, reason):
    data = csv_file(",Good Co,boxes,1,2030-01-01,,OFFSET", row, ",Also Good,boxes,1,2030-01-01,,OFFSET")
    [(line, problem)] = rejected(data)
    assert line == 3
    assert problem.startswith(reason)


def test_every_bad_line_is_listed(app, shop):
    data = csv_file(
        ",A,boxes,1,2030-01-01,,OFFSET",
        ",B,boxes,x,2030-01-01,,OFFSET",
        ",C,boxes,1,2030-01-01,,NOPE",
        ",D,boxes,1,2030-01-01,,OFFSET",
    )
    assert [line for line, _ in rejected(data)] == [3, 4]


def test_the_report_lists_twenty_lines_and_counts_the_rest(app, shop):
    data = csv_file(*[f",C{n},boxes,0,2030-01-01,,OFFSET" for n in range(30)])
    with pytest.raises(ImportRejected) as caught:
        service.import_csv(None, data)
    error = caught.value
    assert error.total == 30 and len(error.problems) == 20
    assert error.detail.startswith("Nothing was imported: the file has 30 problems.\nline 2: quantity")
    assert error.detail.endswith("… and 10 more.")


def test_a_quoted_cell_spanning_lines_reports_where_its_row_starts(app, shop):
    data = csv_file(',"Two\nline customer",boxes,1,2030-01-01,,OFFSET', ",B,boxes,0,2030-01-01,,OFFSET")
    problems = rejected(data)
    assert [line for line, _ in problems] == [2, 4]


def test_numbers_repeated_in_the_file_or_taken_already(app, shop, make_work_order):
    make_work_order(number="WO-2026-0500")
    twice = csv_file("WO-2026-0100,A,boxes,1,2030-01-01,,OFFSET", "WO-2026-0100,B,boxes,1,2030-01-01,,OFFSET")
    taken = csv_file(",A,boxes,1,2030-01-01,,OFFSET", "wo-2026-0500,C,boxes,1,2030-01-01,,OFFSET")
    for data, problems in [
        (twice, [(3, "number WO-2026-0100 appears twice (first on line 2).")]),
        (taken, [(3, "number WO-2026-0500 exists already.")]),
    ]:
        with pytest.raises(ImportRejected) as caught:
            service.import_csv(None, data)
        assert caught.value.problems == problems
    assert count(WorkOrder) == 1


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"", 1, "the file is empty"),
        (b"  \n\n", 1, "the file is empty"),
        (HEADER.encode() + b"\n", 2, "there are no work orders under the header."),
        (b"number,customer\n,A\n", 1, "the header must name the columns"),
        (csv_file(header=HEADER + ",colour"), 1, "(unknown: colour)"),
        (csv_file(header=HEADER + ",route"), 1, "(repeated: route)"),
        (csv_file(",A,boxes,1,2030-01-01,,OFFSET").replace(b"A", b"\xff"), 2, "is not UTF-8 text"),
        (csv_file(',"A,boxes,1,2030-01-01,,OFFSET'), 2, "is not valid CSV (unexpected end of data)"),
        (csv_file(",A\x00,boxes,1,2030-01-01,,OFFSET"), 2, "customer may not contain control characters"),
        (csv_file(",A" + "x" * 200_000 + ",boxes,1,2030-01-01,,OFFSET"), 2, "is not valid CSV"),
    ],
)
def test_files_that_are_not_a_table_of_work_orders(app, shop, data, line, reason):
    [(got_line, problem)] = rejected(data)
    assert got_line == line and reason in problem


def test_a_file_over_the_row_limit_is_refused(app, shop, monkeypatch):
    monkeypatch.setattr("workorders.orders.importer.MAX_ROWS", 3)
    data = csv_file(*[f",C{n},boxes,1,2030-01-01,,OFFSET" for n in range(5)])
    assert rejected(data)[-1] == (5, "the file has more than 3 rows; split it into smaller files.")
    assert MAX_ROWS == 50_000


def test_a_failure_while_writing_leaves_nothing_half_imported(app, shop, monkeypatch):
    """Rows are written in one transaction: if the tasks cannot be written, the orders are gone too."""
    from sqlalchemy.exc import IntegrityError

    real_insert_many = service._insert_many

    def orders_then_failure(model, rows):
        if model is Task:
            raise IntegrityError("INSERT INTO tasks", {}, Exception("disk full"))
        real_insert_many(model, rows)

    monkeypatch.setattr(service, "_insert_many", orders_then_failure)
    with pytest.raises(IntegrityError):
        service.import_csv(None, csv_file(*[f",C{n},boxes,1,2030-01-01,,OFFSET" for n in range(50)]))
    assert count(WorkOrder) == count(Task) == 0


class TestCommandLine:
    def test_imports_a_file(self, app, shop, runner, tmp_path):
        path = tmp_path / "orders.csv"
        path.write_bytes(csv_file(",A,boxes,1,2030-01-01,,OFFSET>DIECUT", ",B,boxes,2,2030-01-01,,DIECUT"))
        result = runner.invoke(args=["work-orders", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "Imported 2 work orders with 3 steps." in result.output
        assert count(WorkOrder) == 2

    def test_a_bad_file_exits_1_naming_each_bad_line(self, app, shop, runner, tmp_path):
        path = tmp_path / "orders.csv"
        path.write_bytes(csv_file(",A,boxes,1,2030-01-01,,OFFSET", ",B,boxes,1,2030-02-30,,OFFSET"))
        result = runner.invoke(args=["work-orders", "import", str(path)])
        assert result.exit_code == 1
        assert "Nothing was imported: the file has 1 problem." in result.output
        assert "line 3: due_date must be a real date written YYYY-MM-DD, not '2030-02-30'." in result.output
        assert count(WorkOrder) == 0

    def test_a_missing_file_is_a_usage_error(self, app, runner, tmp_path):
        result = runner.invoke(args=["work-orders", "import", str(tmp_path / "nope.csv")])
        assert result.exit_code == 2 and "nope.csv" in result.output


class TestUpload:
    def upload(self, app, username: str, data: bytes | None, filename: str = "orders.csv"):
        fields = {"file": (io.BytesIO(data), filename)} if data is not None else {}
        return Browser(app, username).post("/work-orders/import", fields, content_type="multipart/form-data")

    def test_supervisor_uploads_a_file(self, app, shop):
        response = self.upload(app, "sam", csv_file(",A,boxes,1,2030-01-01,,OFFSET"))
        assert response.status_code == 303
        assert response.headers["Location"] == "/work-orders"
        order = db.session.scalar(select(WorkOrder))
        assert order.created_by_id == shop.sam.id and order.customer == "A"

    def test_a_bad_file_is_a_400_page_listing_the_lines(self, app, shop):
        response = self.upload(app, "sam", csv_file(",A,boxes,1,2030-01-01,,OFFSET", ",B,boxes,1.5,2030-01-01,,X"))
        body = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "Nothing was imported" in body and 'data-code="business_rule"' in body
        assert '<li data-line="3"><strong>Line 3:</strong> quantity must be a whole number' in body
        assert count(WorkOrder) == 0

    def test_no_file_is_a_400_naming_the_field(self, app, shop):
        response = self.upload(app, "sam", None)
        assert response.status_code == 400
        assert "Choose a CSV file to import." in response.get_data(as_text=True)

    def test_a_file_over_the_size_limit_is_a_400(self, app, shop, monkeypatch):
        from flask_wtf.file import FileSize

        from workorders.orders.forms import ImportForm

        # The limit is 10 MB; a smaller one here spares the test a 10 MB upload.
        size_check = next(v for v in ImportForm.file.kwargs["validators"] if isinstance(v, FileSize))
        monkeypatch.setattr(size_check, "max_size", 100)
        response = self.upload(app, "sam", csv_file(*[f",C{n},boxes,1,2030-01-01,,OFFSET" for n in range(5)]))
        assert response.status_code == 400
        assert "A CSV file may be at most 10 MB." in response.get_data(as_text=True)
        assert count(WorkOrder) == 0

    def test_operators_get_403_and_nothing_is_imported(self, app, shop):
        response = self.upload(app, "alice", csv_file(",A,boxes,1,2030-01-01,,OFFSET"))
        assert response.status_code == 403
        assert count(WorkOrder) == 0

    def test_the_page_explains_the_format(self, app, shop):
        body = Browser(app, "sam").get("/work-orders/import").get_data(as_text=True)
        assert HEADER in body and 'enctype="multipart/form-data"' in body and 'name="csrf_token"' in body
