"""A supervisor on a touch tablet: assign, reassign and unassign with taps."""

from __future__ import annotations

import pytest

from tests.browser.checks import layout_problems

pytestmark = pytest.mark.slow

TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True, "is_mobile": False}


def test_a_supervisor_on_a_touch_tablet_assigns_reassigns_and_unassigns(
    open_page, expect, shop_floor, make_task, screenshots
):
    task = make_task(process=shop_floor.offset)
    names = f"{task.work_order.number} step 1"
    sam = open_page("sam", **TABLET)
    sam.screenshot(path=screenshots / "board-1024-touch.png", full_page=True)
    assert layout_problems(sam) == []
    row = sam.locator(f"#task-{task.id}")  # found again after every swap

    for version, (username, shown) in enumerate(
        [("alice", "Alice Archer"), ("bob", "Bob Baker"), ("", "nobody")], start=2
    ):
        row.get_by_label(f"Assign {names} to").select_option(username)
        row.get_by_role("button", name=f"Assign {names}").tap()
        expect(row).to_have_attribute("data-version", str(version))
        expect(row).to_have_attribute("data-assignee", username)
        expect(sam.locator("#messages")).to_contain_text(f"You assigned {task.work_order.number}")
        expect(sam.locator("#messages")).to_contain_text(shown)
    expect(row.locator(".assignee")).to_contain_text("Free")
