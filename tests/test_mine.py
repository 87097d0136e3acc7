"""My tasks (`GET /tasks/mine`): one's own unfinished tasks first, next action marked, then the free ones to claim."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.helpers import HTMX, attr, count_queries, logged_in
from tests.test_board import row_ids
from tests.test_task_rules import Person


def mine(client, **kwargs) -> str:
    response = client.get("/tasks/mine", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def sections(html: str) -> tuple[list[int], list[int]]:
    """Row ids of the viewer's own tasks, and of the free tasks, in page order."""
    held, free = html.split('id="free-title"', 1)
    return row_ids(held), row_ids(free)


def action_form(html: str, task_id: int, action: str) -> str:
    """The opening tag of the element holding that row's `action` (a form, or the details around one)."""
    if action == "complete":
        row = re.search(rf'<tr id="task-{task_id}".*?</tr>', html, re.S).group(0)
        return re.search(r'<details class="[^"]*complete[^"]*">', row).group(0)
    return re.search(rf'<form class="[^"]*"[^>]*action="/tasks/{task_id}/{action}"', html).group(0)


def test_own_work_comes_first_in_progress_then_paused_then_open(app, shop, make_task, make_work_order):
    urgent = make_work_order(priority="urgent", due_date=date.today())
    opened = make_task(work_order=urgent, process=shop.offset, assignee=shop.alice)
    paused = make_task(process=shop.offset, assignee=shop.alice, status="paused")
    running = make_task(process=shop.offset, assignee=shop.alice, status="in_progress")
    make_task(process=shop.offset, assignee=shop.alice, status="done")
    make_task(process=shop.offset, assignee=shop.bob)
    make_task(process=shop.diecut)  # free, but not in alice's department
    later = make_task(work_order=make_work_order(due_date=date.today() + timedelta(days=9)), process=shop.offset)
    sooner = make_task(work_order=make_work_order(due_date=date.today() + timedelta(days=2)), process=shop.offset)
    free_paused = make_task(process=shop.offset, status="paused", work_order=make_work_order(priority="low"))
    held, free = sections(mine(logged_in(app, "alice")))
    assert held == [running.id, paused.id, opened.id]  # status before priority
    assert free == [sooner.id, later.id, free_paused.id]  # then board order


def test_a_held_task_of_another_department_still_shows(app, shop, make_task):
    moved = make_task(process=shop.diecut, assignee=shop.alice)
    assert sections(mine(logged_in(app, "alice")))[0] == [moved.id]


def test_the_next_action_is_marked_on_each_row(app, shop, make_task):
    running = make_task(process=shop.offset, assignee=shop.alice, status="in_progress")
    opened = make_task(process=shop.offset, assignee=shop.alice)
    free = make_task(process=shop.offset)
    html = mine(logged_in(app, "alice"))
    assert "next" in action_form(html, running.id, "complete").split('"')[1].split()
    assert "next" not in action_form(html, running.id, "pause").split('"')[1].split()
    assert "next" in action_form(html, opened.id, "start").split('"')[1].split()
    assert "next" not in action_form(html, opened.id, "release").split('"')[1].split()
    assert "next" in action_form(html, free.id, "claim").split('"')[1].split()


def test_rows_carry_the_board_markup_hooks_and_return_to_my_tasks(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.alice, status="paused")
    html = mine(logged_in(app, "alice"))
    row = f"task-{task.id}"
    assert attr(html, row, "data-task-id") == str(task.id)
    assert attr(html, row, "data-status") == "paused"
    assert attr(html, row, "data-assignee") == "alice"
    assert attr(html, row, "data-version") == "1"
    form = re.search(rf'<form[^>]+action="/tasks/{task.id}/start".*?</form>', html, re.S).group(0)
    assert 'method="post"' in form and 'name="csrf_token"' in form and 'name="version" value="1"' in form
    assert 'name="next" value="/tasks/mine"' in form


def test_page_without_htmx_and_fragment_with_it(app, shop, make_task):
    task = make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    page = alice.get("/tasks/mine")
    fragment = alice.get("/tasks/mine", headers=HTMX)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    html = page.get_data(as_text=True)
    assert "<html" in html and '<a href="/tasks/mine">My tasks</a>' in html
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<section id="board" class="board mine"')
    assert sections(body) == ([], [task.id])


