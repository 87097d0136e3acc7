"""What goes wrong inside the pages of a browser test: console errors, uncaught exceptions, CSP violations.

The open_page fixture watches every browser context it opens and fails the test at teardown if anything was seen,
so every browser test runs with the Content-Security-Policy in force and proves it is never violated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, WebError

# Runs in every document before its own scripts: each violation is sent to the test at once (the event is not
# logged to the console in every case, and a record kept in `window` would be lost at the next navigation).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportViolation({
    page: location.pathname, directive: event.effectiveDirective, blocked: event.blockedURI,
    sample: event.sample, source: event.sourceFile, line: event.lineNumber,
  });
});
"""
# Chromium logs every 4xx/5xx answer as a console error ("Failed to load resource: the server responded with a
# status of 409 (CONFLICT)"). These statuses are answers SPEC prescribes, each shown as a dialog or a page; any
# other (a 500 above all) is still a failure.
DESIGNED_STATUS = re.compile(
    r"^Failed to load resource: the server responded with a status of (400|401|403|404|409|413|429|503) \("
)


@dataclass
class PageWatch:
    """Everything the watched contexts reported; `problems()` is empty when all went well."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict] = field(default_factory=list)
    scripted: list[BrowserContext] = field(default_factory=list)

    def attach(self, context: BrowserContext, javascript: bool = True) -> None:
        """Watch every page of `context`; without JavaScript only what Chromium itself logs can be seen."""
        context.on("console", self._console)
        context.on("weberror", self._page_error)
        if javascript:
            context.expose_binding("__reportViolation", lambda _source, report: self.csp_violations.append(report))
            context.add_init_script(REPORT_VIOLATIONS)
            self.scripted.append(context)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not DESIGNED_STATUS.match(message.text):
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _page_error(self, error: WebError) -> None:
        self.page_errors.append(str(error.error))

    def settle(self) -> None:
        """Let reports already queued in the open pages arrive (a violation event is dispatched as a task)."""
        for context in self.scripted:
            for page in context.pages:
                page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")

    def problems(self) -> list[str]:
        self.settle()
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"uncaught exception: {text}" for text in self.page_errors]
            + [f"CSP violation: {violation}" for violation in self.csp_violations]
        )
