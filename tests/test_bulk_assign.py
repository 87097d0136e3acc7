"""Bulk assign (SPEC "Web pages": POST /tasks/assign; "JSON API": POST /api/v1/tasks/assign).

A supervisor ticks tasks on the board and gives them all to one person. Each task gets the outcome a single
assign would give it, the ones that apply are applied in one transaction, and the answer lists every task: for
htmx with the fresh rows out of band, without JavaScript a 303 or a page with the same status, over the API as
JSON. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from tests.helpers import Browser, attr, count_queries
from tests.test_api import Api
from tests.test_lean_actions import database_gone_after_the_transaction
from workorders.extensions import db
from workorders.notifications.models import Notification
from workorders.tasks.models import Task, TaskEvent
from workorders.users.service import issue_api_token

CAP = 4


@pytest.fixture
def app_config() -> dict:
    return {"TASK_CAP_PER_OPERATOR": CAP}


@pytest.fixture
def free_tasks(shop, make_task):
    """`count` free, open Printing tasks at version 1; returns them."""

    def make(count: int) -> list[Task]:
        return [make_task(process=shop.offset) for _ in range(count)]

    return make


def ticked(*tasks: Task, version: int | None = None) -> list[str]:
    """The `task` fields the board's checkboxes send: id:version, as the supervisor saw each task."""
    return [f"{task.id}:{version or task.version}" for task in tasks]


def results(html: str) -> dict[int, dict[str, str]]:
    """Each listed task's data-* attributes, by task id."""
    found = {}
    for match in re.finditer(r"<li (data-task-id=[^>]*)>", html):
        data = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(1)))
        found[int(data["task-id"])] = data
    return found


def state(task: Task) -> tuple[str | None, str, int, int]:
    """(holder, status, version, events) of the task as the database has it now."""
    db.session.rollback()
    fresh = db.session.get(Task, task.id, populate_existing=True)
    events = db.session.scalar(select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task.id))
    return fresh.owner_username, fresh.status, fresh.version, events


def bulk(browser: Browser, tasks: list[str], assignee: str = "bob", htmx: bool = True, **fields):
    data = {"task": tasks, "assignee": assignee, "next": "/tasks?status=all", **fields}
    return browser.post("/tasks/assign", data, htmx=htmx)


def test_every_task_applied_is_200_with_the_summary_in_the_message_area_and_the_rows_out_of_band(app, shop, free_tasks):
    tasks = free_tasks(3)
    response = bulk(Browser(app, "sam"), ticked(*tasks))
    body = response.get_data(as_text=True)

    assert response.status_code == 200, body
    assert "HX-Retarget" not in response.headers
    assert '<div id="messages" hx-swap-oob="innerHTML">' in body
    assert "Assigned 3 to Bob Baker." in body
    assert {task_id: data["outcome"] for task_id, data in results(body).items()} == {t.id: "assigned" for t in tasks}
    for task in tasks:
        assert attr(body, f"task-{task.id}", "hx-swap-oob") == "true"
        assert attr(body, f"task-{task.id}", "data-assignee") == "bob"
        assert attr(body, f"task-{task.id}", "data-version") == "2"
        assert state(task) == ("bob", "open", 2, 1)
    # The form comes back too, nothing chosen, with the loads as the transaction left them.
    assert attr(body, "bulk-assign", "hx-swap-oob") == "true"
    assert "Bob Baker (3)" in body


