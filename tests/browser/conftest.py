"""Browser fixtures: Debian's Chromium driven by Playwright for Python, against gunicorn on a local port.

Each test seeds its own SQLite file (a copy of the migrated template) with the factory fixtures and gets its own
gunicorn serving that file; Chromium starts once per session. Where /usr/bin/chromium or Playwright is missing,
these tests skip with the reason, unless REQUIRE_BROWSER=1 makes them fail (as `.ci/run` does). The browser is
always the system's: never `playwright install`, never a downloaded one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.watch import PageWatch
from tests.factories import PASSWORD
from tests.servers import gunicorn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
# Long enough for a slow CI machine, short enough that a missing element fails the test in seconds, not minutes.
TIMEOUT_MS = 10_000


def _browser_unavailable(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(f"Chromium is required (REQUIRE_BROWSER=1) but {reason}", pytrace=False)
    pytest.skip(f"Browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by every browser test."""
    if not os.access(CHROMIUM, os.X_OK):
        _browser_unavailable(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _browser_unavailable(f"Playwright for Python is not installed ({error}); see requirements-dev.txt")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def expect(browser):
    """Playwright's `expect`, waiting up to TIMEOUT_MS (a fixture, so a missing Playwright skips, not errors)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    return expect


@pytest.fixture
def database_url(sqlite_template, tmp_path) -> str:
    """A migrated SQLite file that the test seeds and the server serves (SQLite only: the browser is the subject)."""
    path = tmp_path / "browser.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def poll_seconds() -> int:
    """The live board's interval on the server; off by default, so a stale board stays stale until the test acts."""
    return 0


@pytest.fixture
def live_server(app, database_url, poll_seconds, tmp_path) -> Iterator[str]:
    """gunicorn (production settings, two workers) serving the test's database on a free port; yields its URL."""
    with gunicorn(database_url, tmp_path / "gunicorn.log", workers=2, BOARD_POLL_SECONDS=str(poll_seconds)) as url:
        yield url


def log_in(page: Page, username: str) -> None:
    """Log in through the real form; lands on the board."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/tasks")


@pytest.fixture
def page_watch() -> PageWatch:
    """Console errors, uncaught exceptions and CSP violations of the test's pages (open_page fills it)."""
    return PageWatch()


@pytest.fixture
def open_page(browser, live_server, page_watch) -> Iterator[Callable[..., Page]]:
    """Open a page in a browser context of its own (its own cookies), logged in as `username`, at `path`.

    Other keyword arguments go to the context: `viewport`, `has_touch`, `java_script_enabled`, … Every context is
    watched: a console error, an uncaught exception or a CSP violation in any of its pages fails the test.
    """
    contexts = []

    def open_(username: str, path: str = "/tasks", **context_options) -> Page:
        context = browser.new_context(base_url=live_server, **context_options)
        contexts.append(context)
        page_watch.attach(context, javascript=context_options.get("java_script_enabled", True))
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        log_in(page, username)
        if path != "/tasks":
            page.goto(path)
        return page

    yield open_
    problems = page_watch.problems()
    for context in contexts:
        context.close()
    assert problems == [], "the pages reported problems:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go: test-artifacts/screenshots/ (git-ignored; CI keeps it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def shop_floor(shop, make_task, make_work_order):
    """A busy morning: long names, urgent orders, alice with work in every state, a step waiting for another."""
    today = date.today()
    urgent = make_work_order(
        priority="urgent",
        due_date=today,
        customer="Northwind Foods International Packaging Ltd",
        product="folding boxes with window patch, 4+0 CMYK, matt varnish",
    )
    make_task(work_order=urgent, process=shop.offset, assignee=shop.alice, status="in_progress")
    make_task(work_order=urgent, process=shop.offset, assignee=shop.alice)  # waits for step 1
    high = make_work_order(priority="high", due_date=today + timedelta(days=1), product="wine labels")
    make_task(work_order=high, process=shop.offset, assignee=shop.alice, status="paused")
    make_task(work_order=high, process=shop.diecut)
    for n in range(4):
        order = make_work_order(due_date=today + timedelta(days=n + 2), customer=f"Customer {n} GmbH & Co. KG")
        make_task(work_order=order, process=shop.offset, assignee=shop.bob if n == 0 else None)
    return shop
