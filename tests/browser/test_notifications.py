"""Notifications in Chromium: a task given to an operator shows up in their top bar and is announced politely
within one poll, whether or not their board shows the task; then the list names it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

POLL_SECONDS = 2
WITHIN_A_POLL_MS = (POLL_SECONDS + 3) * 1000


def assign(page, task_id: int, username: str, expect) -> None:
    """A supervisor assigns the task from their board's row, as on a tablet."""
    row = page.locator(f"#task-{task_id}")
    row.locator("select[name=assignee]").select_option(username)
    row.locator("form.assign button[type=submit]").click()
    expect(page.locator(f"#task-{task_id}")).to_have_attribute("data-assignee", username)


@pytest.mark.parametrize("poll_seconds", [POLL_SECONDS])
def test_an_operator_is_told_on_their_board_and_finds_it_in_the_list(
    open_page, expect, shop, make_task, poll_seconds, screenshots
):
    task = make_task(process=shop.offset)
    alice = open_page("alice")
    alice.evaluate("window.__marker = 'no reload'")
    expect(alice.locator("#notification-count")).to_have_text("0")
    sam = open_page("sam")

    assign(sam, task.id, "alice", expect)

    expect(alice.locator("#notification-count")).to_have_text("1", timeout=WITHIN_A_POLL_MS)
    expect(alice.locator("#messages")).to_contain_text("Sam Supervisor assigned you", timeout=1000)
    expect(alice.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "alice")
    assert alice.evaluate("window.__marker") == "no reload"
    live = alice.locator("#messages")
    assert (live.get_attribute("role"), live.get_attribute("aria-live")) == ("status", "polite")
    alice.screenshot(path=screenshots / "notifications-told-1280.png")

    alice.locator("#notifications-link").click()
    alice.wait_for_url("**/notifications")
    item = alice.locator(f'li[data-kind="assigned"][data-task-id="{task.id}"]')
    expect(item).to_contain_text("Sam Supervisor assigned you")
    expect(item.locator("a")).to_have_attribute("href", f"/tasks/{task.id}")
    expect(alice.locator("#notification-count")).to_have_text("0")
    alice.screenshot(path=screenshots / "notifications-list-1280.png", full_page=True)


@pytest.mark.parametrize("poll_seconds", [POLL_SECONDS])
def test_a_board_that_does_not_show_the_task_stays_as_it_is(open_page, expect, shop, make_task, poll_seconds):
    """Alice watches Die-cutting: the news comes out of band; the board is neither blanked nor swapped, and the poll
    goes on with the new version (a second notification arrives too)."""
    cutting = make_task(process=shop.diecut)
    first, second = make_task(process=shop.offset), make_task(process=shop.offset)
    second_number = second.work_order.number
    alice = open_page("alice", "/tasks?department=CUT")
    alice.evaluate("document.getElementById('board').__marker = 'the same board'")
    sam = open_page("sam")

    assign(sam, first.id, "alice", expect)
    expect(alice.locator("#notification-count")).to_have_text("1", timeout=WITHIN_A_POLL_MS)
    expect(alice.locator("#messages")).to_contain_text("Sam Supervisor assigned you", timeout=1000)
    expect(alice.locator(f"#task-{cutting.id}")).to_be_visible()
    assert alice.evaluate("document.getElementById('board').__marker") == "the same board"
    assert alice.locator("#board-poll").count() == 1

    assign(sam, second.id, "alice", expect)
    expect(alice.locator("#notification-count")).to_have_text("2", timeout=WITHIN_A_POLL_MS)
    expect(alice.locator("#messages p")).to_have_count(1)  # only the new one is announced
    expect(alice.locator("#messages")).to_contain_text(f"assigned you {second_number} ·")
    assert alice.evaluate("document.getElementById('board').__marker") == "the same board"