def test_mixed_outcomes_in_one_request_each_as_a_single_assign_would_answer(
    app, shop, free_tasks, make_task, make_user
):
    """Applied, a conflict naming the holder, another department's task, a finished task, and the cap filling up:
    one answer, 409 (a conflict), and each task as a single assign would have left it."""
    dave = make_user("operator", [shop.printing], "dave", display_name="Dave Dyer")
    make_task(process=shop.offset, assignee=dave)  # dave holds one already: room for CAP - 1 more
    fits = free_tasks(CAP - 1)
    over_cap = free_tasks(1)[0]  # decided after the others (higher id): the cap is full by then
    claimed = make_task(process=shop.offset)
    cutting = make_task(process=shop.diecut)
    done = make_task(process=shop.offset, status="done", assignee=shop.alice)
    Browser(app, "alice").post(f"/tasks/{claimed.id}/claim", {"version": "1"})  # after sam's board showed it free

    response = bulk(Browser(app, "sam"), ticked(*fits, over_cap, cutting, done, claimed, version=1), "dave")
    body = response.get_data(as_text=True)

    assert response.status_code == 409, body
    assert (response.headers["HX-Retarget"], response.headers["HX-Reswap"]) == ("#modal-slot", "innerHTML")
    assert attr(body, "task-dialog", "data-code") == "task_conflict"
    listed = results(body)
    assert {task_id: (data["outcome"], data["current-owner"]) for task_id, data in listed.items()} == {
        **{task.id: ("assigned", "dave") for task in fits},
        over_cap.id: ("business_rule", ""),
        claimed.id: ("task_conflict", "alice"),
        cutting.id: ("permission_denied", ""),
        done.id: ("business_rule", "alice"),
    }
    assert f"Assigned {CAP - 1} to Dave Dyer." in body
    assert f"{claimed.work_order.number} · Offset printing: Alice Archer has it now." in body
    assert f"Dave Dyer holds {CAP} unfinished tasks, the most allowed ({CAP})" in body
    assert 'data-action="refresh"' in body
    # Every row out of band, as the transaction left it or saw it.
    assert attr(body, f"task-{claimed.id}", "data-assignee") == "alice"
    assert attr(body, f"task-{over_cap.id}", "data-assignee") == ""
    for task in fits:
        assert attr(body, f"task-{task.id}", "data-assignee") == "dave"
        assert state(task) == ("dave", "open", 2, 1)
    assert state(over_cap) == (None, "open", 1, 0)
    assert state(claimed) == ("alice", "open", 2, 1)
    assert state(cutting) == (None, "open", 1, 0)
    assert state(done) == ("alice", "done", 1, 0)


@pytest.mark.parametrize(
    ("case", "status", "outcome"),
    [
        ("another_department", 403, "permission_denied"),
        ("done", 400, "business_rule"),
        ("not_a_member", 400, "business_rule"),
        ("missing", 404, "not_found"),
    ],
)
def test_without_a_conflict_the_first_refusal_sets_the_status(app, shop, free_tasks, make_task, case, status, outcome):
    applied = free_tasks(1)[0]
    assignee = "carol" if case == "not_a_member" else "bob"
    refused = {
        "another_department": lambda: ticked(make_task(process=shop.diecut)),
        "done": lambda: ticked(make_task(process=shop.offset, status="done", assignee=shop.alice)),
        "not_a_member": lambda: [],
        "missing": lambda: ["424242:1"],
    }[case]()
    response = bulk(Browser(app, "sam"), ticked(applied) + refused, assignee)
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    outcomes = sorted(data["outcome"] for data in results(body).values())
    if case == "not_a_member":
        assert outcomes == ["business_rule"]  # carol works in die-cutting: the Printing task is not hers to get
        assert state(applied) == (None, "open", 1, 0)
    else:
        assert outcomes == sorted(["assigned", outcome])
        assert state(applied) == ("bob", "open", 2, 1)


def test_an_operator_gets_403_and_nothing_changes(app, shop, free_tasks):
    tasks = free_tasks(2)
    response = bulk(Browser(app, "alice"), ticked(*tasks))
    assert response.status_code == 403
    assert {data["outcome"] for data in results(response.get_data(as_text=True)).values()} == {"permission_denied"}
    assert [state(task) for task in tasks] == [(None, "open", 1, 0)] * 2


def test_a_stale_view_is_a_conflict_only_when_the_holder_changed(app, shop, free_tasks):
    """As a single assign: the version seen decides only whether the holder the supervisor saw is still the one."""
    moved, back_to_free = free_tasks(2)
    alice = Browser(app, "alice")
    alice.post(f"/tasks/{moved.id}/claim", {"version": "1"})
    alice.post(f"/tasks/{back_to_free.id}/claim", {"version": "1"})
    alice.post(f"/tasks/{back_to_free.id}/release", {"version": "2"})

    response = bulk(Browser(app, "sam"), ticked(moved, back_to_free, version=1))
    listed = results(response.get_data(as_text=True))
    assert response.status_code == 409
    assert (listed[moved.id]["outcome"], listed[moved.id]["current-owner"]) == ("task_conflict", "alice")
    assert listed[back_to_free.id]["outcome"] == "assigned"  # free when seen, free now: it still applies
    assert state(back_to_free) == ("bob", "open", 4, 3)


