"""The supervisors' workload view: open and in-progress counts per person and department, as a server-drawn chart."""

from __future__ import annotations

import re

import pytest

from tests.helpers import Browser


def row(body: str, **data) -> dict[str, str] | None:
    """The data-* attributes of the chart row matching `data` (e.g. username="alice")."""
    key, value = next(iter(data.items()))
    match = re.search(rf'<tr data-{key}="{re.escape(value)}"([^>]*)>', body)
    if match is None:
        return None
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(0)))


@pytest.fixture
def loads(shop, make_task, make_process):
    """alice: 2 open/paused + 1 in progress; bob: 1 in progress; 2 free printing tasks; carol: 1 cutting task."""
    make_task(process=shop.offset, assignee=shop.alice)
    make_task(process=shop.offset, assignee=shop.alice, status="paused")
    make_task(process=shop.offset, assignee=shop.alice, status="in_progress")
    make_task(process=shop.offset, assignee=shop.bob, status="in_progress")
    make_task(process=shop.offset, assignee=shop.bob, status="done")
    make_task(process=shop.offset, status="cancelled")
    make_task(process=shop.offset)
    make_task(process=shop.offset)
    make_task(process=shop.diecut, assignee=shop.carol)


def test_counts_per_person_of_the_supervisors_departments(app, shop, loads):
    body = Browser(app, "sam").get("/workload").get_data(as_text=True)
    assert row(body, username="alice") == {"username": "alice", "open": "2", "in-progress": "1"}
    assert row(body, username="bob") == {"username": "bob", "open": "0", "in-progress": "1"}
    assert row(body, username="sam") == {"username": "sam", "open": "0", "in-progress": "0"}
    assert row(body, username="carol") is None  # not in sam's departments


def test_counts_per_department_with_the_free_tasks(app, shop, loads):
    body = Browser(app, "sam").get("/workload").get_data(as_text=True)
    assert row(body, department="PRINT") == {"department": "PRINT", "open": "4", "in-progress": "2", "free": "2"}
    assert row(body, department="CUT") is None


def test_an_admin_sees_every_department_and_person(app, shop, loads):
    body = Browser(app, "admin").get("/workload").get_data(as_text=True)
    assert row(body, department="CUT") == {"department": "CUT", "open": "1", "in-progress": "0", "free": "0"}
    assert row(body, username="carol")["open"] == "1"


def test_the_bars_are_drawn_on_the_server_to_the_cap(app, shop, loads):
    body = Browser(app, "sam").get("/workload").get_data(as_text=True)
    alice = body[body.index('data-username="alice"') :]
    bar = re.search(r'<svg class="bar" aria-hidden="true"[^>]*>(.*?)</svg>', alice, re.S).group(1)
    # cap 10: 1 in progress is 10 % of the bar, 2 open are 20 % drawn right after it
    assert '<rect class="bar-in-progress" x="0" width="10.0%"' in bar
    assert '<rect class="bar-open" x="10.0%" width="20.0%"' in bar
    assert "<script" not in body[body.index("<main>") :]
    assert "style=" not in body  # sizes are SVG attributes: the CSP allows no inline style
    assert "A full bar is 10 tasks" in body


def test_a_deactivated_operator_holding_tasks_is_listed_and_flagged(app, shop, make_task, make_user):
    gone = make_user("operator", [shop.printing], "gone", active=False, display_name="Gone Gary")
    make_task(process=shop.offset, assignee=gone)
    make_user("operator", [shop.printing], "idle", active=False)
    body = Browser(app, "sam").get("/workload").get_data(as_text=True)
    assert row(body, username="gone") == {"username": "gone", "open": "1", "in-progress": "0"}
    gary = body[body.index('data-username="gone"') :].split("</tr>")[0]
    assert re.search(r'<a href="/tasks\?[^"]*assignee=gone[^"]*">Gone Gary</a>\s*<span class="flag">\(inactive\)', gary)
    assert row(body, username="idle") is None  # inactive and holding nothing: nothing to do about them


class TestCap:
    @pytest.fixture
    def app_config(self):
        return {"TASK_CAP_PER_OPERATOR": 2}

    def test_someone_at_the_cap_is_flagged(self, app, shop, loads):
        body = Browser(app, "sam").get("/workload").get_data(as_text=True)
        alice = body[body.index('data-username="alice"') : body.index('data-username="bob"')]
        assert "at the cap" in alice
        # over the cap: the biggest load (3) is the full bar
        assert '<rect class="bar-in-progress" x="0" width="33.3%"' in alice
        assert '<rect class="bar-open" x="33.3%" width="66.7%"' in alice


def test_operators_get_403(app, shop):
    response = Browser(app, "alice").get("/workload")
    assert response.status_code == 403
    assert 'data-code="permission_denied"' in response.get_data(as_text=True)


def test_nav_shows_workload_to_supervisors_only(app, shop):
    assert 'href="/workload"' in Browser(app, "sam").get("/tasks").get_data(as_text=True)
    assert 'href="/workload"' not in Browser(app, "alice").get("/tasks").get_data(as_text=True)
