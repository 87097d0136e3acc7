"""Notifications (SPEC "Web pages" → GET /notifications, "JSON API" → GET /api/v1/notifications; issue 12).

Written in the transaction of the change that causes them: each kind, none for one's own action, none after a
change that rolled back (refused, conflicted, or failed after the notification's INSERT). Shown newest first and
marked read; counted in every page's top bar and carried by the live poll at no extra query; pruned by age.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import postgres_only
from tests.helpers import Browser, attr, count_queries
from tests.test_api import Api
from tests.test_task_rules import Person
from workorders.extensions import db
from workorders.notifications.models import Notification
from workorders.notifications.service import notify_cancelled, notify_holder_changes
from workorders.tasks.models import Task
from workorders.tasks.snapshots import Person as Holder
from workorders.tasks.snapshots import TaskSnapshot
from workorders.transactions import transaction
from workorders.users.service import issue_api_token

COUNT = re.compile(r'<span id="notification-count"[^>]*>(\d+)</span>')
ITEM = re.compile(r'<li data-notification-id="(\d+)" data-kind="([a-z]+)" data-task-id="(\d+)"([^>]*)>(.*?)</li>', re.S)


def notes() -> list[tuple[str, str, int, str]]:
    """Every notification as (recipient, kind, task id, actor), oldest first, read afresh."""
    db.session.expire_all()
    rows = db.session.scalars(select(Notification).order_by(Notification.id))
    names = {user_id: name for user_id, name in db.session.execute(text("SELECT id, username FROM users"))}
    return [(names[n.user_id], n.kind, n.task_id, names[n.actor_id]) for n in rows]


def inserts(statements: list[str]) -> int:
    return sum(1 for statement in statements if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"))


def top_bar_count(html: str) -> int:
    found = COUNT.findall(html)
    assert len(found) == 1, "one count in the top bar"
    return int(found[0])


def label(task: Task) -> str:
    return f"{task.work_order.number} · {task.process.name}"


# Each kind -----------------------------------------------------------------------------------------------------


def test_a_supervisor_assigning_tells_the_new_holder(app, shop, make_task):
    task = make_task(process=shop.offset)
    with count_queries() as statements:
        assert Person(app, "sam").post(task, "assign", 1, assignee="alice").status_code == 200
    assert notes() == [("alice", "assigned", task.id, "sam")]
    assert inserts(statements) == 1


def test_reassigning_tells_both_people_in_one_insert(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.alice, status="paused")
    sam = Person(app, "sam")
    with count_queries() as statements:
        assert sam.post(task, "assign", 1, assignee="bob").status_code == 200
    assert sorted(notes()) == [("alice", "unassigned", task.id, "sam"), ("bob", "assigned", task.id, "sam")]
    assert inserts(statements) == 1


def test_unassigning_tells_the_old_holder(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.alice, status="in_progress")
    assert Person(app, "sam").post(task, "assign", 1, assignee="").status_code == 200
    assert notes() == [("alice", "unassigned", task.id, "sam")]


def test_a_supervisor_releasing_tells_the_holder(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.alice)
    assert Person(app, "sam").post(task, "release", 1).status_code == 200
    assert notes() == [("alice", "unassigned", task.id, "sam")]


def test_cancelling_a_work_order_tells_each_holder_but_the_canceller_in_one_insert(
    app, shop, make_work_order, make_task
):
    order = make_work_order()
    alices = make_task(work_order=order, process=shop.offset, assignee=shop.alice, status="paused")
    bobs = make_task(work_order=order, process=shop.offset, assignee=shop.bob)
    make_task(work_order=order, process=shop.offset, assignee=shop.sam)  # the canceller's own
    make_task(work_order=order, process=shop.diecut)  # nobody's
    make_task(work_order=order, process=shop.offset, assignee=shop.bob, status="done")  # finished: stays as it is
    version = db.session.scalar(select(func.sum(Task.version)).where(Task.work_order_id == order.id))
    with count_queries() as statements:
        response = Browser(app, "sam").post(f"/work-orders/{order.id}/cancel", {"version": str(version)})
    assert response.status_code == 303
    assert sorted(notes()) == [("alice", "cancelled", alices.id, "sam"), ("bob", "cancelled", bobs.id, "sam")]
    assert inserts(statements) == 1


def test_the_writer_takes_many_changes_in_one_insert_and_none_for_nothing(app, shop, make_task):
    """notify_holder_changes as bulk assign calls it: every (before, after) of a transaction at once."""
    tasks = [make_task(process=shop.offset, assignee=holder) for holder in (None, shop.alice, shop.sam, shop.bob)]
    loaded = db.session.scalars(select(Task).where(Task.id.in_([task.id for task in tasks])).order_by(Task.id))
    before = [TaskSnapshot.of(task) for task in loaded]
    bob, sam = Holder.of(shop.bob), Holder.of(shop.sam)  # read now: the commits below expire the test's objects
    changes = [
        (before[0], replace(before[0], assignee=bob)),  # free → bob: bob told
        (before[1], replace(before[1], assignee=bob)),  # alice → bob: both told
        (before[2], replace(before[2], assignee=bob)),  # the actor's own → bob: only bob
        (before[3], before[3]),  # no change: nobody
        (before[0], replace(before[0], assignee=sam)),  # to the actor: nobody
    ]
    with transaction("test"), count_queries() as statements:
        notify_holder_changes(sam.id, changes)
    assert len(statements) == 1 and inserts(statements) == 1
    assert sorted(notes()) == sorted(
        [
            ("bob", "assigned", tasks[0].id, "sam"),
            ("alice", "unassigned", tasks[1].id, "sam"),
            ("bob", "assigned", tasks[1].id, "sam"),
            ("bob", "assigned", tasks[2].id, "sam"),
        ]
    )
    with transaction("test"), count_queries() as statements:
        notify_holder_changes(sam.id, [(before[3], before[3])])
        notify_holder_changes(sam.id, [])
        notify_cancelled(sam.id, [before[0], before[2]])  # nobody's, the actor's own
    assert statements == []


# None for one's own action ---------------------------------------------------------------------------------------


def test_none_for_ones_own_actions(app, shop, make_task):
    alice, sam = Person(app, "alice"), Person(app, "sam")
    claimed = make_task(process=shop.offset)
    assert alice.post(claimed, "claim", 1).status_code == 200  # own claim
    assert alice.post(claimed, "start", 2).status_code == 200
    assert alice.post(claimed, "pause", 3).status_code == 200
    assert alice.post(claimed, "release", 4).status_code == 200  # own release
    mine = make_task(process=shop.offset)
    assert sam.post(mine, "assign", 1, assignee="sam").status_code == 200  # a supervisor assigning to themself
    assert sam.post(mine, "assign", 2, assignee="").status_code == 200  # ... and taking it back
    assert notes() == []


def test_a_supervisor_taking_a_task_for_themself_tells_only_the_old_holder(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.alice)
    assert Person(app, "sam").post(task, "assign", 1, assignee="sam").status_code == 200
    assert notes() == [("alice", "unassigned", task.id, "sam")]


def test_a_claim_start_pause_and_complete_send_no_notification_statement(app, shop, make_task):
    task = make_task(process=shop.offset)
    alice = Person(app, "alice")
    with count_queries() as statements:
        for action, version in (("claim", 1), ("start", 2), ("pause", 3), ("start", 4)):
            assert alice.post(task, action, version).status_code == 200
        assert alice.post(task, "complete", 5, good_qty=10, scrap_qty=0).status_code == 200
    writes = ("INSERT INTO NOTIFICATIONS", "UPDATE NOTIFICATIONS", "DELETE FROM NOTIFICATIONS")
    assert not [statement for statement in statements if statement.lstrip().upper().startswith(writes)]
    assert notes() == []


def test_an_assign_that_notifies_costs_one_statement_more_than_one_that_does_not(app, shop, make_task):
    """The INSERT is the only statement a notification adds: a supervisor assigning to someone else (told) costs
    one more than the same assign to themself (nobody told)."""
    sam = Person(app, "sam")

    def statements_for(assignee: str) -> list[str]:
        task = make_task(process=shop.offset)
        with count_queries() as statements:
            assert sam.post(task, "assign", 1, assignee=assignee).status_code == 200
        return statements

    told, untold = statements_for("bob"), statements_for("sam")
    assert len(told) == len(untold) + 1 and inserts(told) == 1 and inserts(untold) == 0


# None after a rolled-back change -------------------------------------------------------------------------------


def test_none_when_the_assign_is_refused_by_the_cap(app, shop, make_task):
    app.config["TASK_CAP_PER_OPERATOR"] = 1
    make_task(process=shop.offset, assignee=shop.bob)
    task = make_task(process=shop.offset, assignee=shop.alice)
    response = Person(app, "sam").post(task, "assign", 1, assignee="bob")
    assert response.status_code == 400 and "the most allowed (1)" in response.get_data(as_text=True)
    assert notes() == []


def test_none_when_the_assign_conflicts(app, shop, make_task):
    task = make_task(process=shop.offset)
    assert Person(app, "alice").post(task, "claim", 1).status_code == 200
    response = Person(app, "sam").post(task, "assign", 1, assignee="bob")  # sam saw it free
    assert response.status_code == 409
    assert notes() == []


@contextmanager
def failing_after_the_notification_insert() -> Iterator[list[str]]:
    """The first statement after the notification's INSERT fails as a lost connection would: the transaction with
    the task's change, its event and the notification rolls back."""
    seen: list[str] = []

    def fail(_conn, _cursor, statement, *_args) -> None:
        if seen == ["inserted"]:
            seen.append(statement)
            raise OperationalError(statement, {}, ConnectionError("server closed the connection unexpectedly"))
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            seen.append("inserted")

    event.listen(db.engine, "before_cursor_execute", fail)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", fail)


