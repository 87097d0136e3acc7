"""Every action × role × task state, as htmx, as a plain form post and over the API (SPEC "Task states", "Outcomes").

Each case sets a Printing task into a state, lets one person act on it with the version they saw, and checks
the status code, the error code, the headers, the markup hooks, the task in the database and its events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from tests.helpers import HTMX, attr, csrf_token, logged_in
from tests.test_api import Api
from workorders.extensions import db
from workorders.tasks.models import Task, TaskEvent
from workorders.users.service import issue_api_token

# Task states: (status, holder). Tasks start at version 3, so version 2 is "stale" and 3 is "fresh".
STATES = {
    "open_free": ("open", None),
    "open_alice": ("open", "alice"),
    "progress_alice": ("in_progress", "alice"),
    "paused_alice": ("paused", "alice"),
    "paused_free": ("paused", None),
    "done_alice": ("done", "alice"),
    "cancelled": ("cancelled", None),
}
FRESH, STALE = 3, 2
FIELDS = {"assign": {"assignee": "bob"}, "complete": {"good_qty": "4990", "scrap_qty": "10"}}


@dataclass(frozen=True)
class Case:
    action: str
    state: str
    actor: str
    status: int
    code: str | None = None  # error code; None for 200
    after: tuple[str, str | None] | None = None  # (status, holder) after success; None: unchanged
    version: int = FRESH
    fields: dict | None = None

    @property
    def id(self) -> str:
        stale = "-stale" if self.version == STALE else ""
        return f"{self.action}-{self.state}-{self.actor}{stale}-{self.status}"


def ok(action, state, actor, after=None, **kw) -> Case:
    return Case(action, state, actor, 200, None, after, **kw)


def no(action, state, actor, status, **kw) -> Case:
    code = {400: "business_rule", 403: "permission_denied", 409: "task_conflict"}[status]
    return Case(action, state, actor, status, code, **kw)


CASES = [
    # claim: operators and supervisors of the department, open or paused, nobody holding it
    ok("claim", "open_free", "alice", ("open", "alice")),
    ok("claim", "paused_free", "bob", ("paused", "bob")),
    ok("claim", "open_free", "sam", ("open", "sam")),
    ok("claim", "open_free", "admin", ("open", "admin")),
    ok("claim", "open_free", "alice", ("open", "alice"), version=STALE),  # an old version never blocks
    ok("claim", "open_alice", "alice"),  # already yours: 200, nothing changes
    ok("claim", "progress_alice", "alice", version=STALE),  # the answer was lost; asking again is fine
    no("claim", "open_free", "carol", 403),  # another department
    no("claim", "open_free", "carol", 409, version=STALE),
    # someone else's: always a conflict naming the holder, whatever version was sent (a scanner may not know it)
    no("claim", "open_alice", "bob", 409),
    no("claim", "open_alice", "bob", 409, version=STALE),
    no("claim", "progress_alice", "bob", 409),
    no("claim", "paused_alice", "bob", 409),
    no("claim", "done_alice", "bob", 409),
    no("claim", "open_alice", "sam", 409),  # supervisors assign, they do not snatch
    no("claim", "done_alice", "alice", 400),
    no("claim", "cancelled", "alice", 400),
    no("claim", "cancelled", "alice", 409, version=STALE),
    # release: the holder or a supervisor, open or paused
    ok("release", "open_alice", "alice", ("open", None)),
    ok("release", "paused_alice", "alice", ("paused", None)),
    ok("release", "open_alice", "sam", ("open", None)),
    ok("release", "open_alice", "admin", ("open", None)),
    no("release", "open_alice", "bob", 403),
    no("release", "open_alice", "carol", 403),
    no("release", "progress_alice", "alice", 400),  # pause first
    no("release", "progress_alice", "sam", 400),
    no("release", "open_free", "alice", 400),
    no("release", "open_free", "alice", 409, version=STALE),
    no("release", "done_alice", "alice", 400),
    # assign: supervisors of the department, any unfinished task; a started one is paused as it moves
    ok("assign", "open_free", "sam", ("open", "bob")),
    ok("assign", "open_alice", "sam", ("open", "bob")),
    ok("assign", "progress_alice", "sam", ("paused", "bob")),
    ok("assign", "paused_alice", "admin", ("paused", "bob")),
    ok("assign", "open_alice", "sam", ("open", None), fields={"assignee": ""}),  # empty = unassign
    ok("assign", "open_alice", "sam", fields={"assignee": "alice"}),  # already hers: no change
    no("assign", "open_free", "alice", 403),
    no("assign", "open_free", "carol", 403),
    no("assign", "open_free", "sam", 400, fields={"assignee": "carol"}),  # not in Printing
    no("assign", "open_free", "sam", 400, fields={"assignee": "ghost"}),
    no("assign", "open_free", "sam", 400, fields={"assignee": "gone"}),  # deactivated
    no("assign", "done_alice", "sam", 400),
    no("assign", "cancelled", "sam", 400),
    # start: the holder, open or paused (the previous step is tested below)
    ok("start", "open_alice", "alice", ("in_progress", "alice")),
    ok("start", "paused_alice", "alice", ("in_progress", "alice")),
    ok("start", "progress_alice", "alice"),  # already started: nothing changes
    no("start", "open_alice", "bob", 403),
    no("start", "open_alice", "sam", 403),
    no("start", "open_alice", "bob", 409, version=STALE),
    no("start", "open_free", "alice", 400),  # claim it first
    no("start", "done_alice", "alice", 400),
    # pause: the holder, in progress
    ok("pause", "progress_alice", "alice", ("paused", "alice")),
    ok("pause", "paused_alice", "alice"),
    no("pause", "progress_alice", "bob", 403),
    no("pause", "open_alice", "alice", 400),
    no("pause", "open_alice", "alice", 409, version=STALE),
    # complete: the holder, in progress, with counts ≥ 0
    ok("complete", "progress_alice", "alice", ("done", "alice")),
    no("complete", "progress_alice", "bob", 403),
    no("complete", "progress_alice", "sam", 403),
    no("complete", "open_alice", "alice", 400),
    no("complete", "paused_alice", "alice", 400),
    no("complete", "progress_alice", "alice", 400, fields={"good_qty": "-1", "scrap_qty": "0"}),
]


@pytest.fixture
def put_task(shop, make_task, make_user):
    """Make a Printing task in one of STATES, at version 3 (so version 2 is what a stale screen shows)."""
    make_user("operator", [shop.printing], "gone", active=False)

    def put(state: str) -> Task:
        status, holder = STATES[state]
        holder_id = getattr(shop, holder).id if holder else None
        task = make_task(process=shop.offset)
        db.session.execute(
            update(Task).where(Task.id == task.id).values(status=status, assignee_id=holder_id, version=3)
        )
        db.session.commit()
        db.session.refresh(task)
        return task

    return put


def events(task: Task) -> int:
    return db.session.scalar(select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task.id))


def act(app, case: Case, task: Task, htmx: bool):
    """Post the case's action as a browser would: with htmx, or as a plain form."""
    client = logged_in(app, case.actor)
    fields = {"csrf_token": csrf_token(client, "/tasks"), "version": str(case.version), "next": "/tasks?status=all"}
    fields |= case.fields if case.fields is not None else FIELDS.get(case.action, {})
    headers = HTMX if htmx else {}
    return client.post(f"/tasks/{task.id}/{case.action}", data=fields, headers=headers)


