"""Who may do what, for every route of the app: one table, checked against the URL map.

Each row is a route and method (and, for the task actions, the action) with the outcome for each of six
actors. Every request carries a valid CSRF token and valid fields, on objects made for it, so that only
permission can refuse it; a refusal must leave every row of every table as it was, and a success must really
happen (a write changes rows). A route added to the app without a row here fails `test_every_route_has_a_row`.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import test_config
from tests.factories import PASSWORD
from tests.helpers import csrf_token, logged_in
from workorders import create_app
from workorders.extensions import db
from workorders.tasks.service import ACTIONS as TASK_ACTIONS

ACTORS = ("anonymous", "operator", "operator_other_dept", "supervisor", "supervisor_other_dept", "admin")
USERNAMES = {
    "operator": "alice",  # printing; holds the tasks the holder-only actions are tried on
    "operator_other_dept": "carol",  # die-cutting
    "supervisor": "sam",  # printing
    "supervisor_other_dept": "sue",  # die-cutting
    "admin": "admin",
}
LOGIN = "login"  # a page redirects to /login; the API answers 401
OK = "ok"

# One outcome per actor, in the order of ACTORS.
PUBLIC = (OK, OK, OK, OK, OK, OK)
LOGGED_IN = (LOGIN, OK, OK, OK, OK, OK)
SUPERVISORS = (LOGIN, 403, 403, OK, OK, OK)  # work orders and the workload: any supervisor, not per department
ADMINS = (LOGIN, 403, 403, 403, 403, OK)
MEMBERS = (LOGIN, OK, 403, OK, 403, OK)  # claim: anyone working in the task's department
HOLDER_OR_SUPERVISOR = (LOGIN, OK, 403, OK, 403, OK)  # release
DEPARTMENT_SUPERVISORS = (LOGIN, 403, 403, OK, 403, OK)  # assign
HOLDER = (LOGIN, OK, 403, 403, 403, 403)  # start, pause, complete: only the assignee, whatever the role

_unique = itertools.count(1)


@dataclass(frozen=True)
class Call:
    """The concrete request of a row: URL values, and a form or JSON body."""

    values: dict = field(default_factory=dict)
    data: dict | None = None
    json: dict | None = None


@dataclass
class World:
    """The shop, a supervisor of the other department, and the factories to make each row's objects."""

    shop: object
    make_task: Callable
    make_user: Callable

    def open_task(self):
        return self.make_task(process=self.shop.offset)

    def held_task(self, status: str = "open"):
        return self.make_task(process=self.shop.offset, assignee=self.shop.alice, status=status)


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    expect: tuple  # one outcome per actor
    call: Callable[[World], Call] = lambda world: Call()
    ok: tuple[int, ...] = (200,)
    lands: str | None = None  # the path an "ok" redirect goes to, where it is fixed
    writes: bool = False  # an "ok" must change rows
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.endpoint}{':' + self.variant if self.variant else ''}"


def _task(world: World) -> Call:
    return Call({"task_id": world.open_task().id})


def _order(world: World) -> Call:
    return Call({"order_id": world.open_task().work_order_id})


def _target_user(world: World, active: bool = True) -> Call:
    return Call({"user_id": world.make_user("operator", [world.shop.printing], active=active).id})


def _new_order(world: World) -> Call:
    due = (date.today() + timedelta(days=10)).isoformat()
    fields = {"customer": "Acme", "product": "labels", "quantity": "500", "due_date": due, "priority": "high"}
    return Call(data={**fields, "route": "OFFSET"})


def _import(world: World) -> Call:
    due = (date.today() + timedelta(days=10)).isoformat()
    csv = f"number,customer,product,quantity,due_date,priority,route\n,Acme,labels,100,{due},normal,OFFSET\n"
    return Call(data={"file": (io.BytesIO(csv.encode()), "orders.csv")})


def _cancel(world: World) -> Call:
    task = world.open_task()
    return Call({"order_id": task.work_order_id}, data={"version": str(task.version), "reason": "customer withdrew"})


def _new_user(world: World) -> Call:
    n = next(_unique)
    fields = {"username": f"new{n}", "display_name": f"New {n}", "role": "operator", "password": "long enough"}
    return Call(data={**fields, "departments": "PRINT"})


def _edit_user(world: World) -> Call:
    target = _target_user(world)
    return Call(target.values, data={"display_name": "Renamed", "role": "operator", "departments": "PRINT"})


def _new_department(world: World) -> Call:
    return Call(data={"code": f"NEW{next(_unique)}", "name": "Varnishing"})


