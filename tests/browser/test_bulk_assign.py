"""A supervisor ticks tasks on the board and gives them to one operator, while another operator claims one of them:
four assigned, one conflict naming the operator who has it; with JavaScript and without."""

from __future__ import annotations

import pytest

from tests.browser.checks import layout_problems

pytestmark = pytest.mark.slow

POLL_SECONDS = 2


@pytest.fixture
def five(shop, make_task):
    """Five free Printing tasks, each of its own work order."""
    return [make_task(process=shop.offset) for _ in range(5)]


def tick(page, tasks) -> None:
    for task in tasks:
        page.get_by_label(f"Select {task.work_order.number} step 1").check()


def assign_ticked_to(page, username: str) -> None:
    page.get_by_label("Assign the ticked tasks to").select_option(username)
    page.get_by_role("button", name="Assign ticked").click()


def claim(page, expect, task) -> None:
    row = page.locator(f"#task-{task.id}")
    row.get_by_role("button", name=f"Claim {task.work_order.number} step 1").click()
    expect(row).to_have_attribute("data-assignee", "alice")


def test_five_ticked_one_claimed_first_four_assigned_and_the_dialog_names_the_claimant(
    open_page, expect, shop, five, screenshots
):
    sam, alice = open_page("sam"), open_page("alice")  # both boards show the five free
    tick(sam, five)
    claim(alice, expect, five[2])  # after sam's board showed it free

    with sam.expect_response("**/tasks/assign") as answer:
        assign_ticked_to(sam, "bob")
    assert answer.value.status == 409
    dialog = sam.locator("dialog#task-dialog[open]")
    expect(dialog).to_have_attribute("data-code", "task_conflict")
    expect(dialog).to_contain_text("Assigned 4 to Bob Baker.")
    conflict = dialog.locator('li[data-outcome="task_conflict"]')
    expect(conflict).to_have_count(1)
    expect(conflict).to_have_attribute("data-task-id", str(five[2].id))
    expect(conflict).to_have_attribute("data-current-owner", "alice")
    expect(conflict).to_contain_text("Alice Archer has it now.")
    expect(dialog.locator('li[data-outcome="assigned"]')).to_have_count(4)
    expect(dialog.locator('[data-action="refresh"]')).to_be_focused()
    sam.screenshot(path=screenshots / "bulk-assign-conflict.png")

    # Behind the dialog the rows are fresh already, out of band: four are Bob's, one is Alice's, none ticked.
    for task in five:
        row = sam.locator(f"#task-{task.id}")
        expect(row).to_have_attribute("data-assignee", "alice" if task is five[2] else "bob")
        expect(row.locator("input.pick")).not_to_be_checked()
    with sam.expect_response("**/tasks*") as refreshed:
        dialog.locator('[data-action="refresh"]').click()
    assert refreshed.value.status == 200
    expect(sam.locator("dialog#task-dialog")).to_have_count(0)
    expect(sam.locator(f"#task-{five[0].id}")).to_have_attribute("data-assignee", "bob")
    expect(sam.get_by_label("Assign the ticked tasks to")).to_contain_text("Bob Baker (4)")


def test_without_javascript_the_same_race_gets_the_409_page_listing_each_task(open_page, expect, shop, five):
    sam, alice = open_page("sam", java_script_enabled=False), open_page("alice")
    tick(sam, five)
    claim(alice, expect, five[2])

    with sam.expect_response("**/tasks/assign") as answer:
        assign_ticked_to(sam, "bob")
    assert answer.value.status == 409
    page = sam.locator('[data-code="task_conflict"]')
    expect(page).to_contain_text("Assigned 4 to Bob Baker.")
    conflict = page.locator('li[data-outcome="task_conflict"]')
    expect(conflict).to_have_attribute("data-current-owner", "alice")
    expect(conflict).to_contain_text("Alice Archer has it now.")
    expect(page.locator('li[data-outcome="assigned"]')).to_have_count(4)

    sam.get_by_role("link", name="Back to the board").click()
    for task in five:
        holder = "alice" if task is five[2] else "bob"
        expect(sam.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", holder)


def test_select_all_shown_then_assign_announces_it_in_the_message_area(open_page, expect, shop, five):
    sam = open_page("sam")
    sam.evaluate("window.__marker = 'no reload'")
    sam.get_by_role("link", name="Select all shown").click()
    expect(sam.locator("input.pick:checked")).to_have_count(5)
    assert sam.evaluate("window.__marker") == "no reload", "ticked in place, not by loading the page again"

    with sam.expect_response("**/tasks/assign") as answer:
        assign_ticked_to(sam, "bob")
    assert answer.value.status == 200
    expect(sam.locator("#messages")).to_contain_text("Assigned 5 to Bob Baker.")
    expect(sam.locator("dialog#task-dialog")).to_have_count(0)
    for task in five:
        expect(sam.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "bob")
    expect(sam.locator("input.pick:checked")).to_have_count(0)
    expect(sam.get_by_label("Assign the ticked tasks to")).to_have_value("")  # back at its prompt


def test_without_javascript_select_all_shown_reloads_the_board_with_every_box_ticked(open_page, expect, shop, five):
    sam = open_page("sam", java_script_enabled=False)
    sam.get_by_role("link", name="Select all shown").click()
    expect(sam.locator("input.pick:checked")).to_have_count(5)
    assign_ticked_to(sam, "bob")
    expect(sam.locator("#messages")).to_contain_text("Assigned 5 to Bob Baker.")
    expect(sam.locator("input.pick:checked")).to_have_count(0)


@pytest.mark.parametrize("poll_seconds", [POLL_SECONDS])
def test_the_live_board_waits_while_boxes_are_ticked(open_page, expect, shop, five, poll_seconds):
    sam, alice = open_page("sam"), open_page("alice")
    tick(sam, five[:2])
    sam.locator("h1").click()  # nothing focused on the board: the ticks alone hold the poll back
    claim(alice, expect, five[4])
    sam.wait_for_timeout(POLL_SECONDS * 1.5 * 1000)
    expect(sam.locator(f"#task-{five[4].id}")).to_have_attribute("data-assignee", "")  # not refreshed under the ticks
    expect(sam.locator("input.pick:checked")).to_have_count(2)

    sam.get_by_role("link", name="Clear").click()
    expect(sam.locator("input.pick:checked")).to_have_count(0)
    expect(sam.locator(f"#task-{five[4].id}")).to_have_attribute("data-assignee", "alice")  # the next poll


@pytest.mark.parametrize("width", [1280, 768, 390])
def test_the_bulk_controls_fit_with_big_targets(open_page, expect, shop, five, screenshots, width):
    sam = open_page("sam", viewport={"width": width, "height": 900}, has_touch=width < 1280)
    tick(sam, five[:2])
    sam.screenshot(path=screenshots / f"bulk-assign-{width}.png", full_page=True)
    assert layout_problems(sam) == []
