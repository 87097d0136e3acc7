"""Every POST needs the CSRF token; a missing or bad one is a clear 400, as a page or an htmx dialog."""

from sqlalchemy import func, select

from tests.helpers import HTMX, attr, csrf_token, logged_in
from workorders.extensions import db
from workorders.tasks.models import Task, TaskEvent


def test_post_without_token_is_a_400_page_with_a_way_back(client, make_user):
    make_user(username="alice")
    response = client.post("/login", data={"username": "alice", "password": "whatever"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-code="business_rule"' in page
    assert "security token" in page
    assert 'href="/tasks"' in page


def test_bad_token_for_htmx_is_a_dialog_in_the_modal_slot(app, make_user, make_task, shop):
    task = make_task(process=shop.offset)
    client = logged_in(app, "alice")
    response = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": "forged", "version": "1"}, headers=HTMX)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#modal-slot"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert attr(response.get_data(as_text=True), "task-dialog", "data-code") == "business_rule"


def test_token_from_meta_tag_is_accepted_as_header(app, make_task, shop):
    task = make_task(process=shop.offset)
    client = logged_in(app, "alice")
    token = csrf_token(client, "/tasks")
    response = client.post(f"/tasks/{task.id}/claim", data={"version": "1"}, headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 200


def test_every_page_has_the_meta_token_and_modal_slot(app, shop):
    pages = [app.test_client().get("/login"), logged_in(app, "alice").get("/tasks")]
    for response in pages:
        page = response.get_data(as_text=True)
        assert '<meta name="csrf-token" content="' in page
        assert page.count('<div id="modal-slot">') == 1


def test_csrf_tokens_do_not_expire(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_an_action_without_a_token_is_refused_and_changes_nothing(app, make_task, shop):
    # The action forms carry no CSRF field of their own (CSRFProtect checks every post first): the check still holds.
    task = make_task(process=shop.offset)
    client = logged_in(app, "alice")
    plain = client.post(f"/tasks/{task.id}/claim", data={"version": "1"})
    fragment = client.post(f"/tasks/{task.id}/claim", data={"version": "1"}, headers=HTMX)
    assert (plain.status_code, fragment.status_code) == (400, 400)
    assert "security token" in plain.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Task, task.id).assignee_id is None
        assert db.session.scalar(select(func.count()).select_from(TaskEvent)) == 0