def test_needs_login(client):
    response = client.get("/tasks/mine")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_says_so_when_there_is_nothing(app, shop):
    html = mine(logged_in(app, "alice"))
    assert "You have no unfinished tasks" in html and "No free tasks in your departments" in html


def test_free_tasks_are_one_page_with_a_link_to_the_rest(app, shop, make_task):
    app.config["BOARD_PAGE_SIZE"] = 2
    for _ in range(3):
        make_task(process=shop.offset)
    html = mine(logged_in(app, "alice"))
    assert len(sections(html)[1]) == 2
    assert 'href="/tasks?assignee=none"' in html and "All 3 free tasks" in html


def test_claiming_from_my_tasks_without_javascript_comes_back_here(app, shop, make_task):
    task = make_task(process=shop.offset)
    alice = Person(app, "alice")
    response = alice.post(task, "claim", 1, htmx=False, next="/tasks/mine")
    assert response.status_code == 303 and response.headers["Location"] == "/tasks/mine"
    held, free = sections(mine(alice.client))
    assert (held, free) == ([task.id], [])


def test_an_htmx_action_from_my_tasks_answers_with_the_row_and_the_message(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.alice)
    alice = Person(app, "alice")
    data = {"csrf_token": alice.token, "version": "1"}
    headers = HTMX | {"HX-Current-URL": "http://localhost/tasks/mine"}
    response = alice.client.post(f"/tasks/{task.id}/start", data=data, headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert attr(body, f"task-{task.id}", "data-status") == "in_progress"
    assert 'name="next" value="/tasks/mine"' in body
    assert "complete next" in body  # the new next step is marked in the swapped row too
    assert 'id="messages" hx-swap-oob="innerHTML"' in body and "You started" in body


@pytest.mark.parametrize("change", ["someone claims a free task", "my task moves on"])
def test_live_my_tasks_answers_204_until_something_changes(app, shop, make_task, change):
    free = make_task(process=shop.offset)
    held = make_task(process=shop.offset, assignee=shop.alice)
    alice = logged_in(app, "alice")
    version = re.search(r'data-board-version="([^"]+)"', mine(alice)).group(1)
    assert re.search(rf'hx-get="/tasks/mine\?since={re.escape(version)}"', mine(alice))
    with count_queries() as statements:
        unchanged = alice.get("/tasks/mine", query_string={"since": version}, headers=HTMX)
    assert unchanged.status_code == 204 and len(statements) == 2  # the session's user, then one query
    if change == "someone claims a free task":
        Person(app, "bob").post(free, "claim", 1)
    else:
        Person(app, "alice").post(held, "start", 1)
    changed = alice.get("/tasks/mine", query_string={"since": version}, headers=HTMX)
    assert changed.status_code == 200 and changed.get_data(as_text=True).lstrip().startswith('<section id="board"')


def test_changes_outside_my_departments_do_not_refresh_my_tasks(app, shop, make_task):
    """My tasks is live over the unfinished tasks of one's departments (and one's own): a change in another
    department leaves it alone; one in the department, even to a task someone else holds, refreshes it (the
    version is taken per department, docs/performance.md "The board at scale")."""
    bobs = make_task(process=shop.offset, assignee=shop.bob)
    cutting = make_task(process=shop.diecut)
    alice = logged_in(app, "alice")
    version = re.search(r'data-board-version="([^"]+)"', mine(alice)).group(1)
    Person(app, "carol").post(cutting, "claim", 1)
    assert alice.get("/tasks/mine", query_string={"since": version}, headers=HTMX).status_code == 204
    Person(app, "bob").post(bobs, "start", 1)
    assert alice.get("/tasks/mine", query_string={"since": version}, headers=HTMX).status_code == 200


def test_costs_the_same_queries_for_3_or_30_rows(app, shop, make_task, make_work_order):
    alice = logged_in(app, "alice")

    def queries() -> int:
        with count_queries() as statements:
            mine(alice)
        return len(statements)

    for status in ("open", "paused", "in_progress"):
        make_task(process=shop.offset, assignee=shop.alice, status=status)
    small = queries()
    for n in range(27):
        order = make_work_order()
        make_task(work_order=order, process=shop.offset, assignee=shop.alice if n % 3 == 0 else None)
        make_task(work_order=order, process=shop.offset)
    assert queries() == small