def test_none_when_the_transaction_fails_after_the_notification_was_written(app, shop, make_task):
    task = make_task(process=shop.offset, assignee=shop.alice)
    sam = Person(app, "sam")
    with failing_after_the_notification_insert() as seen:
        response = sam.post(task, "assign", 1, assignee="bob")
    assert seen[0] == "inserted" and len(seen) == 2, "the fault came after the INSERT, inside the transaction"
    assert response.status_code == 503 and "nothing was changed" in response.get_data(as_text=True)
    assert notes() == []
    db.session.refresh(task)
    assert (task.assignee_id, task.version) == (shop.alice.id, 1)


@postgres_only
def test_none_when_the_commit_itself_is_refused(app, shop, make_task):
    """A deferred constraint trigger refuses the notification at COMMIT, the last moment: nothing is written."""
    task = make_task(process=shop.offset)
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION refuse_notification() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'refused at commit' USING ERRCODE = '40001'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE CONSTRAINT TRIGGER refuse_notification AFTER INSERT ON notifications"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_notification()"
            )
        )
    try:
        response = Person(app, "sam").post(task, "assign", 1, assignee="alice")
    finally:
        with db.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER refuse_notification ON notifications"))
            connection.execute(text("DROP FUNCTION refuse_notification()"))
    assert response.status_code == 503
    assert notes() == []
    db.session.refresh(task)
    assert (task.assignee_id, task.version) == (None, 1)