def api_body(case: Case) -> dict:
    """The case's fields as a JSON body: numbers as numbers, an empty assignee as null."""
    fields = case.fields if case.fields is not None else FIELDS.get(case.action, {})
    body: dict = {"version": case.version}
    for name, value in fields.items():
        body[name] = int(value) if name.endswith("_qty") else (value or None)
    return body


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_action_matrix_over_the_api(app, put_task, case):
    task = put_task(case.state)
    before = (task.status, task.assignee.username if task.assignee else None)
    api = Api(app.test_client(), issue_api_token(case.actor))
    response = api.post(f"/tasks/{task.id}/{case.action}", api_body(case))
    body = response.get_json()
    db.session.refresh(task)
    now = (task.status, task.assignee.username if task.assignee else None)
    changed = case.status == 200 and case.after is not None

    assert response.status_code == case.status, body
    assert now == (case.after if changed else before)
    assert task.version == (FRESH + 1 if changed else FRESH)
    assert events(task) == (1 if changed else 0)
    if case.status == 200:
        assert (body["task"]["status"], body["task"]["assignee"]) == now
        assert body["task"]["version"] == task.version
    else:
        assert (body["code"], body["task_id"]) == (case.code, task.id)
        if case.status == 409:
            assert body["current_owner"] == body["retry"]["current_owner"] == now[1]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "form"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_action_matrix(app, put_task, case, htmx):
    task = put_task(case.state)
    before = (task.status, task.assignee.username if task.assignee else None)
    response = act(app, case, task, htmx)
    body = response.get_data(as_text=True)
    db.session.refresh(task)
    now = (task.status, task.assignee.username if task.assignee else None)
    changed = case.status == 200 and case.after is not None

    assert now == (case.after if changed else before)
    assert task.version == (FRESH + 1 if changed else FRESH)
    assert events(task) == (1 if changed else 0)

    if case.status == 200 and htmx:
        assert response.status_code == 200, body
        assert "HX-Retarget" not in response.headers
        row_id = f"task-{task.id}"
        assert attr(body, row_id, "data-status") == now[0]
        assert attr(body, row_id, "data-assignee") == (now[1] or "")
        assert attr(body, row_id, "data-version") == str(task.version)
        assert '<div id="messages" hx-swap-oob="innerHTML">' in body
    elif case.status == 200:
        assert response.status_code == 303, body
        assert response.headers["Location"] == "/tasks?status=all"
    elif htmx:
        assert response.status_code == case.status, body
        assert response.headers["HX-Retarget"] == "#modal-slot"
        assert response.headers["HX-Reswap"] == "innerHTML"
        assert attr(body, "task-dialog", "data-code") == case.code
        assert attr(body, "task-dialog", "data-task-id") == str(task.id)
        assert 'data-action="refresh"' in body
        if case.status == 409:
            assert attr(body, "task-dialog", "data-current-owner") == (now[1] or "")
            # The fresh row rides along behind the dialog, in a <template>: after a <dialog>, a bare <tr> would
            # be dropped by the HTML parser before htmx ever saw it.
            assert re.search(rf'<template>\s*<tr id="task-{task.id}"[^>]*hx-swap-oob="true"', body)
            assert attr(body, f"task-{task.id}", "data-version") == str(FRESH)
    else:
        assert response.status_code == case.status, body
        assert f'data-code="{case.code}"' in body
        assert 'href="/tasks?status=all"' in body  # the way back to the board they came from
        assert "<html" in body


