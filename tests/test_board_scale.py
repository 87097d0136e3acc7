"""The board at scale (issue 11): an exact live poll, pages that read what they show, search, numbers past 9,999."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import event, insert, select, text, update

from tests.conftest import postgres_only
from tests.helpers import HTMX, Browser, count_queries, logged_in
from tests.test_board import board, row_ids
from tests.test_task_rules import Person
from workorders.extensions import db
from workorders.orders import service
from workorders.orders.errors import ImportRejected
from workorders.orders.models import OrderDraft, WorkOrder
from workorders.tasks import queries
from workorders.tasks.errors import RuleBroken
from workorders.tasks.models import Task

YEAR = date.today().year
BOARDS = ["/tasks", "/tasks/mine"]


def version_of(html: str) -> str:
    return re.search(r'data-board-version="([^"]+)"', html).group(1)


def poll(client, path: str, version: str) -> int:
    """What the live board's poll gets: 204 when nothing it covers changed, else 200 with the fresh board."""
    separator = "&" if "?" in path else "?"
    return client.get(f"{path}{separator}{urlencode({'since': version})}", headers=HTMX).status_code


def seen(client, path: str) -> str:
    """The version of the page as the viewer has it now; an immediate poll must find it unchanged."""
    version = version_of(client.get(path).get_data(as_text=True))
    assert poll(client, path, version) == 204
    return version


def draft(route: list[str], **overrides) -> OrderDraft:
    values = {"customer": "Alpine Dairy", "product": "yoghurt sleeves", "quantity": 800, "priority": "normal"}
    return OrderDraft(route=route, **(values | {"due_date": date.today() + timedelta(days=5)} | overrides))


def csv_of(route: str, number: str = "") -> bytes:
    header = "number,customer,product,quantity,due_date,priority,route"
    return f"{header}\n{number},Baltic Fish,fish boxes,300,{date.today() + timedelta(days=4)},,{route}\n".encode()


# Each kind of change a board covers: what is there before the viewer looks, and the change itself (which must
# succeed). All of them happen in Printing, alice's department.
def _free(scene):
    return scene.make_task(process=scene.shop.offset)


def _bobs(status: str = "open"):
    return lambda scene: scene.make_task(process=scene.shop.offset, assignee=scene.shop.bob, status=status)


def _acted(response) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)


CHANGES: dict[str, tuple[Callable, Callable]] = {
    "claim": (_free, lambda scene, task: _acted(Person(scene.app, "bob").post(task, "claim", 1))),
    "release": (_bobs(), lambda scene, task: _acted(Person(scene.app, "bob").post(task, "release", 1))),
    "assign": (_free, lambda scene, task: _acted(Person(scene.app, "sam").post(task, "assign", 1, assignee="bob"))),
    "unassign": (_bobs(), lambda scene, task: _acted(Person(scene.app, "sam").post(task, "assign", 1, assignee=""))),
    "start": (_bobs(), lambda scene, task: _acted(Person(scene.app, "bob").post(task, "start", 1))),
    "pause": (_bobs("in_progress"), lambda scene, task: _acted(Person(scene.app, "bob").post(task, "pause", 1))),
    "complete": (
        _bobs("in_progress"),
        lambda scene, task: _acted(Person(scene.app, "bob").post(task, "complete", 1, good_qty=10, scrap_qty=0)),
    ),
    "cancel a work order": (
        _free,
        lambda scene, task: service.cancel_work_order(scene.shop.sam, task.work_order_id, task.version),
    ),
    "create a work order": (
        lambda scene: None,
        lambda scene, _: service.create_work_order(scene.shop.sam, draft(["OFFSET"])),
    ),
    "import": (lambda scene: None, lambda scene, _: service.import_csv(None, csv_of("OFFSET"))),
}


class Scene:
    def __init__(self, app, shop, make_task):
        self.app, self.shop, self.make_task = app, shop, make_task