# The list --------------------------------------------------------------------------------------------------------


def test_the_list_shows_them_newest_first_with_links_and_marks_them_read(app, shop, make_task):
    first, second = make_task(process=shop.offset), make_task(process=shop.offset, assignee=shop.alice)
    sam = Person(app, "sam")
    assert sam.post(first, "assign", 1, assignee="alice").status_code == 200
    assert sam.post(second, "assign", 1, assignee="bob").status_code == 200
    alice = Browser(app, "alice")
    assert top_bar_count(alice.get("/tasks").get_data(as_text=True)) == 2

    page = alice.get("/notifications").get_data(as_text=True)
    items = ITEM.findall(page)
    assert [(kind, int(task_id)) for _, kind, task_id, _, _ in items] == [
        ("unassigned", second.id),
        ("assigned", first.id),
    ]
    assert int(items[0][0]) > int(items[1][0])  # newest first
    assert all('class="notification unread"' in rest for *_, rest, _ in items)
    assert f"Sam Supervisor took {label(second)} from you." in items[0][4]
    assert f"Sam Supervisor assigned you {label(first)}." in items[1][4]
    assert f'href="/tasks/{second.id}"' in items[0][4] and f'href="/tasks/{first.id}"' in items[1][4]
    assert "<time datetime=" in items[0][4]
    assert top_bar_count(page) == 0, "this page's own top bar counts them read"
    assert attr(page, "notifications-link", "aria-current") == "page"
    assert db.session.scalar(select(func.count()).where(Notification.read_at.is_(None))) == 1  # bob's

    again = alice.get("/notifications").get_data(as_text=True)
    assert len(ITEM.findall(again)) == 2 and "unread" not in "".join(rest for *_, rest, _ in ITEM.findall(again))
    assert top_bar_count(alice.get("/tasks").get_data(as_text=True)) == 0


