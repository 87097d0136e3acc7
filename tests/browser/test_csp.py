"""The strict Content-Security-Policy in a real browser: the pages need nothing it forbids, and it is enforced.

Every browser test fails on a CSP violation or a console error (the open_page fixture watches them); these tests
walk the pages the CSP work touched and show that the watch really sees a violation when there is one.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

CSV_LIMIT = 16 * 1024 * 1024


def test_the_policy_is_enforced_and_the_watch_sees_each_violation(open_page, page_watch, shop):
    page = open_page("alice")
    # Each as the page's own code would do it (Playwright's evaluate itself is exempt from the policy).
    page.evaluate("() => setTimeout('window.evalRan = true', 0)")  # a string timer is eval
    page.evaluate("""() => { const script = document.createElement("script");
                             script.textContent = "window.inlineRan = true"; document.body.append(script) }""")
    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<p id=\"red\" style=\"color: red\">x</p>')")
    page_watch.settle()

    assert page.evaluate("[window.evalRan, window.inlineRan]") == [None, None]
    assert page.evaluate("getComputedStyle(document.getElementById('red')).color") != "rgb(255, 0, 0)"
    directives = sorted(violation["directive"] for violation in page_watch.csp_violations)
    assert directives == ["script-src", "script-src-elem", "style-src-attr"]
    assert len(page_watch.console_errors) == 3  # Chromium also logs each one
    page_watch.csp_violations.clear()  # seen and expected: the teardown check is for the unexpected ones
    page_watch.console_errors.clear()


def test_workload_bars_and_a_conflict_dialog_run_without_any_violation(open_page, page_watch, expect, shop, make_task):
    make_task(process=shop.offset, assignee=shop.alice, status="in_progress")
    make_task(process=shop.offset, assignee=shop.alice)
    make_task(process=shop.offset, assignee=shop.alice, status="paused")
    task = make_task(process=shop.offset)
    sam = open_page("sam", "/workload")

    # The bars are SVG rects sized by attributes: cap 10, alice holds 1 in progress and 2 open.
    bar = sam.locator('tr[data-username="alice"] svg.bar')
    full = bar.bounding_box()["width"]
    in_progress = bar.locator(".bar-in-progress").bounding_box()
    open_ = bar.locator(".bar-open").bounding_box()
    assert in_progress["width"] == pytest.approx(full * 0.1, abs=1)
    assert open_["width"] == pytest.approx(full * 0.2, abs=1)
    assert open_["x"] == pytest.approx(in_progress["x"] + in_progress["width"], abs=1)
    assert sam.locator(".bar-open").first.evaluate("rect => getComputedStyle(rect).fill") == 'url("#open-stripes")'

    sam.goto("/tasks")
    bob = open_page("bob")
    bob.locator(f"#task-{task.id}").get_by_role("button", name="Claim").click()
    expect(bob.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "bob")
    sam.locator(f"#task-{task.id}").get_by_role("button", name="Claim").click()
    dialog = sam.locator("dialog#task-dialog[open]")
    expect(dialog).to_have_attribute("data-code", "task_conflict")
    dialog.locator('[data-action="refresh"]').click()
    expect(sam.locator("dialog#task-dialog")).to_have_count(0)
    expect(sam.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "bob")
    expect(sam.locator("#messages .message-error")).to_have_count(0)  # an answered 409 is no "server could not"

    assert page_watch.problems() == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_upload_over_the_limit_gets_the_413_page_not_a_dropped_connection(
    open_page, expect, shop, tmp_path, javascript
):
    big = tmp_path / "orders.csv"
    big.write_bytes(b"number,customer,product,quantity,due_date,priority,route\n" + b"x" * CSV_LIMIT)
    sam = open_page("sam", "/work-orders/import", java_script_enabled=javascript)

    sam.set_input_files("#file", big)
    with sam.expect_response("**/work-orders/import") as answer:
        sam.get_by_role("button", name="Import").click()

    assert answer.value.status == 413
    refusal = sam.locator('[data-code="business_rule"]')
    expect(refusal).to_contain_text("at most 16 MiB")
    sam.get_by_role("link", name="Back to the board").click()
    sam.wait_for_url("**/tasks")


def test_a_form_sent_back_with_its_errors_is_shown_in_place_without_a_console_error(open_page, page_watch, shop):
    sam = open_page("sam", "/work-orders/new")
    with sam.expect_response("**/work-orders") as answer:
        sam.get_by_role("button", name="Create work order").last.click()  # the visible one: nothing filled in
    assert answer.value.status == 400
    expect_errors = sam.locator("#work-order-form .field-error")
    expect_errors.first.wait_for()
    assert "Customer is required." in expect_errors.all_inner_texts()
    assert page_watch.problems() == []


def test_an_answer_that_is_not_ours_is_still_an_error_and_is_announced(open_page, page_watch, expect, shop, make_task):
    """A proxy's 502 in front of the app: htmx logs it, the page says so; nothing is swapped into the row."""
    task = make_task(process=shop.offset)
    alice = open_page("alice")
    alice.route(f"**/tasks/{task.id}/claim", lambda route: route.fulfill(status=502, body="<html>Bad gateway</html>"))
    alice.locator(f"#task-{task.id}").get_by_role("button", name="Claim").click()

    expect(alice.locator("#messages .message-error")).to_contain_text("could not do that just now (502)")
    expect(alice.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "")
    page_watch.settle()
    assert [text for text in page_watch.console_errors if "502" in text]
    page_watch.console_errors.clear()  # expected here: the watch fails every test on such errors
