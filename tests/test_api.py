"""JSON API v1: auth, every action's codes and envelope, input checks, and the OpenAPI document kept true."""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import func, select

from tests.conftest import RequestPerContextClient, postgres_only, test_config
from tests.helpers import csrf_token, logged_in
from workorders import create_app
from workorders.api.openapi import openapi_document
from workorders.extensions import db
from workorders.tasks.models import Task, TaskEvent
from workorders.users.service import issue_api_token

DOCUMENT = openapi_document()
TASK_FIELDS = {
    "id",
    "work_order",
    "process",
    "department",
    "sequence",
    "status",
    "assignee",
    "version",
    "planned_qty",
    "good_qty",
    "scrap_qty",
    "updated_at",
}


def _template(path: str) -> str:
    """The OpenAPI path of a concrete request path: /api/v1/tasks/7/claim → /tasks/{task_id}/claim."""
    path = path.removeprefix("/api/v1").split("?")[0]
    if path in DOCUMENT["paths"]:
        return path  # a path of its own, such as /tasks/assign
    return re.sub(r"^/tasks/[^/]+", "/tasks/{task_id}", path) if path != "/tasks" else path


def assert_documented(method: str, path: str, response) -> None:
    """The response's status is documented for this operation and its body matches the documented schema."""
    operation = DOCUMENT["paths"][_template(path)][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {path} answered {response.status_code}, which is not documented"
    schema = {**documented["content"]["application/json"]["schema"], "components": DOCUMENT["components"]}
    Draft202012Validator(schema).validate(response.get_json())


class Api:
    """A JSON client; every answer it gets is checked against the OpenAPI document."""

    def __init__(self, client, token: str | None = None, headers: dict | None = None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.headers |= headers or {}

    def get(self, path: str, **query):
        response = self.client.get(f"/api/v1{path}", query_string=query, headers=self.headers)
        if path != "/tasks/" and response.status_code != 405:
            assert_documented("GET", path, response)
        return response

    def post(self, path: str, body=None, **kwargs):
        kwargs.setdefault("json", body)
        response = self.client.post(f"/api/v1{path}", headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)
        if _template(path) in DOCUMENT["paths"]:
            assert_documented("POST", path, response)
        return response


@pytest.fixture
def api_for(app):
    def make(username: str) -> Api:
        return Api(app.test_client(), issue_api_token(username))

    return make


def events(task: Task) -> int:
    return db.session.scalar(select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task.id))


def test_openapi_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)
    assert set(document["paths"]) == {
        "/tasks",
        "/tasks/{task_id}",
        "/tasks/assign",
        "/notifications",
        "/openapi.json",
    } | {f"/tasks/{{task_id}}/{action}" for action in ("claim", "release", "assign", "start", "pause", "complete")}


def test_list_tasks_with_filters_and_paging(app, shop, make_task, api_for):
    ids = [make_task(process=shop.offset).id for _ in range(3)]
    make_task(process=shop.diecut)
    api = api_for("alice")
    page = api.get("/tasks", per_page=2).get_json()
    assert (page["page"], page["per_page"], page["total"]) == (1, 2, 3)
    assert set(page["items"][0]) == TASK_FIELDS
    second = api.get("/tasks", per_page=2, page=2).get_json()
    assert sorted(item["id"] for item in page["items"] + second["items"]) == sorted(ids)
    assert api.get("/tasks", department="all").get_json()["total"] == 4
    assert api.get("/tasks", assignee="none", department="CUT").get_json()["items"][0]["department"] == "CUT"


@pytest.mark.parametrize("query", [{"per_page": "0"}, {"per_page": "201"}, {"page": "x"}, {"status": "lost"}])
def test_list_tasks_rejects_bad_query(app, shop, api_for, query):
    response = api_for("alice").get("/tasks", **query)
    assert response.status_code == 400
    assert response.get_json()["code"] == "business_rule"