def test_the_list_is_empty_with_a_sentence_and_needs_a_login(app, shop):
    page = Browser(app, "alice").get("/notifications")
    assert page.status_code == 200 and "No notifications." in page.get_data(as_text=True)
    anonymous = app.test_client().get("/notifications")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def test_the_list_shows_the_newest_hundred(app, shop, make_task):
    task = make_task(process=shop.offset)
    now = datetime.now(UTC)
    rows = [
        {"user_id": shop.alice.id, "kind": "assigned", "task_id": task.id, "actor_id": shop.sam.id, "created_at": now}
        for _ in range(101)
    ]
    db.session.execute(insert(Notification), rows)
    db.session.commit()
    page = Browser(app, "alice").get("/notifications").get_data(as_text=True)
    shown = [int(found[0]) for found in ITEM.findall(page)]
    newest = db.session.scalar(select(func.max(Notification.id)))
    assert shown == list(range(newest, newest - 100, -1))
    assert "These are the newest 100." in page
    assert top_bar_count(page) == 1  # the one not shown is still unread


# The top bar ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tasks", "/tasks/mine", "/work-orders", "/notifications"])
def test_every_page_has_the_link_and_the_count(app, shop, path):
    html = Browser(app, "alice").get(path).get_data(as_text=True)
    assert attr(html, "notifications-link", "href") == "/notifications"
    assert top_bar_count(html) == 0 and 'class="notification-count none"' in html


def test_the_count_costs_no_query_of_its_own(app, shop, make_task):
    tasks = [make_task(process=shop.offset) for _ in range(3)]
    alice = Browser(app, "alice")

    def board() -> tuple[int, int]:
        with count_queries() as statements:
            html = alice.get("/tasks").get_data(as_text=True)
        return top_bar_count(html), len(statements)

    none, before = board()
    sam = Person(app, "sam")
    for task in tasks:
        assert sam.post(task, "assign", 1, assignee="alice").status_code == 200
    three, after = board()
    assert (none, three) == (0, 3)
    assert after == before, "the count came with the session's user"


# The live poll --------------------------------------------------------------------------------------------------


def version_of(html: str) -> str:
    return re.search(r'data-board-version="([^"]+)"', html).group(1)


def poll(browser: Browser, path: str, version: str):
    separator = "&" if "?" in path else "?"
    return browser.get(f"{path}{separator}since={version}", htmx=True)


@pytest.mark.parametrize("path", ["/tasks?department=CUT", "/tasks/mine"])
def test_an_unchanged_poll_is_still_one_query_after_the_users(app, shop, make_task, path):
    make_task(process=shop.offset, assignee=shop.alice)
    alice = Browser(app, "alice")
    version = version_of(alice.get(path).get_data(as_text=True))
    with count_queries() as statements:
        assert poll(alice, path, version).status_code == 204
    assert len(statements) == 2, statements  # the session's user, then the version


def test_a_notification_alone_updates_the_count_and_says_so_leaving_the_board_as_it_is(app, shop, make_task):
    """Alice watches Die-cutting; a Printing task is given to her: her board is the same, her count is not."""
    task = make_task(process=shop.offset)
    alice = Browser(app, "alice")
    version = version_of(alice.get("/tasks?department=CUT").get_data(as_text=True))
    assert Person(app, "sam").post(task, "assign", 1, assignee="alice").status_code == 200

    with count_queries() as statements:
        response = poll(alice, "/tasks?department=CUT", version)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Reswap"] == "none"
    assert len(statements) == 3  # the user, the version, the new notifications
    assert '<section id="board"' not in body
    assert re.search(r'<span id="notification-count" class="notification-count" hx-swap-oob="true">1</span>', body)
    message = re.search(r'<div id="messages" hx-swap-oob="innerHTML">(.*?)</div>', body, re.S).group(1)
    assert f"Sam Supervisor assigned you {label(task)}." in message
    new_poll = re.search(r'<div id="board-poll"[^>]*hx-get="([^"]+)"[^>]*hx-swap-oob="true"', body)
    assert new_poll and "department=CUT" in new_poll.group(1)
    new_version = re.search(r"since=([^&\"]+)", new_poll.group(1)).group(1)
    assert new_version != version
    assert poll(alice, "/tasks?department=CUT", new_version).status_code == 204, "announced once"