@pytest.mark.parametrize("path", BOARDS)
@pytest.mark.parametrize("change", list(CHANGES))
def test_every_kind_of_change_in_the_department_refreshes_the_board(app, shop, make_task, change, path):
    scene = Scene(app, shop, make_task)
    make_task(process=shop.offset, assignee=shop.alice)  # so My tasks has a row of alice's own too
    before, act = CHANGES[change]
    task = before(scene)
    alice = logged_in(app, "alice")
    version = seen(alice, path)
    act(scene, task)
    assert poll(alice, path, version) == 200
    assert poll(alice, path, version_of(alice.get(path).get_data(as_text=True))) == 204  # and then it is quiet


@pytest.mark.parametrize("path", BOARDS)
def test_changes_in_other_departments_and_no_change_leave_the_board_alone(app, shop, make_task, path):
    cutting = make_task(process=shop.diecut)
    running = make_task(process=shop.diecut, assignee=shop.carol, status="in_progress")
    alice = logged_in(app, "alice")
    version = seen(alice, path)
    assert poll(alice, path, version) == 204  # nothing changed: asked again, still nothing
    carol = Person(app, "carol")
    _acted(carol.post(cutting, "claim", 1))
    _acted(carol.post(running, "complete", 1, good_qty=5, scrap_qty=0))
    service.create_work_order(shop.sam, draft(["DIECUT"]))
    service.import_csv(None, csv_of("DIECUT"))
    assert poll(alice, path, version) == 204


@pytest.mark.parametrize("path", BOARDS)
def test_changes_whose_sums_cancel_out_are_not_missed(app, shop, make_task, path):
    """An untouched task leaves (its work order is cancelled) while a new one arrives: the count and the sum of
    versions come back where they were; the new task's higher id still tells."""
    leaving = make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    version = seen(alice, path)
    service.cancel_work_order(shop.sam, leaving.work_order_id, 1)
    service.create_work_order(shop.sam, draft(["OFFSET"]))
    count, versions, _highest = version.split("-")[0].split(".")
    now = version_of(alice.get(path).get_data(as_text=True)).split("-")[0].split(".")
    assert now[:2] == [count, versions]  # what the old sums-only version would have missed
    assert poll(alice, path, version) == 200


def test_a_narrower_board_refreshes_on_its_departments_changes(app, shop, make_task):
    """A board of alice's own tasks covers her departments: bob's task changing refreshes it too (documented),
    a change in another department does not."""
    bobs = make_task(process=shop.offset, assignee=shop.bob)
    cutting = make_task(process=shop.diecut)
    alice = logged_in(app, "alice")
    path = "/tasks?assignee=me&q=box"
    version = seen(alice, path)
    _acted(Person(app, "carol").post(cutting, "claim", 1))
    assert poll(alice, path, version) == 204
    _acted(Person(app, "bob").post(bobs, "start", 1))
    assert poll(alice, path, version) == 200


def test_a_change_of_the_viewers_departments_refreshes_my_departments_board(app, shop, make_task):
    make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    version = seen(alice, "/tasks")
    shop.alice.departments.append(shop.cutting)
    db.session.commit()
    assert poll(alice, "/tasks", version) == 200


@pytest.mark.parametrize(
    ("viewer", "path"),
    [
        ("alice", "/tasks"),
        ("alice", "/tasks?department=all"),
        ("alice", "/tasks?department=CUT"),
        ("alice", "/tasks?status=all&page=2"),
        ("alice", "/tasks?assignee=me"),
        ("alice", "/tasks?q=0042"),
        ("sam", "/tasks?status=done"),
        ("admin", "/tasks"),
        ("admin", "/tasks/mine"),
        ("alice", "/tasks/mine"),
    ],
)
def test_the_page_and_its_poll_agree_on_the_version(app, shop, make_task, make_work_order, viewer, path):
    app.config["BOARD_PAGE_SIZE"] = 2
    order = make_work_order(number=f"WO-{YEAR}-0042")
    make_task(work_order=order, process=shop.offset)
    make_task(work_order=order, process=shop.diecut, status="done", assignee=shop.carol)
    for status in ("open", "paused", "in_progress", "done", "cancelled"):
        make_task(process=shop.offset, status=status, assignee=None if status in ("open", "cancelled") else shop.bob)
    seen(logged_in(app, viewer), path)