def test_get_one_task(app, shop, make_task, api_for):
    task = make_task(process=shop.offset, assignee=shop.bob)
    api = api_for("alice")
    body = api.get(f"/tasks/{task.id}").get_json()["task"]
    assert body["id"] == task.id and body["assignee"] == "bob" and body["process"] == "OFFSET"
    assert body["work_order"] == task.work_order.number and body["department"] == "PRINT"
    assert api.get("/tasks/424242").status_code == 404
    assert api.get("/tasks/abc").status_code == 400


def test_claim_then_self_claim_is_already_claimed(app, shop, make_task, api_for):
    task = make_task(process=shop.offset)
    api = api_for("alice")
    first = api.post(f"/tasks/{task.id}/claim", {"version": 1}).get_json()
    again = api.post(f"/tasks/{task.id}/claim", {"version": 1}).get_json()
    assert (first["already_claimed"], first["task"]["assignee"], first["task"]["version"]) == (False, "alice", 2)
    assert (again["already_claimed"], again["task"]["version"]) == (True, 2)
    assert events(task) == 1


def test_every_action_succeeds_through_the_api(app, shop, make_task, api_for):
    task = make_task(process=shop.offset)
    alice, sam = api_for("alice"), api_for("sam")
    steps = [
        (sam, "assign", {"version": 1, "assignee": "bob"}, ("open", "bob")),
        (sam, "assign", {"version": 2, "assignee": "alice"}, ("open", "alice")),
        (alice, "release", {"version": 3}, ("open", None)),
        (alice, "claim", {"version": 4}, ("open", "alice")),
        (alice, "start", {"version": 5}, ("in_progress", "alice")),
        (alice, "pause", {"version": 6}, ("paused", "alice")),
        (alice, "start", {"version": 7}, ("in_progress", "alice")),
        (alice, "complete", {"version": 8, "good_qty": 4990, "scrap_qty": 10}, ("done", "alice")),
    ]
    for api, action, body, expected in steps:
        response = api.post(f"/tasks/{task.id}/{action}", body)
        assert response.status_code == 200, (action, response.get_json())
        result = response.get_json()["task"]
        assert (result["status"], result["assignee"]) == expected
    assert (result["good_qty"], result["scrap_qty"], result["version"]) == (4990, 10, 9)
    assert events(task) == 8


@pytest.mark.parametrize(
    ("actor", "action", "body", "status", "code", "owner"),
    [
        ("bob", "claim", {"version": 1}, 409, "task_conflict", "alice"),  # alice claimed after bob looked
        ("bob", "claim", {"version": 2}, 409, "task_conflict", "alice"),  # held by someone else: always 409
        ("carol", "claim", {"version": 2}, 403, "permission_denied", "alice"),
        ("bob", "start", {"version": 2}, 403, "permission_denied", "alice"),
        ("alice", "pause", {"version": 2}, 400, "business_rule", "alice"),
        ("alice", "complete", {"version": 2, "good_qty": 1, "scrap_qty": 0}, 400, "business_rule", "alice"),
        ("alice", "assign", {"version": 2, "assignee": "bob"}, 403, "permission_denied", "alice"),
        ("sam", "assign", {"version": 1, "assignee": "bob"}, 409, "task_conflict", "alice"),
        ("sam", "assign", {"version": 2, "assignee": "carol"}, 400, "business_rule", "alice"),
    ],
)
def test_action_failures_carry_the_envelope(app, shop, make_task, api_for, actor, action, body, status, code, owner):
    task = make_task(process=shop.offset)
    api_for("alice").post(f"/tasks/{task.id}/claim", {"version": 1})
    response = api_for(actor).post(f"/tasks/{task.id}/{action}", body)
    error = response.get_json()
    assert response.status_code == status
    assert (error["code"], error["task_id"]) == (code, task.id)
    assert error["retry"]["can_retry"] is (status == 409)
    assert error["retry"]["suggestion"] and error["retry"]["action_text"]
    if status == 409:
        assert error["current_owner"] == error["retry"]["current_owner"] == owner
        assert "Alice Archer (alice)" in error["detail"]
    db.session.refresh(task)
    assert (task.version, task.assignee_id, events(task)) == (2, shop.alice.id, 1)


