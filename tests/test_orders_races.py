"""Races around work orders, with real concurrent connections: numbering, and cancel against a task action."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from tests.helpers import in_parallel
from workorders.errors import Unavailable
from workorders.extensions import db
from workorders.orders import service
from workorders.orders.models import OrderDraft, WorkOrder
from workorders.tasks import service as tasks_service
from workorders.tasks.errors import RuleBroken, TaskConflict
from workorders.tasks.models import Task, TaskEvent
from workorders.users.models import User

YEAR = date.today().year
ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def app_config(database_url) -> dict:
    """A connection for every racing thread."""
    if database_url.startswith("sqlite"):
        return {}
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 12, "max_overflow": 4}}


def draft(**overrides) -> OrderDraft:
    values = {
        "customer": "Northwind Foods",
        "product": "folding boxes",
        "quantity": 1000,
        "due_date": date.today() + timedelta(days=10),
        "priority": "normal",
        "route": ["OFFSET", "DIECUT"],
    }
    return OrderDraft(**(values | overrides))


def order_inserts(app) -> list[str]:
    """Records every INSERT into work_orders sent while the test runs, from any thread."""
    sent: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO work_orders"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    return sent


@pytest.mark.slow
@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_supervisors_creating_at_once_get_distinct_consecutive_numbers(app, shop, make_user):
    supervisors = [make_user("supervisor", [shop.printing], f"sup{n:02d}").username for n in range(10)]
    inserts = order_inserts(app)

    def create_four(user: User) -> list[str]:
        return [service.create_work_order(user, draft()).number for _ in range(4)]

    numbers = in_parallel(app, supervisors, create_four)
    assert sorted(numbers) == [f"WO-{YEAR}-{n:04d}" for n in range(1, 41)]
    assert len(inserts) == 40  # the lock kept them apart: not one insert failed and had to be retried
    assert db.session.scalar(select(func.count()).select_from(Task)) == 80


def test_a_number_taken_anyway_is_retried_with_the_next(app, shop, make_work_order, monkeypatch):
    """The unique constraint is the backstop: a writer that skipped the lock cannot make creation fail."""
    make_work_order(number=f"WO-{YEAR}-0007")
    real = service.next_numbers
    calls = []

    def stale_then_real(year, count, also_taken=()):
        calls.append(year)
        return [f"WO-{YEAR}-0007"] if len(calls) == 1 else real(year, count, also_taken)

    monkeypatch.setattr(service, "next_numbers", stale_then_real)
    order = service.create_work_order(shop.sam, draft())
    assert order.number == f"WO-{YEAR}-0008" and len(calls) == 2
    assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == 2
    assert db.session.scalar(select(func.count()).select_from(Task)) == 2  # the failed try left nothing behind


def test_a_number_that_stays_taken_gives_up_with_a_503(app, shop, make_work_order, monkeypatch):
    make_work_order(number=f"WO-{YEAR}-0007")
    monkeypatch.setattr(service, "next_numbers", lambda year, count, also_taken=(): [f"WO-{YEAR}-0007"])
    with pytest.raises(Unavailable):
        service.create_work_order(shop.sam, draft())
    assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == 1


def test_other_integrity_errors_are_not_retried(app, shop, monkeypatch):
    """Only a taken number is worth another try; any other broken constraint surfaces at once."""
    from sqlalchemy.exc import IntegrityError

    calls = []

    def broken(*args):
        calls.append(args)
        raise IntegrityError("INSERT", {}, Exception("CHECK constraint failed"))

    monkeypatch.setattr(service, "_add_order", broken)
    with pytest.raises(IntegrityError):
        service.create_work_order(shop.sam, draft())
    assert len(calls) == 1


def test_the_years_numbers_can_run_out(app, shop, make_work_order):
    make_work_order(number=f"WO-{YEAR}-99999999")  # the longest number the column holds (past 9999: more digits)
    with pytest.raises(RuleBroken, match=f"The work order numbers of {YEAR} are used up"):
        service.create_work_order(shop.sam, draft())


@pytest.mark.slow
@ON_POSTGRES
def test_cancel_racing_claims_leaves_every_step_cancelled_with_a_true_history(
    app, shop, make_work_order, make_task, make_user
):
    """Claims and the cancel lock the same rows: each claim lands before the cancel (and is cancelled with its
    holder) or after it (and is refused); every version still matches its history."""
    operators = [make_user("operator", [shop.printing], f"op{n:02d}") for n in range(6)]
    order = make_work_order()
    task_ids = [make_task(work_order=order, process=shop.offset).id for _ in operators]
    mine = {operator.username: task_id for operator, task_id in zip(operators, task_ids, strict=True)}

    def act(user: User) -> list[str]:
        if user.username == "sam":
            return [service.cancel_work_order(user, order.id, version=len(task_ids)).message]
        try:
            tasks_service.claim(mine[user.username], user, version=1)
            return ["claimed"]
        except (RuleBroken, TaskConflict):
            return ["refused"]

    results = in_parallel(app, ["sam", *mine], act)
    db.session.expire_all()
    tasks = db.session.scalars(select(Task).where(Task.id.in_(task_ids))).all()
    assert db.session.get(WorkOrder, order.id).status == "cancelled"
    assert {task.status for task in tasks} == {"cancelled"}
    assert results.count("claimed") == sum(task.assignee_id is not None for task in tasks)
    for task in tasks:
        history = db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id))
        actions = [event.action for event in history]
        assert actions in (["cancel"], ["claim", "cancel"]) and task.version == len(actions) + 1


@pytest.mark.slow
@ON_POSTGRES
def test_cancel_racing_the_last_completion_never_deadlocks(app, shop, make_work_order, make_task):
    """Both lock the task, then the order: the completion always stands, the cancel is refused either way."""
    for _ in range(5):
        order = make_work_order()
        make_task(work_order=order, process=shop.offset, status="done", assignee=shop.bob)
        last = make_task(work_order=order, process=shop.offset, status="in_progress", assignee=shop.alice)
        order_id, task_id = order.id, last.id

        def act(user: User, order_id=order_id, task_id=task_id) -> list[str]:
            try:
                if user.username == "alice":
                    tasks_service.complete(task_id, user, version=1, good_qty=10, scrap_qty=0)
                    return ["completed"]
                service.cancel_work_order(user, order_id, version=2)
                return ["cancelled"]
            except RuleBroken as error:
                return [f"refused: {error.detail}"]

        results = sorted(in_parallel(app, ["alice", "sam"], act))
        assert results[0] == "completed" and results[1].startswith("refused: ")
        db.session.expire_all()
        assert db.session.get(WorkOrder, order_id).status == "done"
