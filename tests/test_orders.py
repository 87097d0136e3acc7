"""Work orders from the web: the new-order form and its route editor, the list, the detail page, progress."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import Browser, attr
from workorders.extensions import db
from workorders.orders.models import WorkOrder
from workorders.tasks.models import Task, TaskEvent

DUE = (date.today() + timedelta(days=14)).isoformat()
YEAR = date.today().year


def order_form(**overrides) -> dict:
    return {
        "customer": "Northwind Foods",
        "product": "folding boxes, 4/0",
        "quantity": "5000",
        "due_date": DUE,
        "priority": "high",
        "route": ["OFFSET", "DIECUT"],
    } | overrides


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def route_codes(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="route" value="([^"]+)">', html)


def test_supervisor_creates_an_order_with_one_task_per_step(app, shop):
    response = Browser(app, "sam").post("/work-orders", order_form())
    order = db.session.scalar(select(WorkOrder))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/work-orders/{order.id}"
    assert (order.number, order.customer, order.quantity, order.priority) == (
        f"WO-{YEAR}-0001",
        "Northwind Foods",
        5000,
        "high",
    )
    assert (order.status, order.created_by_id, order.due_date.isoformat()) == ("open", shop.sam.id, DUE)
    steps = [(t.sequence, t.process.code, t.department.code, t.planned_qty, t.status, t.version) for t in order.tasks]
    assert steps == [(1, "OFFSET", "PRINT", 5000, "open", 1), (2, "DIECUT", "CUT", 5000, "open", 1)]
    assert count(TaskEvent) == 0  # creating is not a change to a task: versions start at 1


def test_numbers_count_up_within_the_year(app, shop, make_work_order):
    make_work_order(number=f"WO-{YEAR}-0041")
    make_work_order(number=f"WO-{YEAR - 1}-0100")  # last year's numbers do not matter
    sam = Browser(app, "sam")
    sam.post("/work-orders", order_form())
    sam.post("/work-orders", order_form())
    numbers = db.session.scalars(select(WorkOrder.number).where(WorkOrder.created_by_id == shop.sam.id))
    assert sorted(numbers) == [f"WO-{YEAR}-0042", f"WO-{YEAR}-0043"]


def test_created_order_shows_with_a_flash_message(app, shop):
    sam = Browser(app, "sam")
    response = sam.post("/work-orders", order_form(), follow_redirects=True)
    body = response.get_data(as_text=True)
    assert f"You created WO-{YEAR}-0001 with 2 steps." in body
    assert attr(body, "work-order", "data-status") == "open"


def test_htmx_create_loads_the_new_order_as_a_page(app, shop):
    response = Browser(app, "sam").post("/work-orders", order_form(), htmx=True)
    order = db.session.scalar(select(WorkOrder))
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/work-orders/{order.id}"


class TestRouteEditor:
    """Reordering the route works without JavaScript: each button re-shows the form with the route changed."""

    def post(self, app, route, op, htmx=False, **fields):
        data = order_form(route=route, route_op=op, **fields)
        return Browser(app, "sam").post("/work-orders", data, htmx=htmx)

    def test_add_appends_the_chosen_process_and_creates_nothing(self, app, shop):
        response = self.post(app, ["OFFSET"], "add", add_process="DIECUT")
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert route_codes(body) == ["OFFSET", "DIECUT"]
        assert 'value="Northwind Foods"' in body  # what was typed is kept
        assert count(WorkOrder) == 0

    @pytest.mark.parametrize(
        ("op", "expected", "focused"),
        [
            ("up-2", ["DIECUT", "OFFSET", "PROOF"], "route-down-1"),
            ("up-3", ["OFFSET", "PROOF", "DIECUT"], "route-up-2"),
            ("down-1", ["DIECUT", "OFFSET", "PROOF"], "route-up-2"),
            ("down-3", ["OFFSET", "DIECUT", "PROOF"], "route-up-3"),
            ("up-1", ["OFFSET", "DIECUT", "PROOF"], "route-down-1"),
            ("remove-2", ["OFFSET", "PROOF"], "add-process"),
        ],
    )
    def test_up_down_remove(self, app, shop, make_process, op, expected, focused):
        make_process(shop.printing, parallel=True, code="PROOF", name="Proof approval")
        body = self.post(app, ["OFFSET", "DIECUT", "PROOF"], op).get_data(as_text=True)
        assert route_codes(body) == expected
        assert re.search(rf'id="{focused}"[^>]*autofocus', body)

    def test_the_first_step_cannot_go_up_nor_the_last_down(self, app, shop):
        body = self.post(app, ["OFFSET", "DIECUT"], "add").get_data(as_text=True)
        assert re.search(r'id="route-up-1"[^>]*disabled', body)
        assert re.search(r'id="route-down-2"[^>]*disabled', body)
        assert not re.search(r'id="route-down-1"[^>]*disabled', body)

    def test_enter_in_a_text_box_creates_rather_than_moving_a_step(self, app, shop):
        body = Browser(app, "sam").get("/work-orders/new").get_data(as_text=True)
        form = body[body.index('<form id="work-order-form"') :]
        first_button = re.search(r"<button[^>]*>", form).group(0)
        assert 'type="submit"' in first_button and "name=" not in first_button

    def test_htmx_gets_the_form_alone(self, app, shop):
        response = self.post(app, ["OFFSET", "DIECUT"], "up-2", htmx=True)
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert body.lstrip().startswith('<form id="work-order-form"')
        assert "<html" not in body and route_codes(body) == ["DIECUT", "OFFSET"]
        assert "HX-Request" in response.headers["Vary"]

    @pytest.mark.parametrize("op", ["up-9", "sideways-1", "up-0", "remove-x", "<script>"])
    def test_a_button_the_form_does_not_have_is_a_400(self, app, shop, op):
        response = self.post(app, ["OFFSET"], op)
        assert response.status_code == 400
        assert "is not a button of this form" in response.get_data(as_text=True)

    def test_the_route_has_at_most_20_steps(self, app, shop):
        response = self.post(app, ["OFFSET"] * 20, "add", add_process="DIECUT")
        assert response.status_code == 400
        assert "Route may have at most 20 steps." in response.get_data(as_text=True)


GOOD = order_form()
NASTY = [
    ("customer", "", "Customer is required."),
    ("customer", "   ", "Customer is required."),
    ("customer", "x" * 201, "Customer may be at most 200 characters"),
    ("customer", "Tab\there", "Customer may not contain control characters"),
    ("product", "", "Product is required."),
    ("quantity", "0", "Quantity must be a whole number of 1 or more"),
    ("quantity", "-1", "Quantity must be a whole number of 1 or more, not &#39;-1&#39;"),
    ("quantity", "1.5", "Quantity must be a whole number of 1 or more"),
    ("quantity", "1e3", "Quantity must be a whole number of 1 or more"),
    ("quantity", "NaN", "Quantity must be a whole number of 1 or more"),
    ("quantity", "5,000", "Quantity must be a whole number of 1 or more"),
    ("quantity", "٣", "Quantity must be a whole number of 1 or more"),
    ("quantity", "99999999999", "Quantity must be a whole number of 1 or more"),
    ("quantity", "", "Quantity must be a whole number of 1 or more"),
    ("due_date", "", "Due date must be a real date written YYYY-MM-DD"),
    ("due_date", "2026-02-30", "Due date must be a real date written YYYY-MM-DD"),
    ("due_date", "31/12/2030", "Due date must be a real date written YYYY-MM-DD"),
    ("due_date", "20301231", "Due date must be a real date written YYYY-MM-DD"),
    ("due_date", "2000-01-01", "Due date may not be in the past."),
    ("due_date", "2150-01-01", "Due date must be between 2000-01-01 and 2099-12-31."),
    ("priority", "asap", "Priority must be one of low, normal, high, urgent"),
    ("route", [], "Route needs at least one step"),
    ("route", ["NOPE"], "Route names an unknown process &#39;NOPE&#39;."),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize(("field", "value", "message"), NASTY, ids=[f"{f}={v!r}"[:40] for f, v, _ in NASTY])
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(app, shop, field, value, message, htmx):
    response = Browser(app, "sam").post("/work-orders", order_form(**{field: value}), htmx=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body
    assert re.search(r'<p class="field-error"[^>]*role="alert">', body)
    assert body.lstrip().startswith("<form") == htmx
    assert count(WorkOrder) == count(Task) == 0


def test_bad_field_is_marked_invalid_and_typed_values_are_kept(app, shop):
    body = Browser(app, "sam").post("/work-orders", order_form(quantity="1.5")).get_data(as_text=True)
    assert re.search(r'id="quantity"[^>]*value="1.5"[^>]*aria-invalid="true"', body)
    assert 'value="Northwind Foods"' in body and route_codes(body) == ["OFFSET", "DIECUT"]


def test_missing_csrf_token_is_a_400(app, shop):
    sam = Browser(app, "sam")
    response = sam.client.post("/work-orders", data=order_form())
    assert response.status_code == 400
    assert count(WorkOrder) == 0


SUPERVISOR_PAGES = [
    ("get", "/work-orders/new"),
    ("post", "/work-orders"),
    ("get", "/work-orders/import"),
    ("post", "/work-orders/import"),
    ("post", "/work-orders/1/cancel"),
    ("post", "/work-orders/abc/cancel"),
    ("get", "/workload"),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("method", "url"), SUPERVISOR_PAGES)
def test_operators_get_403_on_every_supervisor_action(app, shop, make_task, method, url, htmx):
    make_task(process=shop.offset)
    alice = Browser(app, "alice")
    response = getattr(alice, method)(url, htmx=htmx, **({"data": order_form()} if method == "post" else {}))
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert 'data-code="permission_denied"' in body
    assert "Only supervisors and admins may" in body
    if htmx:
        assert response.headers["HX-Retarget"] == "#modal-slot"
    assert count(WorkOrder) == 1 and count(TaskEvent) == 0


def test_admins_create_work_orders_too(app, shop):
    assert Browser(app, "admin").post("/work-orders", order_form()).status_code == 303
    assert count(WorkOrder) == 1


def test_new_order_page_lists_processes_by_department(app, shop):
    body = Browser(app, "sam").get("/work-orders/new").get_data(as_text=True)
    assert '<optgroup label="Printing">' in body and '<option value="OFFSET">Offset printing</option>' in body
    assert 'name="csrf_token"' in body


class TestList:
    def test_lists_open_orders_urgent_first_with_progress(self, app, shop, make_work_order, make_task):
        later = make_work_order(priority="normal", due_date=date.today() + timedelta(days=3))
        urgent = make_work_order(priority="urgent", due_date=date.today() + timedelta(days=9))
        make_work_order(status="done")
        make_task(work_order=later, process=shop.offset, status="done", assignee=shop.alice)
        make_task(work_order=later, process=shop.diecut)
        body = Browser(app, "alice").get("/work-orders").get_data(as_text=True)
        ids = re.findall(r'<tr id="work-order-(\d+)"', body)
        assert ids == [str(urgent.id), str(later.id)]
        assert attr(body, f"work-order-{later.id}", "data-status") == "open"
        assert re.search(r'data-done="1" data-total="2"', body)
        assert "1 of 2 steps done" in body

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("status=done", ["Done Co"]),
            ("status=all", ["Alpine Dairy", "Done Co", "Northwind Foods"]),
            ("q=alpine", ["Alpine Dairy"]),
            ("q=wo-2031", ["Northwind Foods"]),
            ("q=gift", ["Alpine Dairy"]),
            ("priority=urgent", ["Alpine Dairy"]),
            ("q=100%25", []),
        ],
    )
    def test_filters_and_search(self, app, shop, make_work_order, query, expected):
        make_work_order(customer="Northwind Foods", number="WO-2031-0901")
        make_work_order(customer="Alpine Dairy", product="gift boxes", priority="urgent")
        make_work_order(customer="Done Co", status="done")
        body = Browser(app, "alice").get(f"/work-orders?{query}").get_data(as_text=True)
        customers = re.findall(r'<div class="wo-product">([^<·]+) ·', body)
        assert sorted(customer.strip() for customer in customers) == expected

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("status=lost", "status must be one of open, done, cancelled, all"),
            ("priority=asap", "priority must be one of low, normal, high, urgent"),
            ("page=0", "page must be a whole number"),
            ("page=1.5", "page must be a whole number"),
            ("q=" + "x" * 101, "q may be at most 100 characters"),
        ],
    )
    def test_bad_filters_are_a_clear_400(self, app, shop, query, message):
        response = Browser(app, "alice").get(f"/work-orders?{query}")
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)

    def test_htmx_gets_the_list_fragment_and_the_answer_varies(self, app, shop, make_work_order):
        make_work_order()
        alice = Browser(app, "alice")
        fragment = alice.get("/work-orders", htmx=True)
        page = alice.get("/work-orders")
        assert fragment.get_data(as_text=True).lstrip().startswith('<section id="work-orders"')
        assert "<html" in page.get_data(as_text=True)
        assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]

    def test_pages(self, app, shop, make_work_order):
        app.config["BOARD_PAGE_SIZE"] = 2
        for _ in range(5):
            make_work_order()
        body = Browser(app, "alice").get("/work-orders?page=3").get_data(as_text=True)
        assert len(re.findall(r'<tr id="work-order-', body)) == 1
        assert "Page 3 of 3 · 5 work orders" in body

    def test_only_supervisors_see_the_new_and_import_buttons(self, app, shop):
        assert "/work-orders/new" not in Browser(app, "alice").get("/work-orders").get_data(as_text=True)
        assert "/work-orders/new" in Browser(app, "sam").get("/work-orders").get_data(as_text=True)


class TestDetail:
    def test_shows_each_step_progress_and_merged_history(self, app, shop):
        Browser(app, "sam").post("/work-orders", order_form(route=["OFFSET", "DIECUT"]))
        order = db.session.scalar(select(WorkOrder))
        first, second = order.tasks
        alice, carol = Browser(app, "alice"), Browser(app, "carol")
        alice.post(f"/tasks/{first.id}/claim", {"version": "1"})
        alice.post(f"/tasks/{first.id}/start", {"version": "2"})
        alice.post(f"/tasks/{first.id}/complete", {"version": "3", "good_qty": "4990", "scrap_qty": "10"})
        carol.post(f"/tasks/{second.id}/claim", {"version": "1"})
        body = alice.get(f"/work-orders/{order.id}").get_data(as_text=True)
        assert attr(body, f"task-{first.id}", "data-status") == "done"
        assert attr(body, f"task-{second.id}", "data-assignee") == "carol"
        assert "4,990 good · 10 scrap" in body
        assert re.search(r'data-done="1" data-total="2"', body) and "1 of 2 steps done" in body
        history = re.findall(r'<li data-action="(\w+)" data-task-id="(\d+)"', body)
        assert history == [
            ("claim", str(second.id)),
            ("complete", str(first.id)),
            ("start", str(first.id)),
            ("claim", str(first.id)),
        ]
        assert attr(body, "work-order", "data-version") == str(4 + 2)

    def test_actions_on_the_page_come_back_to_it(self, app, shop, make_task):
        task = make_task(process=shop.offset)
        alice = Browser(app, "alice")
        body = alice.get(f"/work-orders/{task.work_order_id}").get_data(as_text=True)
        assert f'action="/tasks/{task.id}/claim"' in body
        assert f'name="next" value="/work-orders/{task.work_order_id}"' in body
        response = alice.post(f"/tasks/{task.id}/claim", {"version": "1", "next": f"/work-orders/{task.work_order_id}"})
        assert response.headers["Location"] == f"/work-orders/{task.work_order_id}"

    def test_completing_the_last_step_completes_the_order(self, app, shop):
        Browser(app, "sam").post("/work-orders", order_form(route=["OFFSET"]))
        order = db.session.scalar(select(WorkOrder))
        task = order.tasks[0]
        alice = Browser(app, "alice")
        alice.post(f"/tasks/{task.id}/claim", {"version": "1"})
        alice.post(f"/tasks/{task.id}/start", {"version": "2"})
        alice.post(f"/tasks/{task.id}/complete", {"version": "3", "good_qty": "5000", "scrap_qty": "0"})
        body = alice.get(f"/work-orders/{order.id}").get_data(as_text=True)
        assert attr(body, "work-order", "data-status") == "done"
        assert "1 of 1 steps done" in body
        assert "Cancel work order" not in Browser(app, "sam").get(f"/work-orders/{order.id}").get_data(as_text=True)

    def test_cancel_form_only_for_supervisors_of_open_orders(self, app, shop, make_task):
        task = make_task(process=shop.offset)
        url = f"/work-orders/{task.work_order_id}"
        assert "Cancel work order" not in Browser(app, "alice").get(url).get_data(as_text=True)
        body = Browser(app, "sam").get(url).get_data(as_text=True)
        form = re.search(r'<form method="post" action="[^"]*/cancel">.*?</form>', body, re.S).group(0)
        assert 'name="csrf_token"' in form and 'name="version" value="1"' in form

    @pytest.mark.parametrize(("raw", "status"), [("4242", 404), ("abc", 400), ("-1", 400), ("99999999999", 400)])
    def test_unknown_or_bad_id(self, app, shop, raw, status):
        response = Browser(app, "alice").get(f"/work-orders/{raw}")
        assert response.status_code == status
        assert f'data-code="{"not_found" if status == 404 else "business_rule"}"' in response.get_data(as_text=True)

    def test_needs_a_login(self, app, client):
        response = client.get("/work-orders/1")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_order_page_costs_the_same_queries_for_2_or_8_steps(app, shop, make_work_order, make_task):
    from tests.helpers import count_queries

    browser = Browser(app, "sam")

    def queries_for(steps: int) -> int:
        order = make_work_order()
        for _ in range(steps):
            make_task(work_order=order, process=shop.offset)
        with count_queries() as statements:
            assert browser.get(f"/work-orders/{order.id}").status_code == 200
        return len(statements)

    assert queries_for(2) == queries_for(8)