@pytest.mark.parametrize("path", [*BOARDS, "/tasks?q=box&assignee=bob"])
def test_an_unchanged_poll_is_one_query_after_the_users(app, shop, make_task, path):
    make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    version = version_of(alice.get(path).get_data(as_text=True))
    with count_queries() as statements:
        assert poll(alice, path, version) == 204
    assert len(statements) == 2, statements  # the session's user, then the version


HISTORY_YEAR = 2001  # numbers no factory hands out
_history = itertools.count(1)


def _finished_history(shop, count: int, days_ago: float = 30) -> None:
    """`count` done (and a few cancelled) Printing tasks of their own work orders, finished long ago, in bulk."""
    finished = datetime.now(UTC) - timedelta(days=days_ago)
    orders = [
        {
            "number": f"WO-{HISTORY_YEAR}-{next(_history):04d}",
            "customer": "History Ltd",
            "product": "old boxes",
            "quantity": 10,
            "due_date": date.today() - timedelta(days=60),
            "priority": "normal",
            "status": "done",
        }
        for n in range(count)
    ]
    ids = db.session.execute(insert(WorkOrder).returning(WorkOrder.id, sort_by_parameter_order=True), orders).scalars()
    db.session.execute(
        insert(Task),
        [
            {
                "work_order_id": order_id,
                "process_id": shop.offset.id,
                "department_id": shop.printing.id,
                "sequence": 1,
                "planned_qty": 10,
                "good_qty": 10,
                "status": "cancelled" if n % 10 == 0 else "done",
                "assignee_id": None if n % 10 == 0 else shop.bob.id,
                "version": 4,
                "updated_at": finished,
            }
            for n, order_id in enumerate(ids.all())
        ],
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("viewer", "path"),
    [
        ("alice", "/tasks"),
        ("alice", "/tasks?status=all"),
        ("alice", "/tasks?status=done&page=2"),
        ("sam", "/tasks"),
        ("alice", "/tasks/mine"),
        ("alice", "/work-orders"),
        ("sam", "/work-orders?status=all"),
        ("sam", "/workload"),
    ],
)
def test_pages_cost_the_same_queries_however_much_history_there_is(app, shop, make_task, viewer, path):
    app.config["BOARD_PAGE_SIZE"] = 5
    for n in range(8):
        make_task(process=shop.offset, assignee=shop.alice if n % 3 == 0 else None)
    _finished_history(shop, 12)
    client = logged_in(app, viewer)

    def queries_for_page() -> int:
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    little = queries_for_page()
    _finished_history(shop, 300)
    assert queries_for_page() == little


def test_done_and_cancelled_are_counted_over_the_last_week_and_labelled_so(app, shop, make_task):
    make_task(process=shop.offset, status="done", assignee=shop.bob)
    make_task(process=shop.offset, status="cancelled")
    _finished_history(shop, 5, days_ago=8)
    html = board(logged_in(app, "alice"))
    counts = dict(re.findall(r'class="count status-(\w+)".*?<strong>(\d+)</strong>', html, re.S))
    assert counts["done"] == "1" and counts["cancelled"] == "1"
    assert re.search(r'status-done"[^>]*>\s*Done <small>last 7 days</small>', html)


def test_finished_tasks_list_newest_first_after_the_unfinished_ones(app, shop, make_task):
    older = make_task(process=shop.offset, status="done", assignee=shop.bob)
    newer = make_task(process=shop.offset, status="done", assignee=shop.bob)
    db.session.execute(update(Task).where(Task.id == older.id).values(updated_at=datetime.now(UTC) - timedelta(days=2)))
    db.session.commit()
    unfinished = make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    assert row_ids(board(alice, status="done")) == [newer.id, older.id]
    assert row_ids(board(alice, status="all")) == [unfinished.id, newer.id, older.id]


