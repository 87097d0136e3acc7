"""Every model constraint holds in the database itself, on SQLite and PostgreSQL alike."""

from datetime import date

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.orders.models import WorkOrder
from workorders.tasks.models import Task, TaskEvent
from workorders.users.models import User


def refused(model_or_statement) -> None:
    """Assert the database refuses the row or statement, and leave the session usable."""
    with pytest.raises((IntegrityError, DBAPIError)):
        if isinstance(model_or_statement, db.Model):
            db.session.add(model_or_statement)
            db.session.flush()
        else:
            db.session.execute(model_or_statement)
    db.session.rollback()


def test_department_code_is_unique_and_not_empty(make_department):
    make_department("PRINT")
    refused(Department(code="PRINT", name="Other"))
    refused(Department(code="", name="Empty"))


def test_process_code_unique_and_department_must_exist(make_process, make_department):
    department = make_department()
    make_process(department, code="OFFSET")
    refused(Process(code="OFFSET", name="Again", department_id=department.id))
    refused(Process(code="GHOST", name="No department", department_id=99999))


def test_username_unique_and_role_checked(make_user):
    make_user(username="alice")
    refused(User(username="alice", display_name="Alice 2", role="operator"))
    refused(User(username="mallory", display_name="M", role="superuser"))
    refused(User(username="", display_name="Nobody", role="operator"))


def test_api_token_hash_is_unique(make_user):
    make_user(username="a").api_token_hash = "f" * 64
    db.session.commit()
    refused(User(username="b", display_name="B", role="operator", api_token_hash="f" * 64))


def _order(**overrides) -> WorkOrder:
    values = {"number": "WO-2026-0001", "customer": "C", "product": "P", "quantity": 10, "due_date": date(2026, 12, 1)}
    return WorkOrder(**(values | overrides))


def test_work_order_number_unique_and_formatted(make_work_order):
    make_work_order(number="WO-2026-0001")
    refused(_order(number="WO-2026-0001"))
    refused(_order(number="2026-1"))


@pytest.mark.parametrize(
    ("field", "value"), [("quantity", 0), ("quantity", -5), ("priority", "asap"), ("status", "lost")]
)
def test_work_order_values_checked(app, field, value):
    refused(_order(number="WO-2026-0002", **{field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "stolen"), ("planned_qty", -1), ("good_qty", -1), ("scrap_qty", -1), ("sequence", 0)],
)
def test_task_values_checked(make_task, field, value):
    task = make_task()
    refused(update(Task).where(Task.id == task.id).values({field: value}))


def test_task_in_progress_or_done_must_have_an_assignee(make_task):
    task = make_task()
    refused(update(Task).where(Task.id == task.id).values(status="in_progress"))
    refused(update(Task).where(Task.id == task.id).values(status="done"))


def test_one_task_per_step_of_a_work_order(make_task, make_work_order):
    order = make_work_order()
    first = make_task(work_order=order, sequence=1)
    refused(
        Task(
            work_order_id=order.id,
            process_id=first.process_id,
            department_id=first.department_id,
            sequence=1,
            planned_qty=5,
        )
    )


def test_task_foreign_keys_are_enforced(make_task):
    task = make_task()
    refused(update(Task).where(Task.id == task.id).values(assignee_id=424242))
    refused(update(Task).where(Task.id == task.id).values(process_id=424242))


def test_task_events_are_append_only(make_task, make_user):
    task, user = make_task(), make_user()
    db.session.add(TaskEvent(task_id=task.id, actor_id=user.id, action="claim", version=2))
    db.session.commit()
    refused(update(TaskEvent).values(note="rewritten history"))
    refused(delete(TaskEvent))
    assert db.session.execute(text("SELECT count(*) FROM task_events")).scalar() == 1


def test_task_version_is_bumped_by_every_update(make_task):
    task = make_task()
    assert task.version == 1
    task.good_qty = 5
    db.session.commit()
    assert task.version == 2
