"""What the browser tests measure on a page: sideways overflow, target sizes, and the accessibility tree."""

from __future__ import annotations

MIN_TARGET = 44  # px, WCAG 2.5.5; the app aims at 48
TARGETS = "button, select, summary, input:not([type=hidden]), a.button, nav a"
# Buttons must also be wide enough; a select or an input is wide by nature and a nav link is a word.
NEEDS_WIDTH = "button, summary, a.button"
MEASURE = """([targets, needsWidth]) => Array.from(document.querySelectorAll(targets))
  .filter(element => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== "hidden")
  .map(element => {
    const box = element.getBoundingClientRect();
    const name = element.getAttribute("aria-label") || element.textContent.trim() || element.name || element.type;
    return {what: `${element.tagName.toLowerCase()} "${name.slice(0, 40)}"`, width: box.width, height: box.height,
            left: box.left + scrollX, right: box.right + scrollX, needsWidth: element.matches(needsWidth)};
  })"""
# Chromium's roles for what a person operates: links, buttons, selects, text and number inputs, <summary>.
CONTROL_ROLES = {"button", "link", "combobox", "textbox", "searchbox", "spinbutton", "DisclosureTriangle", "checkbox"}


def layout_problems(page) -> list[str]:
    """What is wrong with the page's layout: sideways scrolling, targets too small or sticking out."""
    problems = []
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width > inner_width:
        problems.append(f"the page is {scroll_width} px wide in a {inner_width} px window")
    for target in page.evaluate(MEASURE, [TARGETS, NEEDS_WIDTH]):
        if target["height"] < MIN_TARGET - 0.5 or (target["needsWidth"] and target["width"] < MIN_TARGET - 0.5):
            problems.append(f"{target['what']} is {target['width']:.0f}×{target['height']:.0f} px")
        if target["left"] < 0 or target["right"] > inner_width + 0.5:
            problems.append(f"{target['what']} sticks out: {target['left']:.0f}…{target['right']:.0f} px")
    return problems


def board_and_mine_fit(open_page, expect, screenshots, width: int, viewport: dict, prefix: str = "") -> list[str]:
    """Layout problems of sam's board and alice's My tasks (its counts form open) at this size; screenshots of both."""
    board = open_page("sam", **viewport)  # a supervisor's board: the widest rows, with the assign controls
    expect(board.locator("table.tasks tbody tr").first).to_be_visible()
    board.screenshot(path=screenshots / f"{prefix}board-{width}.png", full_page=True)
    mine = open_page("alice", "/tasks/mine", **viewport)
    mine.locator("details.complete summary").first.click()  # the counts form open: its inputs count too
    expect(mine.locator("details.complete input[name=good_qty]").first).to_be_visible()
    mine.screenshot(path=screenshots / f"{prefix}mine-{width}.png", full_page=True)
    return layout_problems(board) + layout_problems(mine)


def accessibility_tree(page) -> list[dict]:
    """The page's nodes as a screen reader gets them, from Chromium's own accessibility tree (ignored ones left out)."""
    session = page.context.new_cdp_session(page)
    try:
        nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        session.detach()
    return [node for node in nodes if not node.get("ignored")]


def role(node: dict) -> str:
    return node.get("role", {}).get("value", "")


def name(node: dict) -> str:
    return str(node.get("name", {}).get("value", "")).strip()


def unnamed_controls(page) -> list[str]:
    """Controls a screen reader would announce without a name."""
    return [
        f"{role(node)} (DOM node {node.get('backendDOMNodeId')})"
        for node in accessibility_tree(page)
        if role(node) in CONTROL_ROLES and not name(node)
    ]