@pytest.mark.parametrize("path", ["/tasks", "/tasks/mine"])
def test_a_task_given_to_me_refreshes_the_page_with_the_count_and_message(app, shop, make_task, path):
    task = make_task(process=shop.offset)
    alice = Browser(app, "alice")
    version = version_of(alice.get(path).get_data(as_text=True))
    assert Person(app, "sam").post(task, "assign", 1, assignee="alice").status_code == 200
    response = poll(alice, path, version)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Reswap" not in response.headers
    assert body.lstrip().startswith('<section id="board"')
    assert attr(body, f"task-{task.id}", "data-assignee") == "alice"
    assert re.search(r'<span id="notification-count"[^>]*hx-swap-oob="true">1</span>', body)
    assert f"Sam Supervisor assigned you {label(task)}." in body
    assert poll(alice, path, version_of(body)).status_code == 204, "the fresh page's version knows it was told"


def test_many_new_ones_are_named_up_to_three_then_counted(app, shop, make_task):
    tasks = [make_task(process=shop.offset) for _ in range(5)]
    alice = Browser(app, "alice")
    version = version_of(alice.get("/tasks?department=CUT").get_data(as_text=True))
    sam = Person(app, "sam")
    for task in tasks:
        assert sam.post(task, "assign", 1, assignee="alice").status_code == 200
    body = poll(alice, "/tasks?department=CUT", version).get_data(as_text=True)
    lines = re.findall(r'<p class="message message-info">(.*?)</p>', body)
    assert lines == [f"Sam Supervisor assigned you {label(task)}." for task in reversed(tasks[2:])] + [
        "And 2 more: see Notifications."
    ]
    assert re.search(r'<span id="notification-count"[^>]*>5</span>', body)


def test_reading_them_elsewhere_updates_the_count_without_a_message(app, shop, make_task):
    task = make_task(process=shop.offset)
    assert Person(app, "sam").post(task, "assign", 1, assignee="alice").status_code == 200
    alice = Browser(app, "alice")
    version = version_of(alice.get("/tasks?department=CUT").get_data(as_text=True))
    alice.get("/notifications")  # another tab
    body = poll(alice, "/tasks?department=CUT", version).get_data(as_text=True)
    assert re.search(r'<span id="notification-count" class="notification-count none"[^>]*>0</span>', body)
    assert 'id="messages"' not in body


def test_a_poll_without_notifications_in_its_version_gets_the_count_alone(app, shop, make_task):
    """A page loaded before this release polls with a version of the old form (its tasks unchanged): it gets the
    count and the new version, but no message (it cannot tell which ones are new to it)."""
    task = make_task(process=shop.offset)
    assert Person(app, "sam").post(task, "assign", 1, assignee="alice").status_code == 200
    alice = Browser(app, "alice")
    old_form = version_of(alice.get("/tasks").get_data(as_text=True)).rpartition("_n")[0]
    body = poll(alice, "/tasks", old_form).get_data(as_text=True)
    assert '<section id="board"' not in body and 'id="messages"' not in body
    assert re.search(r'<span id="notification-count"[^>]*>1</span>', body)
    assert re.search(r'<div id="board-poll"[^>]*hx-swap-oob="true"', body)


# Pruning ---------------------------------------------------------------------------------------------------------


def _add(user, task, days_ago: float, actor) -> None:
    created = datetime.now(UTC) - timedelta(days=days_ago)
    db.session.execute(
        insert(Notification),
        [{"user_id": user.id, "kind": "assigned", "task_id": task.id, "actor_id": actor.id, "created_at": created}],
    )
    db.session.commit()


