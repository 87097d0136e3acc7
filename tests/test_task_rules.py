"""The rules around the actions: stale screens, step order, the cap, bad input, busy databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.helpers import HTMX, attr, csrf_token, logged_in, task_row_locked
from workorders.extensions import db
from workorders.orders.models import OrderStatus
from workorders.tasks.models import Task, TaskEvent


class Person:
    """One logged-in browser: posts actions with the version it last saw."""

    def __init__(self, app, username: str):
        self.client = logged_in(app, username)
        self.token = csrf_token(self.client, "/tasks")

    def post(self, task: Task, action: str, version: int | str, htmx: bool = True, **fields):
        data = {"csrf_token": self.token, "version": str(version), **{k: str(v) for k, v in fields.items()}}
        return self.client.post(f"/tasks/{task.id}/{action}", data=data, headers=HTMX if htmx else {})


def events(task: Task) -> int:
    return db.session.scalar(select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task.id))


def fresh(task: Task) -> Task:
    db.session.refresh(task)
    return task


def test_stale_supervisor_screen_cannot_overwrite_a_claim(app, shop, make_task):
    task = make_task(process=shop.offset)
    sam, alice = Person(app, "sam"), Person(app, "alice")
    seen = task.version  # sam's board shows the task free
    assert alice.post(task, "claim", seen).status_code == 200
    response = sam.post(task, "assign", seen, assignee="bob")
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert attr(body, "task-dialog", "data-current-owner") == "alice"
    assert "Alice Archer (alice) has" in body
    assert fresh(task).assignee_id == shop.alice.id
    assert events(task) == 1


def test_stale_screen_still_assigns_when_the_holder_is_unchanged(app, shop, make_task):
    task = make_task(process=shop.offset)
    sam, alice = Person(app, "sam"), Person(app, "alice")
    alice.post(task, "claim", 1)
    seen = fresh(task).version  # sam sees alice holding it
    alice.post(task, "start", seen)
    alice.post(task, "pause", seen + 1)
    response = sam.post(task, "assign", seen, assignee="bob")  # two versions old, same holder
    assert response.status_code == 200
    assert fresh(task).assignee_id == shop.bob.id


def test_stale_release_by_supervisor_does_not_release_the_next_holder(app, shop, make_task):
    task = make_task(process=shop.offset)
    sam, alice, bob = Person(app, "sam"), Person(app, "alice"), Person(app, "bob")
    alice.post(task, "claim", 1)
    seen = fresh(task).version  # sam sees alice holding it
    alice.post(task, "release", seen)
    bob.post(task, "claim", seen + 1)
    response = sam.post(task, "release", seen)
    assert response.status_code == 409
    assert attr(response.get_data(as_text=True), "task-dialog", "data-current-owner") == "bob"
    assert fresh(task).assignee_id == shop.bob.id


def test_start_waits_for_the_previous_step(app, shop, make_task, make_work_order):
    order = make_work_order()
    first = make_task(work_order=order, process=shop.offset, status="open")
    second = make_task(work_order=order, process=shop.offset, assignee=shop.alice)
    alice = Person(app, "alice")
    response = alice.post(second, "start", 1)
    assert response.status_code == 400
    assert "Step 1, Offset printing, is not done yet." in response.get_data(as_text=True)
    board = alice.client.get("/tasks").get_data(as_text=True)
    assert "Waiting for Offset printing" in board
    assert f'/tasks/{second.id}/start"' not in board  # no Start button while it cannot start
    assert alice.post(first, "claim", 1).status_code == 200
    assert alice.post(first, "start", 2).status_code == 200
    assert alice.post(first, "complete", 3, good_qty=10, scrap_qty=0).status_code == 200
    assert alice.post(second, "start", 1).status_code == 200


def test_a_parallel_step_does_not_hold_up_the_next(app, shop, make_task, make_work_order, make_process):
    proof = make_process(shop.printing, parallel=True, name="Proof approval")
    order = make_work_order()
    make_task(work_order=order, process=proof)
    second = make_task(work_order=order, process=shop.offset, assignee=shop.alice)
    assert Person(app, "alice").post(second, "start", 1).status_code == 200


def test_completing_the_last_task_completes_the_work_order(app, shop, make_task, make_work_order):
    order = make_work_order()
    first = make_task(work_order=order, process=shop.offset, status="done", assignee=shop.bob)
    last = make_task(work_order=order, process=shop.offset, status="in_progress", assignee=shop.alice)
    response = Person(app, "alice").post(last, "complete", 1, good_qty=4990, scrap_qty=10)
    assert response.status_code == 200
    db.session.refresh(order)
    assert order.status == OrderStatus.DONE
    assert (fresh(last).good_qty, last.scrap_qty, first.status) == (4990, 10, "done")


class TestCap:
    @pytest.fixture
    def app_config(self):
        return {"TASK_CAP_PER_OPERATOR": 2}

    def test_claim_over_the_cap_is_refused(self, app, shop, make_task):
        tasks = [make_task(process=shop.offset) for _ in range(3)]
        alice = Person(app, "alice")
        assert [alice.post(task, "claim", 1).status_code for task in tasks] == [200, 200, 400]
        body = alice.post(tasks[2], "claim", 1).get_data(as_text=True)
        assert "You hold 2 unfinished tasks, the most allowed (2)" in body
        assert fresh(tasks[2]).assignee_id is None

    def test_assign_over_the_cap_is_refused(self, app, shop, make_task):
        for _ in range(2):
            make_task(process=shop.offset, assignee=shop.bob)
        task = make_task(process=shop.offset)
        response = Person(app, "sam").post(task, "assign", 1, assignee="bob")
        assert response.status_code == 400
        assert "Bob Baker holds 2 unfinished tasks" in response.get_data(as_text=True)

    def test_done_tasks_do_not_count(self, app, shop, make_task):
        for _ in range(2):
            make_task(process=shop.offset, assignee=shop.alice, status="done")
        assert Person(app, "alice").post(make_task(process=shop.offset), "claim", 1).status_code == 200


class TestNoCap:
    @pytest.fixture
    def app_config(self):
        return {"TASK_CAP_PER_OPERATOR": 0}

    def test_zero_means_no_cap(self, app, shop, make_task):
        alice = Person(app, "alice")
        assert {alice.post(make_task(process=shop.offset), "claim", 1).status_code for _ in range(12)} == {200}


BAD_NUMBERS = ["1.5", "1e9", "NaN", "-1", "text", "", " ", "٣", "+1", "0x1", "99999999999", "1_000"]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "form"])
@pytest.mark.parametrize("raw", BAD_NUMBERS)
def test_bad_version_is_a_400_and_changes_nothing(app, shop, make_task, raw, htmx):
    task = make_task(process=shop.offset)
    response = Person(app, "alice").post(task, "claim", raw, htmx=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "version must be a whole number of 0 or more" in body
    assert 'data-code="business_rule"' in body
    assert fresh(task).assignee_id is None and task.version == 1 and events(task) == 0


@pytest.mark.parametrize("field", ["good_qty", "scrap_qty"])
@pytest.mark.parametrize("raw", BAD_NUMBERS)
def test_bad_quantity_is_a_400_and_changes_nothing(app, shop, make_task, field, raw):
    task = make_task(process=shop.offset, status="in_progress", assignee=shop.alice)
    fields = {"good_qty": 10, "scrap_qty": 0} | {field: raw}
    response = Person(app, "alice").post(task, "complete", 1, **fields)
    assert response.status_code == 400
    label = {"good_qty": "Good quantity", "scrap_qty": "Scrap quantity"}[field]
    assert f"{label} must be a whole number of 0 or more" in response.get_data(as_text=True)
    assert fresh(task).status == "in_progress" and task.good_qty == 0 and events(task) == 0


def test_missing_fields_are_a_400(app, shop, make_task):
    task = make_task(process=shop.offset, status="in_progress", assignee=shop.alice)
    alice = Person(app, "alice")
    response = alice.client.post(f"/tasks/{task.id}/complete", data={"csrf_token": alice.token}, headers=HTMX)
    assert response.status_code == 400
    assert fresh(task).status == "in_progress"


@pytest.mark.parametrize("raw_id", ["abc", "-1", "1.5", "1e3", "99999999999"])
def test_bad_task_id_is_a_400(app, shop, raw_id):
    alice = Person(app, "alice")
    response = alice.client.post(f"/tasks/{raw_id}/claim", data={"csrf_token": alice.token, "version": "1"})
    assert response.status_code == 400
    assert "A task id is a whole number" in response.get_data(as_text=True)


def test_unknown_task_is_a_404_dialog_or_page(app, shop):
    alice = Person(app, "alice")
    htmx = alice.client.post("/tasks/4242/claim", data={"csrf_token": alice.token, "version": "1"}, headers=HTMX)
    assert htmx.status_code == 404
    assert htmx.headers["HX-Retarget"] == "#modal-slot"
    assert attr(htmx.get_data(as_text=True), "task-dialog", "data-code") == "not_found"
    page = alice.client.post("/tasks/4242/claim", data={"csrf_token": alice.token, "version": "1"})
    assert page.status_code == 404
    assert 'data-code="not_found"' in page.get_data(as_text=True)


def test_unknown_action_is_a_404(app, shop, make_task):
    task = make_task(process=shop.offset)
    alice = Person(app, "alice")
    assert alice.post(task, "steal", 1).status_code == 404


def test_next_must_stay_on_this_site(app, shop, make_task):
    task = make_task(process=shop.offset)
    alice = Person(app, "alice")
    response = alice.client.post(
        f"/tasks/{task.id}/claim", data={"csrf_token": alice.token, "version": "1", "next": "//evil.example/"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/tasks"


@pytest.fixture
def short_lock_wait():
    return {"LOCK_TIMEOUT_MS": 200}


class TestBusyDatabase:
    @pytest.fixture
    def app_config(self, short_lock_wait):
        return short_lock_wait

    def test_lock_wait_timeout_is_a_503_with_retry_after(self, app, shop, make_task):
        task = make_task(process=shop.offset)
        task_id = task.id
        alice = Person(app, "alice")
        with task_row_locked(app.config["SQLALCHEMY_DATABASE_URI"], task_id):
            htmx = alice.post(task, "claim", 1)
            page = alice.post(task, "claim", 1, htmx=False)
        for response in (htmx, page):
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "2"
            assert 'data-code="unavailable"' in response.get_data(as_text=True)
        assert htmx.headers["HX-Retarget"] == "#modal-slot"
        assert fresh(task).assignee_id is None and events(task) == 0
        assert alice.post(task, "claim", 1).status_code == 200  # and once the lock is gone, it works
