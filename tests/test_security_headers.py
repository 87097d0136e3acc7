"""SPEC "Security": every response carries the strict CSP, nosniff and same-origin referrers, whatever made it.

Pages, htmx fragments, 204 polls, redirects, error pages, dialogs and JSON (raised in a view, before it, or by
Werkzeug itself), API answers, the OpenAPI document and static files. And the templates and app.js need nothing
the policy forbids: a scan keeps inline styles, scripts and handlers from coming back.
"""

from __future__ import annotations

import html
import json
import re
import socket
from pathlib import Path

import pytest

from tests.helpers import HTMX, Browser, login
from tests.servers import gunicorn
from tests.test_database_down import database_down
from workorders.users.service import issue_api_token

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOO_LARGE = 16 * 1024 * 1024 + 1


def directives(policy: str) -> dict[str, list[str]]:
    """The policy as {directive: [sources]}."""
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = sources
    return parsed


def assert_secured(response) -> None:
    """The three headers of SPEC "Security", and a policy that allows nothing inline or evaluated."""
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"
    assert headers.get("X-Frame-Options") == "DENY"
    policy = headers.get("Content-Security-Policy", "")
    parsed = directives(policy)
    assert parsed["default-src"] == ["'self'"]
    assert parsed["frame-ancestors"] == ["'none'"]
    assert parsed["script-src"] == ["'self'"] and parsed["style-src"] == ["'self'"]
    for sources in parsed.values():
        for source in sources:
            assert source in ("'self'", "'none'"), f"{source} in {policy}"  # no unsafe-*, no hosts, no wildcards


@pytest.fixture
def task_id(shop, make_task) -> int:
    return make_task(process=shop.offset).id