def test_conflict_names_the_current_owner_with_retry_advice(app, put_task):
    task = put_task("open_alice")
    response = act(app, no("claim", "open_alice", "bob", 409, version=STALE), task, htmx=True)
    body = response.get_data(as_text=True)
    assert "Alice Archer (alice) has" in body
    assert "Refresh" in body
    assert attr(body, "task-dialog", "data-current-owner") == "alice"


def test_success_message_names_the_work_order_and_step(app, put_task):
    task = put_task("open_free")
    body = act(app, ok("claim", "open_free", "alice"), task, htmx=True).get_data(as_text=True)
    assert f"You claimed {task.work_order.number} · Offset printing." in body


def test_plain_post_success_flashes_the_message_on_the_board(app, put_task):
    task = put_task("open_free")
    client = logged_in(app, "alice")
    token = csrf_token(client, "/tasks")
    response = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token, "version": "3"}, follow_redirects=True)
    assert response.status_code == 200
    assert f"You claimed {task.work_order.number}" in response.get_data(as_text=True)


def test_an_event_records_who_did_what(app, put_task, shop):
    task = put_task("progress_alice")
    act(app, ok("assign", "progress_alice", "sam"), task, htmx=True)
    event = db.session.scalar(select(TaskEvent).where(TaskEvent.task_id == task.id))
    assert (event.actor_id, event.action, event.version) == (shop.sam.id, "assign", 4)
    assert (event.from_assignee_id, event.to_assignee_id) == (shop.alice.id, shop.bob.id)
    assert (event.from_status, event.to_status) == ("in_progress", "paused")
