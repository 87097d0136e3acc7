"""Chinese in a real browser: two people's conflict in zh_CN, the language selector with and without JavaScript,
and the zh_CN layouts at desktop, tablet and phone widths (screenshots to look at: real glyphs, not boxes)."""

from __future__ import annotations

import pytest
from flask_babel import gettext
from sqlalchemy import select, update

from tests.browser.checks import board_and_mine_fit, layout_problems
from workorders.extensions import db
from workorders.users.models import User

pytestmark = pytest.mark.slow

VIEWPORTS = {
    1280: {"width": 1280, "height": 800},
    768: {"width": 768, "height": 1024},
    390: {"width": 390, "height": 844},
}


def speak(language: str | None, *usernames: str) -> None:
    db.session.execute(update(User).where(User.username.in_(usernames)).values(language=language))
    db.session.commit()


def zh(app, message: str, **variables) -> str:
    """What the app says in zh_CN (from the catalog, never written out here)."""
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        text = gettext(message, **variables)
    english = message % variables if variables else message
    assert text != english, f"{message!r} is not translated"
    return text


def test_two_people_in_chinese_the_loser_reads_who_has_it_and_refresh_shows_it(
    app, open_page, expect, shop, make_task, screenshots
):
    speak("zh_CN", "alice", "bob")
    task = make_task(process=shop.offset)
    names = zh(app, "%(number)s step %(sequence)s", number=task.work_order.number, sequence=1)
    claim = zh(app, "Claim %(task)s", task=names)
    alice, bob = open_page("alice"), open_page("bob")  # both boards show the task free
    assert alice.locator("html").get_attribute("lang") == "zh-CN"

    alice.locator(f"#task-{task.id}").get_by_role("button", name=claim).click()
    expect(alice.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "alice")
    label = f"{task.work_order.number} · {shop.offset.name}"
    expect(alice.locator("#messages")).to_contain_text(zh(app, "You claimed %(task)s.", task=label))

    bob.locator(f"#task-{task.id}").get_by_role("button", name=claim).click()
    dialog = bob.locator("dialog#task-dialog[open]")
    expect(dialog).to_have_attribute("data-code", "task_conflict")
    expect(dialog.locator("h2")).to_have_text(zh(app, "Someone got there first"))
    holder = zh(app, "%(name)s (%(username)s) has %(task)s now.", name="Alice Archer", username="alice", task=label)
    expect(dialog.locator("#task-dialog-detail")).to_have_text(holder)
    refresh = dialog.locator('[data-action="refresh"]')
    expect(refresh).to_have_text("刷新")
    expect(refresh).to_be_focused()
    bob.screenshot(path=screenshots / "zh_CN-conflict.png")
    with bob.expect_response(f"**/tasks/{task.id}/row") as refreshed:
        refresh.click()
    assert refreshed.value.status == 200
    expect(bob.locator("dialog#task-dialog")).to_have_count(0)
    expect(bob.locator(f"#task-{task.id}")).to_have_attribute("data-assignee", "alice")
    expect(bob.locator(f"#task-{task.id}").get_by_role("button", name=claim)).to_have_count(0)


@pytest.mark.parametrize("javascript", [True, False])
def test_the_selector_switches_the_language_with_or_without_javascript(app, open_page, expect, shop, javascript):
    page = open_page("alice", "/tasks/mine", java_script_enabled=javascript)
    assert page.locator("html").get_attribute("lang") == "en"
    picker = page.locator("form.language select[name=language]")
    if javascript:
        with page.expect_navigation():
            picker.select_option("zh_CN")  # app.js sends the form as soon as one is picked
    else:
        picker.select_option("zh_CN")
        page.locator("form.language button[type=submit]").click()
    page.wait_for_url("**/tasks/mine")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("h1")).to_have_text(zh(app, "My tasks"))
    expect(picker).to_have_value("zh_CN")
    assert db.session.scalar(select(User.language).where(User.username == "alice")) == "zh_CN"


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_the_chinese_layout_fits_with_big_targets(app, open_page, expect, shop_floor, screenshots, width):
    speak("zh_CN", "alice", "sam")
    viewport = {"viewport": VIEWPORTS[width], "has_touch": width < 1280}
    assert board_and_mine_fit(open_page, expect, screenshots, width, viewport, prefix="zh_CN-") == []

    orders = open_page("sam", "/work-orders", **viewport)
    assert orders.locator("html").get_attribute("lang") == "zh-CN"
    orders.screenshot(path=screenshots / f"zh_CN-work-orders-{width}.png", full_page=True)
    assert layout_problems(orders) == []
