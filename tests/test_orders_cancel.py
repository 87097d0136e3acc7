"""Cancelling a work order: every unfinished step in one transaction, one event each, under the task locks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.helpers import Browser, attr, task_row_locked
from workorders.extensions import db
from workorders.orders.models import WorkOrder
from workorders.tasks.models import Task, TaskEvent


@pytest.fixture
def order(shop, make_work_order, make_task):
    """An order of four steps: done, in progress → paused by alice, held by bob, and free."""
    order = make_work_order()
    make_task(work_order=order, process=shop.offset, status="done", assignee=shop.alice)
    make_task(work_order=order, process=shop.offset, status="paused", assignee=shop.alice)
    make_task(work_order=order, process=shop.offset, assignee=shop.bob)
    make_task(work_order=order, process=shop.diecut)
    return order


def seen(order: WorkOrder) -> int:
    """The version a user sees on the order's page."""
    return db.session.scalar(select(func.sum(Task.version)).where(Task.work_order_id == order.id))


def cancel(person, order: WorkOrder, version, htmx: bool = False, follow: bool = False, **fields):
    data = {"version": str(version), "next": f"/work-orders/{order.id}", **fields}
    return person.post(f"/work-orders/{order.id}/cancel", data, htmx=htmx, follow_redirects=follow)


def state(order: WorkOrder) -> tuple[str, list[tuple[str, int]]]:
    db.session.expire_all()
    order = db.session.get(WorkOrder, order.id)
    return order.status, [(task.status, task.version) for task in sorted(order.tasks, key=lambda t: t.sequence)]


def cancel_events(order: WorkOrder) -> list[TaskEvent]:
    return list(
        db.session.scalars(
            select(TaskEvent).join(TaskEvent.task).where(Task.work_order_id == order.id).order_by(TaskEvent.id)
        )
    )


def test_cancel_cancels_every_unfinished_step_with_an_event_each(app, shop, order):
    response = cancel(Browser(app, "sam"), order, seen(order), reason="Customer withdrew the order")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/work-orders/{order.id}"
    assert state(order) == ("cancelled", [("done", 1), ("cancelled", 2), ("cancelled", 2), ("cancelled", 2)])
    events = cancel_events(order)
    assert [(e.action, e.from_status, e.to_status, e.version, e.actor_id) for e in events] == [
        ("cancel", "paused", "cancelled", 2, shop.sam.id),
        ("cancel", "open", "cancelled", 2, shop.sam.id),
        ("cancel", "open", "cancelled", 2, shop.sam.id),
    ]
    assert [(e.from_assignee_id, e.to_assignee_id) for e in events] == [
        (shop.alice.id, shop.alice.id),
        (shop.bob.id, shop.bob.id),
        (None, None),
    ]
    assert all(e.note == "Work order cancelled: Customer withdrew the order" for e in events)


def test_cancel_shows_on_the_page_with_a_flash(app, shop, order):
    sam = Browser(app, "sam")
    page = cancel(sam, order, seen(order), follow=True).get_data(as_text=True)
    assert f"You cancelled {order.number} (3 steps)." in page
    assert attr(page, "work-order", "data-status") == "cancelled"
    assert "Cancel work order" not in page
    assert page.count('data-action="cancel"') == 3