def test_a_started_task_is_paused_as_it_moves_and_a_task_already_theirs_is_assigned_unchanged(app, shop, make_task):
    started = make_task(process=shop.offset, assignee=shop.alice, status="in_progress")
    already = make_task(process=shop.offset, assignee=shop.bob)
    response = bulk(Browser(app, "sam"), ticked(started, already))
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert {data["outcome"] for data in results(body).values()} == {"assigned"}
    assert f"{already.work_order.number} · Offset printing is already assigned to Bob Baker." in body
    assert state(started) == ("bob", "paused", 2, 1)
    assert state(already) == ("bob", "open", 1, 0)


def test_one_event_per_applied_task_and_notifications_for_the_people_concerned(app, shop, free_tasks, make_task):
    taken_from_alice = make_task(process=shop.offset, assignee=shop.alice)
    tasks = [*free_tasks(2), taken_from_alice]
    response = bulk(Browser(app, "sam"), ticked(*tasks))
    assert response.status_code == 200
    db.session.rollback()
    events = db.session.execute(
        select(TaskEvent.task_id, TaskEvent.action, TaskEvent.to_assignee_id, TaskEvent.version).order_by(
            TaskEvent.task_id
        )
    ).all()
    assert events == [(task.id, "assign", shop.bob.id, 2) for task in sorted(tasks, key=lambda task: task.id)]
    kinds = db.session.execute(select(Notification.user_id, Notification.kind, Notification.task_id)).all()
    assert sorted(kinds) == sorted(
        [(shop.bob.id, "assigned", task.id) for task in tasks] + [(shop.alice.id, "unassigned", taken_from_alice.id)]
    )