def test_old_ones_are_not_counted_or_listed_and_are_pruned(app, shop, make_task, runner):
    task = make_task(process=shop.offset)
    _add(shop.alice, task, 40, shop.sam)
    _add(shop.alice, task, 29, shop.sam)
    _add(shop.bob, task, 31, shop.sam)
    alice = Browser(app, "alice")
    assert top_bar_count(alice.get("/tasks").get_data(as_text=True)) == 1
    api = Api(app.test_client(), issue_api_token("alice")).get("/notifications").get_json()
    assert (len(api["items"]), api["unread"]) == (1, 1)

    page = alice.get("/notifications").get_data(as_text=True)
    assert len(ITEM.findall(page)) == 1 and "Notifications are kept for 30 days." in page
    kept = [("alice", "assigned", task.id, "sam"), ("bob", "assigned", task.id, "sam")]
    assert sorted(notes()) == kept, "the viewer's old one went; another person's waits for the prune"

    result = runner.invoke(args=["notifications", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 notifications (older than 30 days)." in result.output
    assert [note[0] for note in notes()] == ["alice"]


def test_a_keep_of_zero_days_keeps_them_all(app, shop, make_task, runner):
    app.config["NOTIFICATION_KEEP_DAYS"] = 0
    task = make_task(process=shop.offset)
    _add(shop.alice, task, 4000, shop.sam)
    assert top_bar_count(Browser(app, "alice").get("/tasks").get_data(as_text=True)) == 1
    result = runner.invoke(args=["notifications", "prune"])
    assert result.exit_code == 0 and "Deleted 0 notifications" in result.output
    assert len(notes()) == 1


def test_the_keep_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from workorders.config import ConfigError, load_config

    monkeypatch.setenv("NOTIFICATION_KEEP_DAYS", "7")
    assert load_config(tmp_path, {"SECRET_KEY": "x"})["NOTIFICATION_KEEP_DAYS"] == 7
    monkeypatch.setenv("NOTIFICATION_KEEP_DAYS", "a week")
    with pytest.raises(ConfigError, match="NOTIFICATION_KEEP_DAYS"):
        load_config(tmp_path, {"SECRET_KEY": "x"})
    monkeypatch.delenv("NOTIFICATION_KEEP_DAYS")
    assert load_config(tmp_path, {"SECRET_KEY": "x"})["NOTIFICATION_KEEP_DAYS"] == 30


# The API ---------------------------------------------------------------------------------------------------------


def test_the_api_lists_them_as_documented_and_marks_read_only_when_asked(app, shop, make_task):
    first, second = make_task(process=shop.offset), make_task(process=shop.offset)
    sam = Person(app, "sam")
    assert sam.post(first, "assign", 1, assignee="alice").status_code == 200
    assert sam.post(second, "assign", 1, assignee="alice").status_code == 200
    api = Api(app.test_client(), issue_api_token("alice"))  # every answer checked against the OpenAPI document

    listed = api.get("/notifications").get_json()
    assert listed["unread"] == 2
    assert [(item["kind"], item["task_id"], item["read"]) for item in listed["items"]] == [
        ("assigned", second.id, False),
        ("assigned", first.id, False),
    ]
    assert listed["items"][0]["text"] == f"Sam Supervisor assigned you {label(second)}."
    assert datetime.fromisoformat(listed["items"][0]["created_at"]).tzinfo is not None
    assert api.get("/notifications").get_json()["unread"] == 2, "reading is not marking"

    marked = api.get("/notifications", mark_read="1").get_json()
    assert marked["unread"] == 0 and [item["read"] for item in marked["items"]] == [False, False]
    assert [item["read"] for item in api.get("/notifications").get_json()["items"]] == [True, True]

    refused = api.get("/notifications", mark_read="maybe")
    assert refused.status_code == 400 and "mark_read" in refused.get_json()["detail"]


def test_the_api_shows_only_the_callers_own(app, shop, make_task):
    task = make_task(process=shop.offset)
    assert Person(app, "sam").post(task, "assign", 1, assignee="alice").status_code == 200
    bob = Api(app.test_client(), issue_api_token("bob")).get("/notifications").get_json()
    assert bob == {"items": [], "unread": 0}
    assert Api(app.test_client()).get("/notifications").status_code == 401