def test_lists_reach_so_far_into_history_then_ask_for_a_narrower_search(app, shop, make_task, monkeypatch):
    monkeypatch.setattr(queries, "FINISHED_REACH", 3)
    app.config["BOARD_PAGE_SIZE"] = 2
    open_task = make_task(process=shop.offset)
    _finished_history(shop, 5)
    alice = logged_in(app, "alice")
    html = board(alice, status="all")
    assert "Page 1 of 2 · 4+ tasks" in html and row_ids(html)[0] == open_task.id
    assert len(row_ids(board(alice, status="all", page=2))) == 2
    deep = alice.get("/tasks", query_string={"status": "all", "page": 3})
    assert deep.status_code == 400 and "narrow it" in deep.get_data(as_text=True)
    oldest = select(WorkOrder.number).where(WorkOrder.number.like(f"WO-{HISTORY_YEAR}-%")).order_by(WorkOrder.id)
    old = db.session.scalars(oldest).first()
    assert len(row_ids(board(alice, q=old, status="all"))) == 1  # what the list no longer reaches, search finds


def test_the_api_total_counts_unfinished_tasks_and_finished_ones_as_far_as_the_list_reaches(
    app, shop, make_task, monkeypatch
):
    from workorders.users.service import issue_api_token

    monkeypatch.setattr(queries, "FINISHED_REACH", 3)
    make_task(process=shop.offset)
    _finished_history(shop, 5)
    headers = {"Authorization": f"Bearer {issue_api_token('alice')}"}
    client = app.test_client()
    assert client.get("/api/v1/tasks", headers=headers).get_json()["total"] == 1
    assert client.get("/api/v1/tasks?status=all", headers=headers).get_json()["total"] == 4
    assert client.get("/api/v1/tasks?status=done&per_page=2&page=2", headers=headers).status_code == 200
    past = client.get("/api/v1/tasks?status=done&per_page=2&page=3", headers=headers)
    assert past.status_code == 400 and past.get_json()["code"] == "business_rule"


def test_the_work_orders_list_reaches_as_far_and_lists_finished_newest_first(app, shop, monkeypatch):
    from workorders.orders import queries as order_queries

    monkeypatch.setattr(order_queries, "FINISHED_REACH", 3)
    app.config["BOARD_PAGE_SIZE"] = 2
    _finished_history(shop, 5)
    sam = Browser(app, "sam")
    html = sam.get("/work-orders?status=done").get_data(as_text=True)
    numbers = db.session.scalars(select(WorkOrder.number).order_by(WorkOrder.id.desc()).limit(2)).all()
    assert re.findall(r'class="wo-number"[^>]*>([^<]+)<', html) == numbers and "3+ work orders" in html
    assert sam.get("/work-orders?status=done&page=3").status_code == 400


@pytest.mark.parametrize(
    ("q", "expected"),
    [("0042", {"tail", "tail last year", "five digits"}), ("GIFT", {"tail"}), ("vinter", {"wine"}),
     (f"WO-{YEAR}-0042", {"tail"}), ("box", {"tail", "tail last year", "five digits"})],
)  # fmt: skip
def test_search_by_number_tail_product_or_customer(app, shop, make_task, make_work_order, q, expected):
    orders = {
        "tail": make_work_order(number=f"WO-{YEAR}-0042", product="gift boxes"),
        "tail last year": make_work_order(number=f"WO-{YEAR - 1}-0042", product="lid boxes"),
        "five digits": make_work_order(number=f"WO-{YEAR}-10042", product="shoe boxes"),
        "wine": make_work_order(number=f"WO-{YEAR}-0100", product="wine labels", customer="Vinter Wines"),
    }
    tasks = {name: make_task(work_order=order, process=shop.offset).id for name, order in orders.items()}
    found = set(row_ids(board(logged_in(app, "alice"), q=q, status="all")))
    assert found == {tasks[name] for name in expected}


