"""The board page: what it shows whom, filters, order, pages, counts, fragments and its cost in queries."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.helpers import HTMX, attr, count_queries, logged_in


def row_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="task-(\d+)"', html)]


def board(client, **query) -> str:
    response = client.get("/tasks", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_operators_see_their_own_departments_by_default(app, shop, make_task):
    printing = make_task(process=shop.offset)
    cutting = make_task(process=shop.diecut)
    alice = logged_in(app, "alice")
    assert row_ids(board(alice)) == [printing.id]
    assert row_ids(board(alice, department="CUT")) == [cutting.id]
    assert sorted(row_ids(board(alice, department="all"))) == sorted([printing.id, cutting.id])


def test_admin_sees_every_department_by_default(app, shop, make_task):
    ids = {make_task(process=shop.offset).id, make_task(process=shop.diecut).id}
    assert set(row_ids(board(logged_in(app, "admin")))) == ids


def test_rows_carry_the_markup_hooks(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.bob)
    html = board(logged_in(app, "alice"))
    row = f"task-{task.id}"
    assert attr(html, row, "data-task-id") == str(task.id)
    assert attr(html, row, "data-status") == "open"
    assert attr(html, row, "data-assignee") == "bob"
    assert attr(html, row, "data-version") == "1"


def test_rows_offer_only_the_actions_the_viewer_may_take(app, shop, make_task):
    free = make_task(process=shop.offset)
    bobs = make_task(process=shop.offset, assignee=shop.bob)
    html = board(logged_in(app, "alice"))
    assert f'action="/tasks/{free.id}/claim"' in html
    assert not re.search(rf'action="/tasks/{bobs.id}/', html)
    supervisor = board(logged_in(app, "sam"))
    assert f'action="/tasks/{bobs.id}/assign"' in supervisor
    assert f'action="/tasks/{bobs.id}/release"' in supervisor
    assert f'action="/tasks/{bobs.id}/start"' not in supervisor


def test_every_action_is_a_real_form_with_csrf_and_version(app, shop, make_task):
    task = make_task(process=shop.offset)
    html = board(logged_in(app, "alice"))
    form = re.search(rf'<form[^>]+action="/tasks/{task.id}/claim".*?</form>', html, re.S).group(0)
    assert 'method="post"' in form
    assert f'hx-post="/tasks/{task.id}/claim"' in form
    assert 'name="csrf_token"' in form
    assert 'name="version" value="1"' in form
    assert 'type="submit"' in form


def test_assign_select_lists_active_members_with_their_load(app, shop, make_task, make_user):
    make_user("operator", [shop.printing], "gone", active=False, display_name="Gone Gary")
    make_task(process=shop.offset, assignee=shop.bob)
    task = make_task(process=shop.offset)
    html = board(logged_in(app, "sam"))
    form = re.search(rf'<form[^>]+action="/tasks/{task.id}/assign".*?</form>', html, re.S).group(0)
    assert '<option value="">Nobody</option>' in form
    assert "Bob Baker (1)" in form and "Alice Archer (0)" in form
    assert "Gone Gary" not in form and "Carol" not in form


def test_order_is_urgent_first_then_due_date_then_step(app, shop, make_task, make_work_order):
    today = date.today()
    late_urgent = make_work_order(priority="urgent", due_date=today + timedelta(days=9))
    soon_normal = make_work_order(priority="normal", due_date=today + timedelta(days=1))
    later_normal = make_work_order(priority="normal", due_date=today + timedelta(days=5))
    low = make_work_order(priority="low", due_date=today)
    expected = [
        make_task(work_order=late_urgent, process=shop.offset).id,
        make_task(work_order=soon_normal, process=shop.offset, sequence=1).id,
        make_task(work_order=soon_normal, process=shop.offset, sequence=2).id,
        make_task(work_order=later_normal, process=shop.offset).id,
        make_task(work_order=low, process=shop.offset).id,
    ]
    assert row_ids(board(logged_in(app, "alice"))) == expected


def test_status_filter_and_counts(app, shop, make_task):
    open_task = make_task(process=shop.offset)
    done = make_task(process=shop.offset, status="done", assignee=shop.bob)
    paused = make_task(process=shop.offset, status="paused", assignee=shop.bob)
    alice = logged_in(app, "alice")
    default = board(alice)
    assert sorted(row_ids(default)) == sorted([open_task.id, paused.id])  # unfinished work by default
    assert row_ids(board(alice, status="done")) == [done.id]
    assert len(row_ids(board(alice, status="all"))) == 3
    counts = dict(re.findall(r'class="count status-(\w+)".*?<strong>(\d+)</strong>', default, re.S))
    assert counts == {"open": "1", "in_progress": "0", "paused": "1", "done": "1", "cancelled": "0"}


def test_assignee_filter(app, shop, make_task):
    mine = make_task(process=shop.offset, assignee=shop.alice)
    bobs = make_task(process=shop.offset, assignee=shop.bob)
    free = make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    assert row_ids(board(alice, assignee="me")) == [mine.id]
    assert row_ids(board(alice, assignee="none")) == [free.id]
    assert row_ids(board(alice, assignee="bob")) == [bobs.id]
    assert row_ids(board(alice, assignee="nobody-by-that-name")) == []


def test_search_matches_number_product_or_customer(app, shop, make_task, make_work_order):
    boxes = make_task(work_order=make_work_order(number="WO-2026-0042", product="gift boxes"), process=shop.offset)
    labels = make_task(work_order=make_work_order(product="wine labels", customer="Vinter Wines"), process=shop.offset)
    alice = logged_in(app, "alice")
    assert row_ids(board(alice, q="0042")) == [boxes.id]
    assert row_ids(board(alice, q="GIFT")) == [boxes.id]
    assert row_ids(board(alice, q="vinter")) == [labels.id]
    assert row_ids(board(alice, q="100%_\\")) == []  # wildcards are searched for, not obeyed


def test_pagination(app, shop, make_task):
    app.config["BOARD_PAGE_SIZE"] = 2
    ids = [make_task(process=shop.offset).id for _ in range(5)]
    alice = logged_in(app, "alice")
    pages = [row_ids(board(alice, page=page)) for page in (1, 2, 3)]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(id_ for page in pages for id_ in page) == sorted(ids)
    html = board(alice, page=2)
    assert "Page 2 of 3" in html and 'rel="prev"' in html and 'rel="next"' in html
    assert row_ids(board(alice, page=9)) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"status": "lost"}, "status must be one of"),
        ({"page": "0"}, "page must be a whole number"),
        ({"page": "1.5"}, "page must be a whole number"),
        ({"page": "-1"}, "page must be a whole number"),
        ({"department": "NOPE"}, "There is no department"),
        ({"q": "x" * 101}, "q may be at most 100 characters"),
    ],
)
def test_bad_filters_are_a_clear_400(app, shop, query, message):
    response = logged_in(app, "alice").get("/tasks", query_string=query)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_board_answers_htmx_with_the_board_fragment_and_varies(app, shop, make_task):
    task = make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    page = alice.get("/tasks")
    fragment = alice.get("/tasks", headers=HTMX)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<section id="board"')
    assert row_ids(body) == [task.id]


def test_row_endpoint_returns_that_row_alone(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.bob)
    response = logged_in(app, "alice").get(f"/tasks/{task.id}/row", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="task-{task.id}"') and body.rstrip().endswith("</tr>")
    assert attr(body, f"task-{task.id}", "data-assignee") == "bob"
    assert logged_in(app, "alice").get("/tasks/999/row", headers=HTMX).status_code == 404


def test_task_page_shows_its_history(app, shop, make_task):
    from tests.test_task_rules import Person

    task = make_task(process=shop.offset)
    alice = Person(app, "alice")
    alice.post(task, "claim", 1)
    alice.post(task, "start", 2)
    html = alice.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "History" in html
    history = html.split("History", 1)[1]
    assert history.index("start") < history.index("claim")  # newest first
    assert "nobody → Alice Archer" in history
    assert "Open → In progress" in history
    assert f'href="/tasks/{task.id}"' in board(alice.client)  # reachable from its row


@pytest.mark.parametrize("viewer", ["alice", "sam"])
def test_board_costs_the_same_queries_for_5_or_50_rows(app, shop, make_task, make_work_order, viewer):
    client = logged_in(app, viewer)

    def queries_for_board() -> int:
        with count_queries() as statements:
            board(client)
        return len(statements)

    for n in range(5):
        order = make_work_order()
        make_task(work_order=order, process=shop.offset, assignee=shop.bob if n % 2 else None)
    small = queries_for_board()
    assert len(row_ids(board(client))) == 5
    for n in range(45):
        order = make_work_order(priority=["low", "normal", "high", "urgent"][n % 4])
        make_task(work_order=order, process=shop.offset, assignee=shop.alice if n % 3 == 0 else None)
        make_task(work_order=order, process=shop.offset, sequence=2)
    large = queries_for_board()
    assert len(row_ids(board(client))) == 50
    assert small == large
    assert large <= (6 if viewer == "sam" else 5), large  # supervisors also load who can be assigned


def test_live_board_answers_204_until_something_changes(app, shop, make_task):
    task = make_task(process=shop.offset)
    alice = logged_in(app, "alice")
    html = board(alice)
    version = re.search(r'data-board-version="([^"]+)"', html).group(1)
    poll = re.search(r'<div id="board-poll"[^>]*hx-get="([^"]+)"[^>]*hx-trigger="every 10s"', html)
    assert poll and f"since={version}" in poll.group(1)

    with count_queries() as statements:
        unchanged = alice.get("/tasks", query_string={"since": version}, headers=HTMX)
    assert unchanged.status_code == 204 and unchanged.get_data() == b""
    assert "HX-Request" in unchanged.headers["Vary"]
    assert len(statements) == 2  # the session's user, then the one board-version query

    from tests.test_task_rules import Person

    Person(app, "bob").post(task, "claim", 1)
    changed = alice.get("/tasks", query_string={"since": version}, headers=HTMX)
    body = changed.get_data(as_text=True)
    assert changed.status_code == 200 and body.lstrip().startswith('<section id="board"')
    assert attr(body, f"task-{task.id}", "data-assignee") == "bob"
    assert re.search(r'data-board-version="([^"]+)"', body).group(1) != version


def test_live_board_keeps_the_filters_and_offers_a_plain_refresh_link(app, shop):
    html = board(logged_in(app, "alice"), status="paused", q="box")
    poll = re.search(r'<div id="board-poll"[^>]*hx-get="([^"]+)"', html).group(1)
    assert "status=paused" in poll and "q=box" in poll
    assert 'class="button quiet refresh-link" href="/tasks?status=paused&amp;q=box"' in html


def test_plain_get_ignores_since(app, shop):
    response = logged_in(app, "alice").get("/tasks", query_string={"since": "whatever"})
    assert response.status_code == 200 and "<html" in response.get_data(as_text=True)


def test_changes_outside_the_viewers_board_do_not_refresh_it(app, shop, make_task):
    from tests.test_task_rules import Person

    cutting = make_task(process=shop.diecut)
    alice = logged_in(app, "alice")
    version = re.search(r'data-board-version="([^"]+)"', board(alice)).group(1)
    Person(app, "carol").post(cutting, "claim", 1)
    assert alice.get("/tasks", query_string={"since": version}, headers=HTMX).status_code == 204