def test_assigning_to_nobody_unassigns(app, shop, make_task):
    held = [make_task(process=shop.offset, assignee=shop.alice) for _ in range(2)]
    response = bulk(Browser(app, "sam"), ticked(*held), "")
    assert response.status_code == 200
    assert "Unassigned 2." in response.get_data(as_text=True)
    assert [state(task) for task in held] == [(None, "open", 2, 1)] * 2
    assert db.session.scalar(select(TaskEvent.action).limit(1)) == "unassign"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"task": []}, "Tick at least one task"),
        ({"task": ["1"]}, "id:version"),
        ({"task": ["1:x"]}, "id:version"),
        ({"task": ["-1:1"]}, "id:version"),
        ({"task": ["1:-1"]}, "id:version"),
        ({"task": ["1:1.5"]}, "id:version"),
        ({"task": ["1e9:1"]}, "id:version"),
        ({"task": [f"{2**31}:1"]}, "id:version"),
        ({"task": ["9" * 5000 + ":1"]}, "id:version"),
        ({"task": ["TWICE", "TWICE"]}, "is in the list twice"),
        ({"task": [f"{n}:1" for n in range(1, 202)]}, "At most 200 tasks"),
        ({"assignee": None}, "Choose whom to give the ticked tasks to"),
        ({"assignee": "x" * 65}, "assignee"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(app, shop, free_tasks, fields, message):
    tasks = free_tasks(2)
    data = {"task": ticked(*tasks), "assignee": "bob", **fields}
    if data["task"] == ["TWICE", "TWICE"]:
        data["task"] = ticked(tasks[0], tasks[0])
    if data["assignee"] is None:
        del data["assignee"]
    browser = Browser(app, "sam")
    for htmx in (True, False):
        response = browser.post("/tasks/assign", data, htmx=htmx)
        body = response.get_data(as_text=True)
        assert response.status_code == 400, body
        assert message in body
    assert [state(task) for task in tasks] == [(None, "open", 1, 0)] * 2


def test_without_javascript_all_applied_is_a_303_back_with_a_flash(app, shop, free_tasks):
    tasks = free_tasks(2)
    browser = Browser(app, "sam")
    response = bulk(browser, ticked(*tasks), htmx=False)
    assert (response.status_code, response.headers["Location"]) == (303, "/tasks?status=all")
    page = browser.get("/tasks?status=all").get_data(as_text=True)
    assert "Assigned 2 to Bob Baker." in page
    assert [attr(page, f"task-{task.id}", "data-assignee") for task in tasks] == ["bob", "bob"]


def test_without_javascript_a_refusal_is_a_page_with_the_status_each_outcome_and_a_link_back(app, shop, free_tasks):
    applied, claimed = free_tasks(2)
    Browser(app, "alice").post(f"/tasks/{claimed.id}/claim", {"version": "1"})
    response = bulk(Browser(app, "sam"), ticked(applied, claimed, version=1), htmx=False)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'data-code="task_conflict"' in body
    assert '<html lang="' in body  # a whole page
    listed = results(body)
    assert (listed[applied.id]["outcome"], listed[claimed.id]["current-owner"]) == ("assigned", "alice")
    assert '<a class="button primary" href="/tasks?status=all">' in body


def test_the_supervisors_board_has_a_checkbox_per_assignable_row_and_the_bulk_form(app, shop, free_tasks, make_task):
    tasks = free_tasks(2)
    done = make_task(process=shop.offset, status="done", assignee=shop.alice)
    make_task(process=shop.offset, assignee=shop.bob)
    browser = Browser(app, "sam")
    page = browser.get("/tasks?status=all").get_data(as_text=True)
    for task in tasks:
        box = re.search(rf'<input type="checkbox" class="pick" name="task" value="{task.id}:1"[^>]*>', page)
        assert box is not None
        assert 'form="bulk-assign"' in box.group(0)
        assert f'aria-label="Select {task.work_order.number} step 1"' in box.group(0)
        assert "checked" not in box.group(0)
    assert f'value="{done.id}:' not in page  # a finished task cannot be assigned: no box
    form = re.search(r'<form id="bulk-assign".*?</form>', page, re.S).group(0)
    assert 'method="post" action="/tasks/assign"' in form
    assert 'name="csrf_token"' in form and 'name="next" value="/tasks?status=all"' in form
    assert '<option value="">Nobody</option>' in form
    assert "Bob Baker (1)" in form and "Alice Archer (0)" in form
    assert 'href="/tasks?select=all&amp;status=all"' in page or 'href="/tasks?status=all&amp;select=all"' in page

    all_ticked = browser.get("/tasks?status=all&select=all").get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" class="pick"[^>]*>', all_ticked)
    assert len(boxes) == 3 and all(" checked" in box for box in boxes)


def test_an_operators_board_has_no_checkboxes_and_no_bulk_form(app, shop, free_tasks):
    free_tasks(2)
    page = Browser(app, "alice").get("/tasks").get_data(as_text=True)
    assert 'class="pick"' not in page
    assert 'id="bulk-assign"' not in page


def test_the_workload_shows_the_new_loads_at_once(app, shop, free_tasks):
    tasks = free_tasks(3)
    browser = Browser(app, "sam")
    assert bulk(browser, ticked(*tasks), "alice").status_code == 200
    body = browser.get("/workload").get_data(as_text=True)
    row = re.search(r'<tr data-username="alice"([^>]*)>', body).group(1)
    assert 'data-open="3"' in row


# Statements of a bulk assign, whatever the count: the session's user; the tasks' lock; the assignee's row (locked,
# with their departments) and their load; the UPDATE with its events (one statement on PostgreSQL; on SQLite the
# file's write lock first, then an executemany each); the notifications' INSERT; the assign choices of the rows.
BULK_STATEMENTS = {"postgresql": 7, "sqlite": 9}


@pytest.mark.parametrize("count", [5, 50])
def test_a_bulk_assign_costs_the_same_statements_for_5_or_50_tasks(app, shop, make_task, make_work_order, count):
    app.config["TASK_CAP_PER_OPERATOR"] = 100
    tasks = [make_task(process=shop.offset, work_order=make_work_order()) for _ in range(count)]
    browser, fields = Browser(app, "sam"), ticked(*tasks)  # read before counting: the test's session reads too
    with count_queries() as statements:
        response = bulk(browser, fields)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(statements) == BULK_STATEMENTS[db.engine.dialect.name], statements


def test_the_answer_renders_with_the_database_gone_after_the_commit(app, shop, free_tasks):
    tasks = free_tasks(2)
    browser = Browser(app, "sam")
    with database_gone_after_the_transaction(app) as gone:
        response = bulk(browser, ticked(*tasks))
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert gone == ["gone"], "nothing was sent to the database after the commit"
    assert attr(body, f"task-{tasks[0].id}", "data-assignee") == "bob"


def test_a_failure_while_writing_rolls_everything_back_with_a_503(app, shop, free_tasks):
    tasks = free_tasks(3)

    def fail_the_events(_conn, _cursor, statement, *_args) -> None:
        if "task_events" in statement and "INSERT" in statement:
            raise OperationalError(statement, {}, ConnectionError("server closed the connection unexpectedly"))

    browser = Browser(app, "sam")
    event.listen(db.engine, "before_cursor_execute", fail_the_events)
    try:
        response = bulk(browser, ticked(*tasks), htmx=False)
    finally:
        event.remove(db.engine, "before_cursor_execute", fail_the_events)
    assert response.status_code == 503
    assert "nothing was changed" in response.get_data(as_text=True)
    assert [state(task) for task in tasks] == [(None, "open", 1, 0)] * 3


class TestApi:
    @pytest.fixture
    def api(self, app, shop) -> Api:
        return Api(app.test_client(), issue_api_token("sam"))

    def test_mixed_results_with_the_documented_schema(self, app, shop, free_tasks, api):
        applied, claimed = free_tasks(2)
        Browser(app, "alice").post(f"/tasks/{claimed.id}/claim", {"version": "1"})
        body = {"assignee": "bob", "tasks": [{"id": t.id, "version": 1} for t in (applied, claimed)]}
        body["tasks"].append({"id": 424242, "version": 1})
        response = api.post("/tasks/assign", body)  # checked against the OpenAPI document by Api
        assert response.status_code == 409
        answer = response.get_json()
        assert answer["assigned"] == 1
        by_id = {result["id"]: result for result in answer["results"]}
        assert (by_id[applied.id]["outcome"], by_id[applied.id]["task"]["assignee"]) == ("assigned", "bob")
        assert by_id[applied.id]["task"]["version"] == 2
        assert (by_id[claimed.id]["outcome"], by_id[claimed.id]["current_owner"]) == ("task_conflict", "alice")
        assert "Alice Archer (alice)" in by_id[claimed.id]["detail"]
        assert (by_id[424242]["outcome"], by_id[424242]["task"]) == ("not_found", None)

    def test_all_applied_is_200_and_null_unassigns(self, app, shop, make_task, api):
        held = make_task(process=shop.offset, assignee=shop.alice)
        response = api.post("/tasks/assign", {"assignee": None, "tasks": [{"id": held.id, "version": 1}]})
        assert response.status_code == 200
        assert response.get_json()["results"][0]["task"]["assignee"] is None
        assert state(held) == (None, "open", 2, 1)

    def test_an_operator_gets_403(self, app, shop, free_tasks):
        task = free_tasks(1)[0]
        response = Api(app.test_client(), issue_api_token("alice")).post(
            "/tasks/assign", {"assignee": "bob", "tasks": [{"id": task.id, "version": 1}]}
        )
        assert response.status_code == 403
        assert response.get_json()["results"][0]["outcome"] == "permission_denied"

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"tasks": [{"id": 1, "version": 1}]}, "assignee is required"),
            ({"assignee": "bob"}, "tasks must be a list"),
            ({"assignee": "bob", "tasks": []}, "Tick at least one task"),
            ({"assignee": "bob", "tasks": [1]}, "tasks must be a list of objects"),
            ({"assignee": "bob", "tasks": [{"id": 1}]}, "version is required"),
            ({"assignee": "bob", "tasks": [{"id": -1, "version": 1}]}, "id must be a whole number"),
            ({"assignee": "bob", "tasks": [{"id": 1, "version": 1.5}]}, "version must be a whole number"),
            ({"assignee": "bob", "tasks": [{"id": 1, "version": 1, "x": 1}]}, "Unknown field 'x' in tasks"),
            ({"assignee": "bob", "tasks": [{"id": 1, "version": 1}] * 2}, "in the list twice"),
            ({"assignee": "bob", "tasks": [{"id": n, "version": 1} for n in range(201)]}, "At most 200"),
            ({"assignee": 7, "tasks": [{"id": 1, "version": 1}]}, "assignee must be a username"),
            ({"assignee": "bob", "tasks": [], "next": "/"}, "Unknown field 'next'"),
            ([], "must be a JSON object"),
        ],
    )
    def test_bad_bodies_are_400_and_change_nothing(self, app, shop, free_tasks, api, body, message):
        task = free_tasks(1)[0]
        response = api.post("/tasks/assign", body)
        assert response.status_code == 400
        assert message in response.get_json()["detail"]
        assert state(task) == (None, "open", 1, 0)

    def test_a_body_that_is_not_json_is_415(self, app, shop, api):
        response = api.post("/tasks/assign", None, json=None, data={"assignee": "bob"})
        assert response.status_code == 415