def test_numbers_go_past_9999_and_sort_as_numbers(app, shop, make_task, make_work_order):
    last_four = make_work_order(number=f"WO-{YEAR}-9999", due_date=date.today() + timedelta(days=3))
    created = service.create_work_order(shop.sam, draft(["OFFSET"], due_date=date.today() + timedelta(days=3)))
    assert created.number == f"WO-{YEAR}-10000"
    earlier_year = make_work_order(number=f"WO-{YEAR - 1}-12000", due_date=date.today() + timedelta(days=3))
    make_task(work_order=last_four, process=shop.offset)
    make_task(work_order=earlier_year, process=shop.offset)
    html = board(logged_in(app, "alice"))
    numbers = re.findall(r"WO-\d{4}-\d+", html)
    ordered = [f"WO-{YEAR - 1}-12000", f"WO-{YEAR}-9999", f"WO-{YEAR}-10000"]
    assert [number for number in dict.fromkeys(numbers) if number in ordered] == ordered
    listing = Browser(app, "sam").get("/work-orders").get_data(as_text=True)
    assert re.findall(r'class="wo-number"[^>]*>([^<]+)<', listing) == ordered


def test_the_api_documents_and_serves_five_digit_numbers(app, shop, make_task, make_work_order):
    from tests.test_api import Api
    from workorders.users.service import issue_api_token

    task = make_task(work_order=make_work_order(number=f"WO-{YEAR}-10001"), process=shop.offset)
    api = Api(app.test_client(), issue_api_token("alice"))  # checks every answer against the OpenAPI document
    assert api.get(f"/tasks/{task.id}").get_json()["task"]["work_order"] == f"WO-{YEAR}-10001"
    assert api.get("/tasks").get_json()["items"][0]["work_order"] == f"WO-{YEAR}-10001"


def test_imported_numbers_may_have_five_digits_but_only_one_spelling(app, shop):
    service.import_csv(None, csv_of("OFFSET", f"WO-{YEAR}-12345"))
    assert db.session.scalar(select(WorkOrder.number)) == f"WO-{YEAR}-12345"
    with pytest.raises(ImportRejected) as caught:
        service.import_csv(None, csv_of("OFFSET", f"WO-{YEAR}-01234"))
    assert caught.value.problems == [
        (2, f"number must look like WO-2026-0042 or be left blank, not 'WO-{YEAR}-01234'.")
    ]
    assert service.next_numbers(YEAR, 2) == [f"WO-{YEAR}-12346", f"WO-{YEAR}-12347"]


def test_the_used_up_error_names_the_column_limit(app, shop, make_work_order):
    make_work_order(number=f"WO-{YEAR}-99999998")
    assert service.next_numbers(YEAR, 1) == [f"WO-{YEAR}-99999999"]
    with pytest.raises(RuleBroken) as caught:
        service.next_numbers(YEAR, 2)
    assert "at most 16 characters" in str(caught.value) and f"WO-{YEAR}-99999999 is the last" in str(caught.value)


def _plans(app, run: Callable[[], None]) -> list[str]:
    """EXPLAIN of each statement reading tasks or work orders that `run` sends, with sequential scans off: which
    index each could use (the test tables are too small for the planner to pick one on its own)."""
    sent: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_):
        if "EXPLAIN" not in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    plans = []
    with db.engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        for statement, parameters in sent:
            if re.search(r"FROM (tasks|work_orders)\b", statement):
                rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars()
                plans.append("\n".join(rows))
    return plans


@postgres_only
def test_on_postgresql_the_poll_board_and_search_are_served_by_the_new_indexes(app, shop, make_task):
    make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    version = version_of(board(alice))
    poll_plans = _plans(app, lambda: poll(alice, "/tasks", version))
    assert len(poll_plans) == 1 and "Index Only Scan using ix_tasks_not_done" in poll_plans[0]
    board_plans = "\n".join(_plans(app, lambda: board(alice, status="all")))
    assert "ix_tasks_not_done" in board_plans and "ix_tasks_finished" in board_plans
    search = select(WorkOrder.id).where(queries.search_orders("0042"))
    sql = str(search.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(connection.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")).scalars())
    assert "Bitmap Index Scan on ix_work_orders_search" in plan, plan