def test_htmx_cancel_reloads_the_page(app, shop, order):
    response = cancel(Browser(app, "sam"), order, seen(order), htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/work-orders/{order.id}"
    assert state(order)[0] == "cancelled"


def test_cancelled_tasks_leave_the_holders_load_and_cannot_be_worked(app, shop, order):
    cancel(Browser(app, "sam"), order, seen(order))
    paused = order.tasks[1]
    response = Browser(app, "alice").post(f"/tasks/{paused.id}/start", {"version": "2"})
    assert response.status_code == 400
    assert state(order)[1][1] == ("cancelled", 2)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_step_in_progress_is_a_400_and_nothing_changes(app, shop, make_work_order, make_task, htmx):
    order = make_work_order()
    make_task(work_order=order, process=shop.offset, status="in_progress", assignee=shop.alice)
    make_task(work_order=order, process=shop.diecut)
    response = cancel(Browser(app, "sam"), order, seen(order), htmx=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Step 1, Offset printing, is in progress with Alice Archer (alice)." in body
    assert "Ask them to pause it" in body
    assert 'data-code="business_rule"' in body
    if htmx:
        assert response.headers["HX-Retarget"] == "#modal-slot"
    else:
        assert f'href="/work-orders/{order.id}"' in body  # the way back
    assert state(order) == ("open", [("in_progress", 1), ("open", 1)])
    assert cancel_events(order) == []


def test_a_step_started_since_the_user_looked_is_a_409_naming_its_holder(app, shop, order):
    looked = seen(order)
    alice = Browser(app, "alice")
    paused = order.tasks[1]
    assert alice.post(f"/tasks/{paused.id}/start", {"version": "1"}).status_code == 303
    response = cancel(Browser(app, "sam"), order, looked, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert attr(body, "task-dialog", "data-code") == "task_conflict"
    assert attr(body, "task-dialog", "data-current-owner") == "alice"
    assert "is in progress with Alice Archer (alice)" in body
    assert state(order)[0] == "open" and len(cancel_events(order)) == 1  # alice's start only


def test_a_stale_view_still_cancels_when_nothing_forbids_it(app, shop, order):
    looked = seen(order)
    free = order.tasks[3]
    assert Browser(app, "carol").post(f"/tasks/{free.id}/claim", {"version": "1"}).status_code == 303
    response = cancel(Browser(app, "sam"), order, looked)
    assert response.status_code == 303
    assert state(order)[1][3] == ("cancelled", 3)


@pytest.mark.parametrize("status", ["done", "cancelled"])
def test_a_finished_order_is_a_400(app, shop, make_work_order, make_task, status):
    order = make_work_order(status=status)
    make_task(work_order=order, process=shop.offset, status=status, assignee=shop.alice)
    response = cancel(Browser(app, "sam"), order, seen(order))
    assert response.status_code == 400
    assert f"{order.number} is {status} already; nothing was changed." in response.get_data(as_text=True)
    assert cancel_events(order) == []


def test_cancelling_twice_is_a_400_the_second_time(app, shop, order):
    sam = Browser(app, "sam")
    looked = seen(order)
    assert cancel(sam, order, looked).status_code == 303
    assert cancel(sam, order, looked).status_code == 400
    assert len(cancel_events(order)) == 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"version": "1.5"}, "version must be a whole number of 0 or more"),
        ({"version": "-1"}, "version must be a whole number of 0 or more"),
        ({"version": ""}, "version must be a whole number of 0 or more"),
        ({"version": "1", "reason": "x" * 501}, "Reason may be at most 500 characters"),
        ({"version": "1", "reason": "two\nlines"}, "Reason may not contain control characters"),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(app, shop, order, fields, message):
    response = Browser(app, "sam").post(f"/work-orders/{order.id}/cancel", fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert state(order)[0] == "open"


@pytest.mark.parametrize(("raw", "status"), [("4242", 404), ("abc", 400), ("1e3", 400)])
def test_unknown_or_bad_order_id(app, shop, raw, status):
    response = Browser(app, "sam").post(f"/work-orders/{raw}/cancel", {"version": "1"})
    assert response.status_code == status


def test_supervisors_of_other_departments_may_cancel(app, shop, make_user, order):
    make_user("supervisor", [shop.cutting], "sue")
    assert cancel(Browser(app, "sue"), order, seen(order)).status_code == 303


def test_operators_may_not_cancel_whatever_the_state(app, shop, order):
    response = cancel(Browser(app, "alice"), order, seen(order) - 1)
    assert response.status_code == 403
    assert state(order)[0] == "open"


class TestLocks:
    @pytest.fixture
    def app_config(self):
        return {"LOCK_TIMEOUT_MS": 200}

    @pytest.mark.postgres
    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    def test_a_locked_step_makes_cancel_wait_then_answer_503(self, app, shop, order):
        """Cancel takes the same row locks as the task actions; a lock held too long is a 503, nothing changed."""
        with task_row_locked(app.config["SQLALCHEMY_DATABASE_URI"], order.tasks[3].id):
            response = cancel(Browser(app, "sam"), order, seen(order))
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert state(order)[0] == "open" and cancel_events(order) == []
