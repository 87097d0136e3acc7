"""Desktop, tablet and phone: nothing scrolls sideways, every target is big enough to hit, every control is named.

Screenshots of each page at each width go to test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import pytest

from tests.browser.checks import accessibility_tree, board_and_mine_fit, role, unnamed_controls

pytestmark = pytest.mark.slow

# A shared desktop terminal, a tablet held upright, a phone.
VIEWPORTS = {
    1280: {"width": 1280, "height": 800},
    768: {"width": 768, "height": 1024},
    390: {"width": 390, "height": 844},
}


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_board_and_my_tasks_fit_with_big_targets(open_page, expect, shop_floor, screenshots, width):
    viewport = {"viewport": VIEWPORTS[width], "has_touch": width < 1280}
    assert board_and_mine_fit(open_page, expect, screenshots, width, viewport) == []


def test_every_control_has_an_accessible_name_and_messages_are_a_live_region(open_page, expect, shop_floor):
    board = open_page("sam")
    assert unnamed_controls(board) == []
    board.goto("/tasks")  # no flash message now: the live region must be there, empty, before one arrives
    assert [role(node) for node in accessibility_tree(board)].count("status") == 1
    assert board.locator("#messages").get_attribute("aria-live") == "polite"
    mine = open_page("alice", "/tasks/mine")
    mine.locator("details.complete summary").first.click()
    expect(mine.locator("details.complete input[name=good_qty]").first).to_be_visible()
    assert unnamed_controls(mine) == []