def test_unknown_task_and_action(app, shop, make_task, api_for):
    task = make_task(process=shop.offset)
    api = api_for("alice")
    assert api.post("/tasks/424242/claim", {"version": 1}).get_json()["code"] == "not_found"
    unknown = api.post(f"/tasks/{task.id}/steal", {"version": 1})
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "version is required"),
        ({"version": "1"}, "version must be a whole number"),
        ({"version": 1.5}, "version must be a whole number"),
        ({"version": 1e9}, "version must be a whole number"),
        ({"version": True}, "version must be a whole number"),
        ({"version": None}, "version must be a whole number"),
        ({"version": -1}, "version must be a whole number"),
        ({"version": 2**31}, "version must be a whole number"),
        ({"version": 1, "assignee": "bob"}, "Unknown field 'assignee'"),
        ({"version": 1, "csrf_token": "x"}, "Unknown field 'csrf_token'"),
        ([1], "must be a JSON object"),
        ("version", "must be a JSON object"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(app, shop, make_task, api_for, body, message):
    task = make_task(process=shop.offset)
    response = api_for("alice").post(f"/tasks/{task.id}/claim", body)
    assert response.status_code == 400
    assert message in response.get_json()["detail"]
    assert events(task) == 0


def test_malformed_json_and_wrong_content_type(app, shop, make_task, api_for):
    task = make_task(process=shop.offset)
    api = api_for("alice")
    broken = api.post(f"/tasks/{task.id}/claim", None, json=None, data="{version: 1", content_type="application/json")
    assert broken.status_code == 400
    form = api.post(f"/tasks/{task.id}/claim", None, json=None, data={"version": "1"})
    assert form.status_code == 415
    assert "must be JSON" in form.get_json()["detail"]
    assert events(task) == 0


def test_complete_checks_quantities(app, shop, make_task, api_for):
    task = make_task(process=shop.offset, status="in_progress", assignee=shop.alice)
    api = api_for("alice")
    for body in (
        {"version": 1, "good_qty": -5, "scrap_qty": 0},
        {"version": 1, "good_qty": 5},
        {"version": 1, "good_qty": "5", "scrap_qty": 0},
    ):
        response = api.post(f"/tasks/{task.id}/complete", body)
        assert response.status_code == 400, body
    db.session.refresh(task)
    assert task.status == "in_progress"


class TestAuth:
    def test_no_credentials_is_401(self, app, shop, make_task):
        task = make_task(process=shop.offset)
        api = Api(app.test_client())
        for response in (api.get("/tasks"), api.post(f"/tasks/{task.id}/claim", {"version": 1})):
            assert response.status_code == 401
            assert response.get_json()["code"] == "unauthorized"

    @pytest.mark.parametrize("header", ["Bearer wo_not-a-real-token", "Basic YWxpY2U6eA==", "Bearer ", "token"])
    def test_bad_token_is_401(self, app, shop, header):
        response = Api(app.test_client(), headers={"Authorization": header}).get("/tasks")
        assert response.status_code == 401
        assert response.get_json()["code"] == "unauthorized"

    def test_token_of_a_deactivated_user_is_401(self, app, shop):
        token = issue_api_token("alice")
        shop.alice.active = False
        db.session.commit()
        assert Api(app.test_client(), token).get("/tasks").status_code == 401

    def test_new_token_replaces_the_old(self, app, shop):
        old = issue_api_token("alice")
        new = issue_api_token("alice")
        assert Api(app.test_client(), old).get("/tasks").status_code == 401
        assert Api(app.test_client(), new).get("/tasks").status_code == 200

    def test_bearer_writes_need_no_csrf_and_set_no_cookie(self, app, shop, make_task, api_for):
        task = make_task(process=shop.offset)
        response = api_for("alice").post(f"/tasks/{task.id}/claim", {"version": 1})
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers

    def test_session_writes_need_the_csrf_header(self, app, shop, make_task):
        task = make_task(process=shop.offset)
        client = logged_in(app, "alice")
        api = Api(client)
        assert api.get("/tasks").status_code == 200  # reads need no token
        refused = api.post(f"/tasks/{task.id}/claim", {"version": 1})
        assert refused.status_code == 400
        assert "security token" in refused.get_json()["detail"]
        token = csrf_token(client, "/tasks")
        accepted = api.post(f"/tasks/{task.id}/claim", {"version": 1}, headers={"X-CSRFToken": token})
        assert accepted.status_code == 200


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
BODIES = st.one_of(
    JSON_VALUES,
    st.dictionaries(
        st.sampled_from(["version", "assignee", "good_qty", "scrap_qty", "next", "extra"]), JSON_VALUES, max_size=4
    ),
)
IDS = st.one_of(st.integers(-5, 2**40).map(str), st.sampled_from(["1", "2", "abc", "1.5", "1e3", "%00", "0"]))
ACTIONS = st.sampled_from(["claim", "release", "assign", "start", "pause", "complete", "steal"])
QUERIES = st.dictionaries(
    st.sampled_from(["department", "status", "assignee", "q", "page", "per_page", "other"]),
    st.text(max_size=10) | st.integers(-3, 300).map(str),
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task_id=IDS, action=ACTIONS, body=BODIES, query=QUERIES)
def test_fuzzed_requests_never_5xx_and_rejections_change_nothing(app, shop, make_task, task_id, action, body, query):
    if not hasattr(app, "_fuzz_api"):
        make_task(process=shop.offset)
        make_task(process=shop.offset, assignee=shop.alice, status="in_progress")
        app._fuzz_api = Api(app.test_client(), issue_api_token("alice"))
    api = app._fuzz_api

    def snapshot():
        db.session.expire_all()
        return [(t.id, t.version, t.status, t.assignee_id) for t in db.session.scalars(select(Task).order_by(Task.id))]

    assert api.get("/tasks", **query).status_code < 500
    before = snapshot()
    response = api.client.post(f"/api/v1/tasks/{task_id}/{action}", json=body, headers=api.headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json
    if response.status_code != 200:
        assert snapshot() == before


@postgres_only
def test_sixteen_token_clients_race_for_the_same_tasks(app, make_user, make_task, shop):
    operators = [make_user("operator", [shop.printing], f"op{n:02d}").username for n in range(16)]
    task_ids = [make_task(process=shop.offset).id for _ in range(20)]
    tokens = {username: issue_api_token(username) for username in operators}
    options = {"pool_size": 20, "max_overflow": 5}
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    racing = create_app(test_config(url, TASK_CAP_PER_OPERATOR=0, SQLALCHEMY_ENGINE_OPTIONS=options))
    racing.test_client_class = RequestPerContextClient
    barrier = threading.Barrier(len(operators))
    answers: dict[int, list[tuple[str, int, dict]]] = {task_id: [] for task_id in task_ids}

    def claim_all(username: str) -> None:
        client = racing.test_client()
        headers = {"Authorization": f"Bearer {tokens[username]}"}
        barrier.wait(timeout=30)
        for task_id in task_ids:
            response = client.post(f"/api/v1/tasks/{task_id}/claim", json={"version": 1}, headers=headers)
            answers[task_id].append((username, response.status_code, response.get_json()))

    threads = [threading.Thread(target=claim_all, args=(username,)) for username in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with racing.app_context():
        db.engine.dispose()

    for task_id, task_answers in answers.items():
        assert len(task_answers) == 16
        winners = [username for username, status, _ in task_answers if status == 200]
        assert len(winners) == 1, task_answers
        losers = [(status, body["current_owner"]) for username, status, body in task_answers if username != winners[0]]
        assert losers == [(409, winners[0])] * 15
        task = db.session.get(Task, task_id, populate_existing=True)
        assert (task.assignee.username, task.version) == (winners[0], 2)
        assert db.session.scalar(select(func.count()).where(TaskEvent.task_id == task_id)) == 1