def _new_process(world: World) -> Call:
    return Call(data={"code": f"NEW{next(_unique)}", "name": "UV varnish", "department": "PRINT"})


def _action(action: str, task_of: Callable, api: bool, **fields) -> Callable[[World], Call]:
    """A task action on a task made by `task_of`, with the version it has and the action's other fields."""

    def call(world: World) -> Call:
        task = task_of(world)
        body = {"version": task.version, **fields}
        values = {"task_id": task.id, "action": action}
        if api:
            return Call(values, json=body)
        return Call(values, data={name: str(value) for name, value in body.items()} | {"next": "/tasks/mine"})

    return call


def _bulk_assign(api: bool) -> Callable[[World], Call]:
    """A bulk assign of two open Printing tasks to bob, with the versions they have."""

    def call(world: World) -> Call:
        tasks = [world.open_task(), world.open_task()]
        if api:
            return Call(json={"assignee": "bob", "tasks": [{"id": task.id, "version": task.version} for task in tasks]})
        ticked = [f"{task.id}:{task.version}" for task in tasks]
        return Call(data={"task": ticked, "assignee": "bob", "next": "/tasks/mine"})

    return call


# The task each action is tried on, the fields it takes and who may do it.
TASK_ACTION_CASES = {
    "claim": (World.open_task, {}, MEMBERS),
    "release": (World.held_task, {}, HOLDER_OR_SUPERVISOR),
    "assign": (World.open_task, {"assignee": "bob"}, DEPARTMENT_SUPERVISORS),
    "start": (World.held_task, {}, HOLDER),
    "pause": (lambda world: world.held_task("in_progress"), {}, HOLDER),
    "complete": (lambda world: world.held_task("in_progress"), {"good_qty": 480, "scrap_qty": 20}, HOLDER),
}


def _api(expect: tuple) -> tuple:
    return tuple(401 if outcome == LOGIN else outcome for outcome in expect)


TABLE = [
    Row("auth.home", "GET", PUBLIC, ok=(302,), lands="/tasks"),
    Row("auth.login", "GET", PUBLIC, ok=(200, 303)),  # the form; a logged-in user goes on to the board
    Row(
        "auth.login",
        "POST",
        PUBLIC,
        lambda world: Call(data={"username": "bob", "password": PASSWORD}),
        ok=(303,),
        lands="/tasks",
    ),
    Row("auth.logout", "POST", LOGGED_IN, ok=(303,), lands="/login"),
    Row(
        "auth.language",
        "POST",
        LOGGED_IN,
        lambda world: Call(data={"language": "zh_CN", "next": "/tasks/mine"}),
        ok=(303,),
        lands="/tasks/mine",
        writes=True,
    ),
    Row("tasks.board", "GET", LOGGED_IN),
    Row("tasks.mine", "GET", LOGGED_IN),
    Row("tasks.row", "GET", LOGGED_IN, _task),
    Row("tasks.detail", "GET", LOGGED_IN, _task),
    Row("notifications.index", "GET", LOGGED_IN),
    *[
        Row("tasks.act", "POST", expect, _action(name, task_of, False, **fields), (303,), "/tasks/mine", True, name)
        for name, (task_of, fields, expect) in TASK_ACTION_CASES.items()
    ],
    Row("tasks.assign_many", "POST", DEPARTMENT_SUPERVISORS, _bulk_assign(False), (303,), "/tasks/mine", True),
    Row("orders.index", "GET", LOGGED_IN),
    Row("orders.new", "GET", SUPERVISORS),
    Row("orders.create", "POST", SUPERVISORS, _new_order, ok=(303,), writes=True),
    Row("orders.detail", "GET", LOGGED_IN, _order),
    Row("orders.cancel", "POST", SUPERVISORS, _cancel, ok=(303,), writes=True),
    Row("orders.import_form", "GET", SUPERVISORS),
    Row("orders.import_file", "POST", SUPERVISORS, _import, ok=(303,), lands="/work-orders", writes=True),
    Row("orders.workload", "GET", SUPERVISORS),
    Row("admin.index", "GET", ADMINS, ok=(302,), lands="/admin/users"),
    Row("admin.users", "GET", ADMINS),
    Row("admin.create_user", "POST", ADMINS, _new_user, ok=(303,), writes=True),
    Row("admin.user", "GET", ADMINS, _target_user),
    Row("admin.update_user", "POST", ADMINS, _edit_user, ok=(303,), writes=True),
    Row("admin.deactivate", "POST", ADMINS, _target_user, ok=(303,), writes=True),
    Row("admin.reactivate", "POST", ADMINS, lambda world: _target_user(world, active=False), ok=(303,), writes=True),
    Row(
        "admin.reset_password",
        "POST",
        ADMINS,
        lambda world: Call(_target_user(world).values, data={"password": "a new password"}),
        ok=(303,),
        writes=True,
    ),
    Row("admin.departments", "GET", ADMINS),
    Row("admin.create_department", "POST", ADMINS, _new_department, ok=(303,), lands="/admin/departments", writes=True),
    Row("admin.processes", "GET", ADMINS),
    Row("admin.create_process", "POST", ADMINS, _new_process, ok=(303,), lands="/admin/processes", writes=True),
    Row("api.openapi", "GET", PUBLIC),
    Row("api.tasks", "GET", _api(LOGGED_IN)),
    Row("api.task", "GET", _api(LOGGED_IN), _task),
    Row("api.notifications", "GET", _api(LOGGED_IN)),
    Row("api.assign_many", "POST", _api(DEPARTMENT_SUPERVISORS), _bulk_assign(True), writes=True),
    *[
        Row("api.act", "POST", _api(expect), _action(name, task_of, True, **fields), writes=True, variant=name)
        for name, (task_of, fields, expect) in TASK_ACTION_CASES.items()
    ],
]


