"""Two people, one task, two real browsers: the loser is told who has it, with and without JavaScript."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def claim_button(page, task):
    return page.locator(f"#task-{task.id}").get_by_role("button", name=f"Claim {task.work_order.number} step 1")


def test_a_stale_claim_opens_the_dialog_naming_the_winner_and_refresh_shows_them(open_page, expect, shop, make_task):
    task = make_task(process=shop.offset)
    alice, bob = open_page("alice"), open_page("bob")  # both boards show the task free

    claim_button(alice, task).click()
    expect(alice.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "alice")
    expect(alice.locator("#messages")).to_contain_text(f"You claimed {task.work_order.number}")

    claim_button(bob, task).click()
    dialog = bob.locator("dialog#task-dialog[open]")
    expect(dialog).to_have_attribute("data-code", "task_conflict")
    expect(dialog).to_have_attribute("data-current-owner", "alice")
    expect(dialog).to_contain_text("Alice Archer")
    with bob.expect_response(f"**/tasks/{task.id}/row") as refreshed:
        dialog.locator('[data-action="refresh"]').click()
    assert refreshed.value.status == 200
    expect(bob.locator("dialog#task-dialog")).to_have_count(0)
    expect(bob.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "alice")
    expect(claim_button(bob, task)).to_have_count(0)


def test_the_dialog_is_a_true_modal_escape_closes_it_and_focus_returns_to_the_row(open_page, expect, shop, make_task):
    task = make_task(process=shop.offset)
    alice, bob = open_page("alice"), open_page("bob")
    claim_button(alice, task).click()
    expect(alice.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "alice")

    claim_button(bob, task).click()
    dialog = bob.locator("dialog#task-dialog[open]")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("dialog => dialog.matches(':modal')")  # showModal(): the page behind is inert
    expect(dialog.locator('[data-action="refresh"]')).to_be_focused()
    for _ in range(5):
        bob.keyboard.press("Tab")
        print(bob.evaluate("document.activeElement.outerHTML.slice(0, 80)"))
    bob.keyboard.press("Escape")
    expect(bob.locator("dialog#task-dialog")).to_have_count(0)
    assert bob.evaluate(f"document.getElementById('task-{task.id}').contains(document.activeElement)")


def test_without_javascript_a_stale_claim_gets_the_409_page_and_the_link_back_shows_the_winner(
    open_page, expect, shop, make_task
):
    task = make_task(process=shop.offset)
    alice, bob = open_page("alice"), open_page("bob", java_script_enabled=False)

    claim_button(alice, task).click()
    expect(alice.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "alice")

    with bob.expect_response(f"**/tasks/{task.id}/claim") as answer:
        claim_button(bob, task).click()
    assert answer.value.status == 409
    conflict = bob.locator('[data-code="task_conflict"]')
    expect(conflict).to_have_attribute("data-current-owner", "alice")
    expect(conflict).to_contain_text("Alice Archer")

    bob.get_by_role("link", name="Back to the board").click()
    expect(bob.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "alice")
    expect(claim_button(bob, task)).to_have_count(0)