def test_the_policy_allows_nothing_inline_or_evaluated(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "unsafe-hashes" not in policy
    assert set(directives(policy)) >= {"default-src", "frame-ancestors", "form-action", "base-uri", "object-src"}


def test_login_page_static_files_and_404_for_a_visitor(client):
    for path in ["/login", "/static/app.css", "/static/app.js", "/static/vendor/htmx-2.0.11.min.js", "/nowhere"]:
        with client.get(path) as response:
            assert response.status_code == (404 if path == "/nowhere" else 200), path
            assert_secured(response)


def test_a_redirect_to_the_login_page(client):
    response = client.get("/tasks")
    assert response.status_code in (302, 303)
    assert_secured(response)


def test_board_row_fragment_and_unchanged_poll(app, shop, task_id):
    alice = Browser(app, "alice")
    page = alice.get("/tasks")
    assert page.status_code == 200
    assert_secured(page)
    fragment = alice.get(f"/tasks/{task_id}/row", htmx=True)
    assert fragment.status_code == 200 and fragment.get_data(as_text=True).lstrip().startswith("<tr")
    assert_secured(fragment)
    poll_url = html.unescape(re.search(r'id="board-poll"[^>]*hx-get="([^"]+)"', page.get_data(as_text=True))[1])
    unchanged = alice.get(poll_url, htmx=True)
    assert unchanged.status_code == 204
    assert_secured(unchanged)


def test_action_answers_303_success_and_409_dialog(app, shop, task_id):
    alice, bob = Browser(app, "alice"), Browser(app, "bob")
    claimed = alice.post(f"/tasks/{task_id}/claim", {"version": "1"})
    assert claimed.status_code == 303
    assert_secured(claimed)
    conflict = bob.post(f"/tasks/{task_id}/claim", {"version": "1"}, htmx=True)
    assert conflict.status_code == 409 and conflict.headers["HX-Retarget"] == "#modal-slot"
    assert_secured(conflict)


def test_werkzeug_errors_405_and_errors_raised_before_the_view(app, shop, task_id):
    alice = Browser(app, "alice")
    not_allowed = alice.get(f"/tasks/{task_id}/claim")
    assert not_allowed.status_code == 405
    assert_secured(not_allowed)
    control_character = alice.get("/tasks", query_string={"q": "a\x00b"})  # refused by inputs.check_request
    assert control_character.status_code == 400
    assert_secured(control_character)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_missing_csrf_token_is_a_400_with_the_headers(app, shop, task_id, htmx):
    alice = Browser(app, "alice")
    response = alice.client.post(f"/tasks/{task_id}/claim", data={"version": "1"}, headers=HTMX if htmx else {})
    assert response.status_code == 400
    assert 'data-code="business_rule"' in response.get_data(as_text=True)
    assert_secured(response)


def test_a_503_while_the_database_is_down(app, shop, task_id):
    alice = Browser(app, "alice")
    with database_down(app):
        page, dialog = alice.get("/tasks"), alice.post(f"/tasks/{task_id}/claim", {"version": "1"}, htmx=True)
    for response in (page, dialog):
        assert response.status_code == 503
        assert_secured(response)


def test_api_success_401_and_the_openapi_document(app, shop, task_id):
    client = app.test_client()
    listing = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {issue_api_token('alice')}"})
    assert listing.status_code == 200 and listing.is_json
    unauthorized = client.get(f"/api/v1/tasks/{task_id}")
    assert unauthorized.status_code == 401 and unauthorized.get_json()["code"] == "unauthorized"
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200 and document.is_json
    for response in (listing, unauthorized, document):
        assert_secured(response)


def test_an_unhandled_exception_still_gets_the_headers(app, shop):
    """after_request runs for the 500 Flask makes of an exception no handler knows (none should ever happen)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production; testing mode would re-raise it here

    @app.get("/test-only/boom")
    def boom():
        raise RuntimeError("a bug")

    response = app.test_client().get("/test-only/boom")
    assert response.status_code == 500
    assert_secured(response)


class TestTooLarge:
    """A body over MAX_CONTENT_LENGTH (16 MiB), or a form field over 500 kB: a clear 413 in each form, never a 500."""

    def test_a_limit_under_one_mib_is_named_as_it_is(self, app, client):
        app.config["MAX_CONTENT_LENGTH"] = 512 * 1024
        response = self.post(client, "/login", size=600 * 1024)
        assert response.status_code == 413
        assert "at most 0.5 MiB in all" in response.get_data(as_text=True)

    def post(self, client, path: str, size: int = TOO_LARGE, **headers):
        content_type = "application/json" if path.startswith("/api/") else "application/x-www-form-urlencoded"
        return client.post(path, data=b"x" * size, headers={"Content-Type": content_type, **headers})

    def test_a_plain_form_post_gets_a_full_page_with_a_link_back(self, app, shop, task_id):
        alice = Browser(app, "alice")
        response = self.post(alice.client, f"/tasks/{task_id}/claim")
        body = response.get_data(as_text=True)
        assert response.status_code == 413
        assert "<html" in body and 'data-code="business_rule"' in body
        assert "at most 16 MiB in all" in body
        assert re.search(r'<a class="button primary" href="/tasks">Back to the board</a>', body)
        assert_secured(response)

    def test_htmx_gets_the_dialog_in_the_modal_slot(self, app, shop, task_id):
        alice = Browser(app, "alice")
        response = self.post(alice.client, f"/tasks/{task_id}/claim", **HTMX)
        body = response.get_data(as_text=True)
        assert response.status_code == 413 and response.headers["HX-Retarget"] == "#modal-slot"
        assert body.startswith('<dialog id="task-dialog"') and 'data-code="business_rule"' in body
        assert "at most 16 MiB in all" in body
        assert_secured(response)

    def test_the_api_gets_the_json_envelope(self, app, shop, task_id):
        client = app.test_client()
        token = issue_api_token("alice")
        response = self.post(client, f"/api/v1/tasks/{task_id}/claim", Authorization=f"Bearer {token}")
        assert response.status_code == 413
        envelope = response.get_json()
        assert envelope["code"] == "business_rule" and "16 MiB" in envelope["detail"]
        assert set(envelope["retry"]) == {"can_retry", "suggestion", "action_text", "current_owner"}
        assert_secured(response)

    def test_a_visitor_uploading_to_the_login_form(self, client):
        response = self.post(client, "/login")
        assert response.status_code == 413 and "at most 16 MiB" in response.get_data(as_text=True)
        assert_secured(response)

    def test_a_text_field_over_500_kb_in_a_small_upload(self, app, shop, task_id):
        alice = Browser(app, "alice")
        field = b'--B\r\nContent-Disposition: form-data; name="next"\r\n\r\n/' + b"x" * 600_000 + b"\r\n--B--\r\n"
        multipart = "multipart/form-data; boundary=B"
        response = alice.client.post(f"/tasks/{task_id}/claim", data=field, content_type=multipart)
        assert response.status_code == 413 and "500 kB of text" in response.get_data(as_text=True)

    def test_nothing_changed(self, app, shop, task_id):
        alice = Browser(app, "alice")
        self.post(alice.client, f"/tasks/{task_id}/claim", **HTMX)
        assert 'data-assignee=""' in alice.get(f"/tasks/{task_id}/row", htmx=True).get_data(as_text=True)


def send_raw(base_url: str, path: str, size: int) -> tuple[int, bytes]:
    """POST `size` bytes the way a client does (all of it, then read the answer): bytes sent, answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        connection.sendall(f"{head}Content-Length: {size}\r\n\r\n".encode())
        sent, chunk = 0, b"x" * 65536
        while sent < size:
            sent += connection.send(chunk[: size - sent])
        answer = b""
        while data := connection.recv(65536):
            answer += data
    return sent, answer


def test_through_gunicorn_the_whole_upload_is_taken_and_answered_413(database_url, tmp_path):
    """The refused body is read to its end first: closing on a client still sending would reset the connection
    (BrokenPipe after ~4 MiB, before this was done), and some clients then lose the answer."""
    with gunicorn(database_url, tmp_path / "gunicorn.log", workers=1) as base_url:
        sent, answer = send_raw(base_url, "/login", TOO_LARGE)
    assert sent == TOO_LARGE
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"\r\nContent-Security-Policy: default-src 'self';" in answer
    assert b"at most 16 MiB in all" in answer


def test_logged_in_pages_of_each_area(app, shop, task_id):
    """One page of each blueprint: the header is set once for the app, not per view."""
    sam, admin = Browser(app, "sam"), Browser(app, "admin")
    for browser, path in [(sam, "/tasks/mine"), (sam, "/work-orders"), (sam, "/workload"), (admin, "/admin/users")]:
        response = browser.get(path)
        assert response.status_code == 200, path
        assert_secured(response)


def test_the_login_post_and_its_redirect(client, shop):
    response = login(client, "alice")
    assert response.status_code == 303
    assert_secured(response)


TEMPLATES = sorted((PROJECT_ROOT / "templates").rglob("*.html"))
TAG = re.compile(r"<[a-zA-Z][^<>]*>", re.S)
FORBIDDEN_IN_TAGS = {
    "a style attribute": re.compile(r"\sstyle\s*=", re.I),
    "an inline event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "an hx-on handler": re.compile(r"\s(data-)?hx-on", re.I),
    "a javascript: URL": re.compile(r"=\s*[\"']?\s*javascript:", re.I),
    "an hx-vals/hx-vars expression": re.compile(r"\s(data-)?hx-(vars|vals)\s*=\s*[\"']\s*(js:|javascript:)", re.I),
}


def test_the_scan_finds_what_it_looks_for():
    """The scan below would catch each kind of inline code (so its passing means something)."""
    samples = [
        '<p style="width: 3%">',
        '<button type="button" onclick="go()">',
        '<div hx-on:click="go()">',
        '<a href="javascript:go()">',
        "<div hx-vals='js:{a: go()}'>",
    ]
    for sample, (what, pattern) in zip(samples, FORBIDDEN_IN_TAGS.items(), strict=True):
        assert pattern.search(TAG.search(sample).group(0)), what
    assert inline_code("<script>go()</script><style>p {}</style>") == ["an inline <script>", "a <style> element"]


def inline_code(text: str) -> list[str]:
    """What in a template the CSP would refuse."""
    found = []
    for script in re.finditer(r"<script\b([^>]*)>", text, re.I):
        if "src=" not in script.group(1):
            found.append("an inline <script>")
    if re.search(r"<style\b", text, re.I):
        found.append("a <style> element")
    for tag in TAG.findall(text):
        found += [f"{what} in {tag[:80]!r}" for what, pattern in FORBIDDEN_IN_TAGS.items() if pattern.search(tag)]
    return found


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(PROJECT_ROOT / "templates")))
def test_no_template_has_inline_style_script_or_handlers(template):
    assert inline_code(template.read_text()) == []


def test_app_js_needs_no_eval_and_sets_no_style_attribute():
    source = (PROJECT_ROOT / "static" / "app.js").read_text()
    for pattern in [
        r"\beval\s*\(",
        r"\bnew\s+Function\b",
        r"\bFunction\s*\(",
        r"setAttribute\(\s*[\"']style",
        r"set(Timeout|Interval)\(\s*[\"'`]",
        r"\.innerHTML\s*=",
        r"<style",
        r"cssText",
    ]:
        assert not re.search(pattern, source), pattern


def test_htmx_is_configured_to_need_no_eval_and_no_inline_style_or_script(client):
    page = client.get("/login").get_data(as_text=True)
    config = json.loads(html.unescape(re.search(r'<meta name="htmx-config" content="([^"]+)"', page)[1]))
    assert config["allowEval"] is False  # hx-on, trigger filters and js: values would need eval
    assert config["includeIndicatorStyles"] is False  # would add a <style> to the page
    assert config["allowScriptTags"] is False  # would re-create a swapped fragment's <script> inline
    assert "style" not in config["attributesToSettle"]  # would copy style attributes with setAttribute
    assert not config.get("inlineScriptNonce") and not config.get("inlineStyleNonce")
