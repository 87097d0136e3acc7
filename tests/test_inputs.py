"""One check for every request's text (workorders/inputs.py): control characters, broken UTF-8, body types."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.helpers import HTMX, Browser
from workorders.extensions import db
from workorders.tasks.models import TaskEvent
from workorders.users.service import issue_api_token


@pytest.fixture
def alice(app, shop) -> Browser:
    return Browser(app, "alice")


@pytest.mark.parametrize("query", ["q=%00", "q=a%01b", "status=open%0A", "department=%7F", "q=%C3%28", "x%00=1"])
def test_a_control_character_or_broken_utf8_in_a_query_is_400_before_any_query(app, alice, query):
    page = alice.get(f"/tasks?{query}")
    assert page.status_code == 400
    assert 'data-code="business_rule"' in page.get_data(as_text=True)
    token = issue_api_token("alice")
    api = app.test_client().get(f"/api/v1/tasks?{query}", headers={"Authorization": f"Bearer {token}"})
    assert (api.status_code, api.get_json()["code"]) == (400, "business_rule")


def test_a_control_character_in_a_form_field_is_400_and_changes_nothing(app, alice, make_task, shop):
    task = make_task(process=shop.offset)
    response = alice.post(f"/tasks/{task.id}/claim", {"version": "1", "next": "/tasks\x00"}, htmx=True)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#modal-slot"
    assert db.session.scalar(select(func.count()).select_from(TaskEvent)) == 0


def test_tabs_and_line_breaks_are_fine_in_a_form_body(app, alice, make_task, shop):
    task = make_task(process=shop.offset)
    response = alice.post(f"/tasks/{task.id}/claim", {"version": "1\r\n"}, htmx=True)
    assert response.status_code == 200


def test_json_posted_to_a_form_route_is_415_not_a_crash(app, alice, make_task, shop):
    task = make_task(process=shop.offset)
    response = alice.client.post(
        f"/tasks/{task.id}/claim", json={"version": 1}, headers={**HTMX, "X-CSRFToken": alice.token}
    )
    assert response.status_code == 415
    assert db.session.scalar(select(func.count()).select_from(TaskEvent)) == 0


def test_a_control_character_in_a_json_string_is_400(app, shop, make_task):
    task = make_task(process=shop.offset)
    token = issue_api_token("sam")
    response = app.test_client().post(
        f"/api/v1/tasks/{task.id}/assign",
        json={"version": 1, "assignee": "bob\x00"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, response.get_json()["code"]) == (400, "business_rule")
    assert db.session.scalar(select(func.count()).select_from(TaskEvent)) == 0


def test_a_control_character_in_the_path_is_400(app, alice):
    assert alice.get("/tasks/1%00/row").status_code == 400