def url_map_routes() -> set[tuple[str, str]]:
    """Every (endpoint, method) the app serves, but static files and the methods Flask adds by itself."""
    app = create_app(test_config("sqlite://"))
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_row_and_every_row_a_route():
    in_table = {(row.endpoint, row.method) for row in TABLE}
    routes = url_map_routes()
    assert routes - in_table == set(), "routes without a row in the authorization table"
    assert in_table - routes == set(), "rows for routes the app no longer has"


@pytest.mark.parametrize("endpoint", ["tasks.act", "api.act"])
def test_every_task_action_has_a_row(endpoint):
    assert {row.variant for row in TABLE if row.endpoint == endpoint} == set(TASK_ACTIONS)


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, in primary key order, read on a connection of its own."""
    with db.engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables
        }


class Actor:
    """One client, logged in as `username` (or not at all), with the CSRF token its pages carry."""

    def __init__(self, app, username: str | None):
        self.client: FlaskClient = logged_in(app, username) if username else app.test_client()
        self.token = csrf_token(self.client, "/tasks" if username else "/login")

    def send(self, method: str, path: str, call: Call):
        if method == "GET":
            return self.client.get(path)
        if call.json is not None:
            return self.client.post(path, json=call.json, headers={"X-CSRFToken": self.token})
        return self.client.post(path, data={"csrf_token": self.token, **(call.data or {})})


@pytest.fixture
def world(shop, make_task, make_user) -> World:
    make_user("supervisor", [shop.cutting], "sue", display_name="Sue Supervisor")
    return World(shop, make_task, make_user)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.id)
def test_who_may_do_what(app, world, row):
    actors = {name: Actor(app, USERNAMES.get(name)) for name in ACTORS if name != "anonymous"}
    urls = app.url_map.bind("localhost")
    for name, expected in zip(ACTORS, row.expect, strict=True):
        # Anonymous afresh each time: a login row leaves its client logged in.
        actor = actors.get(name) or Actor(app, None)
        call = row.call(world)
        db.session.rollback()  # the test's own session holds no transaction while the app works
        before = snapshot()
        response = actor.send(row.method, urls.build(row.endpoint, call.values, method=row.method), call)
        after = snapshot()
        where = f"{row.id} as {name}: {response.status_code} {response.headers.get('Location', '')}"
        if expected == OK:
            _assert_succeeded(row, response, changed=after != before, where=where)
        else:
            _assert_refused(expected, response, where)
            assert after == before, f"{where}: a refusal changed rows"


def _assert_succeeded(row: Row, response, changed: bool, where: str) -> None:
    assert response.status_code in row.ok, where
    if response.status_code in (302, 303):
        landed = urlsplit(response.headers["Location"]).path
        assert landed == row.lands if row.lands else landed != "/login", where
    assert changed or not row.writes, f"{where}: answered success but changed nothing"


def _assert_refused(expected, response, where: str) -> None:
    if expected == LOGIN:
        assert response.status_code in (302, 303), where
        assert urlsplit(response.headers["Location"]).path == "/login", where
    elif expected == 401:
        assert (response.status_code, response.get_json()["code"]) == (401, "unauthorized"), where
    else:
        assert response.status_code == expected, where
        code = {403: "permission_denied", 404: "not_found"}[expected]
        assert code in response.get_data(as_text=True), where
