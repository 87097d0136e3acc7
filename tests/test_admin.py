"""Admin pages: users (create, role, departments, deactivate, reset password), departments and processes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.helpers import Browser, attr, login
from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.users.models import User
from workorders.users.passwords import verify_password


def fresh(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def new_user(**overrides) -> dict:
    return {
        "username": "omar",
        "display_name": "Omar Haddad",
        "role": "operator",
        "departments": ["PRINT"],
        "password": "long enough",
    } | overrides


class TestUsers:
    def test_admin_creates_a_user_who_can_log_in(self, app, shop):
        response = Browser(app, "admin").post("/admin/users", new_user(departments=["PRINT", "CUT"]))
        omar = db.session.scalar(select(User).where(User.username == "omar"))
        assert response.status_code == 303
        assert response.headers["Location"] == f"/admin/users/{omar.id}"
        assert (omar.display_name, omar.role, omar.active) == ("Omar Haddad", "operator", True)
        assert [d.code for d in omar.departments] == ["CUT", "PRINT"]
        assert Browser(app, "omar", "long enough").get("/tasks").status_code == 200

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"username": ""}, "Username is required."),
            ({"username": "Bad Name!"}, "A username is 1–64 lower-case letters"),
            ({"username": "alice"}, "User alice exists already."),
            ({"password": ""}, "Password is required."),
            ({"password": "short"}, "A password needs at least 8 characters."),
            ({"role": "owner"}, "Role must be one of operator, supervisor, admin"),
            ({"departments": []}, "Operators and supervisors need at least one department."),
            ({"departments": ["NOPE"]}, "There is no department &#39;NOPE&#39;."),
            ({"display_name": "x" * 121}, "Name shown on the board: Field cannot be longer than 120 characters."),
            ({"display_name": "Tab\there"}, "Name shown on the board may not contain control characters."),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_creates_nobody(self, app, shop, fields, message):
        before = count(User)
        response = Browser(app, "admin").post("/admin/users", new_user(**fields))
        body = response.get_data(as_text=True)
        assert response.status_code == 400
        assert message in body
        assert 'role="alert"' in body
        assert count(User) == before

    def test_an_admin_needs_no_department(self, app, shop):
        response = Browser(app, "admin").post("/admin/users", new_user(role="admin", departments=[]))
        assert response.status_code == 303

    def test_list_shows_role_departments_load_and_status(self, app, shop, make_task, make_user):
        make_task(process=shop.offset, assignee=shop.alice)
        make_user("operator", [shop.cutting], "gone", active=False)
        body = Browser(app, "admin").get("/admin/users").get_data(as_text=True)
        assert attr(body, f"user-{shop.alice.id}", "data-active") == "true"
        assert attr(body, f"user-{shop.sam.id}", "data-role") == "supervisor"
        gone = db.session.scalar(select(User).where(User.username == "gone"))
        assert attr(body, f"user-{gone.id}", "data-active") == "false"

    def test_change_role_departments_and_name(self, app, shop):
        admin = Browser(app, "admin")
        fields = {"display_name": "Alice A.", "role": "supervisor", "departments": ["CUT"]}
        response = admin.post(f"/admin/users/{shop.alice.id}", fields)
        assert response.status_code == 303
        alice = fresh(shop.alice)
        assert (alice.display_name, alice.role, [d.code for d in alice.departments]) == (
            "Alice A.",
            "supervisor",
            ["CUT"],
        )

    def test_role_change_takes_effect_in_the_running_session(self, app, shop):
        alice = Browser(app, "alice")
        assert alice.get("/workload").status_code == 403
        Browser(app, "admin").post(f"/admin/users/{shop.alice.id}", {"role": "supervisor", "departments": ["PRINT"]})
        assert alice.get("/workload").status_code == 200

    def test_an_admin_cannot_demote_or_deactivate_themselves(self, app, shop):
        admin = Browser(app, "admin")
        demote = admin.post(f"/admin/users/{shop.admin.id}", {"role": "operator", "departments": ["PRINT"]})
        off = admin.post(f"/admin/users/{shop.admin.id}/deactivate")
        assert demote.status_code == off.status_code == 400
        assert "You cannot take away your own admin role" in demote.get_data(as_text=True)
        assert "You cannot deactivate yourself" in off.get_data(as_text=True)
        assert fresh(shop.admin).role == "admin" and shop.admin.active

    def test_deactivate_ends_the_session_and_reactivate_does_not_revive_it(self, app, shop):
        alice = Browser(app, "alice")
        admin = Browser(app, "admin")
        response = admin.post(f"/admin/users/{shop.alice.id}/deactivate", follow_redirects=True)
        assert "Alice Archer (alice) is deactivated." in response.get_data(as_text=True)
        assert fresh(shop.alice).active is False
        assert alice.get("/tasks").status_code == 302  # sent to the login page
        assert login(app.test_client(), "alice").status_code == 401
        admin.post(f"/admin/users/{shop.alice.id}/reactivate")
        assert fresh(shop.alice).active is True
        assert alice.get("/tasks").status_code == 302  # the old cookie stays dead
        assert login(app.test_client(), "alice").status_code == 303

    def test_deactivating_twice_changes_nothing(self, app, shop):
        admin = Browser(app, "admin")
        admin.post(f"/admin/users/{shop.bob.id}/deactivate")
        version = fresh(shop.bob).session_version
        response = admin.post(f"/admin/users/{shop.bob.id}/deactivate", follow_redirects=True)
        assert "is deactivated already" in response.get_data(as_text=True)
        assert fresh(shop.bob).session_version == version

    def test_a_deactivated_operators_tasks_stay_on_the_board_flagged_for_reassignment(self, app, shop, make_task):
        task = make_task(process=shop.offset, assignee=shop.alice, status="paused")
        response = Browser(app, "admin").post(f"/admin/users/{shop.alice.id}/deactivate", follow_redirects=True)
        assert "They still hold 1 unfinished task: reassign it on the board." in response.get_data(as_text=True)
        sam = Browser(app, "sam")
        board = sam.get("/tasks").get_data(as_text=True)
        row = board[board.index(f'id="task-{task.id}"') :].split("</tr>")[0]
        assert attr(board, f"task-{task.id}", "data-assignee") == "alice"
        assert '<span class="flag">(inactive)</span>' in row
        assert f'action="/tasks/{task.id}/assign"' in row  # the supervisor can hand it to someone else
        reassigned = sam.post(f"/tasks/{task.id}/assign", {"version": str(task.version), "assignee": "bob"})
        assert reassigned.status_code == 303
        db.session.refresh(task)
        assert task.assignee_id == shop.bob.id

    def test_reset_password_ends_the_old_sessions(self, app, shop):
        alice = Browser(app, "alice")
        response = Browser(app, "admin").post(f"/admin/users/{shop.alice.id}/password", {"password": "new secret 1"})
        assert response.status_code == 303
        assert fresh(shop.alice).session_version == 2
        assert verify_password(shop.alice.password_hash, "new secret 1")
        assert alice.get("/tasks").status_code == 302
        assert login(app.test_client(), "alice", "new secret 1").status_code == 303

    def test_an_admin_resetting_their_own_password_stays_logged_in(self, app, shop):
        admin = Browser(app, "admin")
        admin.post(f"/admin/users/{shop.admin.id}/password", {"password": "new secret 1"})
        assert admin.get("/admin/users").status_code == 200

    @pytest.mark.parametrize(("password", "message"), [("", "New password is required."), ("short", "at least 8")])
    def test_a_bad_password_is_a_400_and_changes_nothing(self, app, shop, password, message):
        response = Browser(app, "admin").post(f"/admin/users/{shop.alice.id}/password", {"password": password})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
        assert fresh(shop.alice).session_version == 1

    @pytest.mark.parametrize(("raw", "status"), [("4242", 404), ("abc", 400), ("-1", 400)])
    def test_unknown_or_bad_user_id(self, app, shop, raw, status):
        admin = Browser(app, "admin")
        assert admin.get(f"/admin/users/{raw}").status_code == status
        assert admin.post(f"/admin/users/{raw}/deactivate").status_code == status


class TestDepartmentsAndProcesses:
    def test_create_a_department(self, app, shop):
        response = Browser(app, "admin").post("/admin/departments", {"code": "pack", "name": "Packaging"})
        assert response.status_code == 303
        assert db.session.scalar(select(Department.name).where(Department.code == "PACK")) == "Packaging"

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"code": "PRINT", "name": "Again"}, "Department PRINT exists already."),
            ({"code": "no spaces", "name": "X"}, "must be 1–32 letters"),
            ({"code": "", "name": "X"}, "Code is required."),
            ({"code": "X", "name": ""}, "Name is required."),
            ({"code": "X", "name": "a\nb"}, "Name may not contain control characters."),
        ],
    )
    def test_bad_department_is_a_400(self, app, shop, fields, message):
        response = Browser(app, "admin").post("/admin/departments", fields)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
        assert count(Department) == 2

    def test_create_a_parallel_process(self, app, shop):
        fields = {"code": "proof", "name": "Proof approval", "department": "PRINT", "parallel": "y"}
        response = Browser(app, "admin").post("/admin/processes", fields)
        assert response.status_code == 303
        proof = db.session.scalar(select(Process).where(Process.code == "PROOF"))
        assert (proof.name, proof.department.code, proof.parallel) == ("Proof approval", "PRINT", True)
        page = Browser(app, "admin").get("/admin/processes").get_data(as_text=True)
        assert attr(page, f"process-{proof.id}", "data-parallel") == "true"

    def test_a_process_is_sequential_unless_ticked(self, app, shop):
        Browser(app, "admin").post("/admin/processes", {"code": "GLUE", "name": "Gluing", "department": "CUT"})
        assert db.session.scalar(select(Process.parallel).where(Process.code == "GLUE")) is False

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"code": "OFFSET", "name": "Again", "department": "PRINT"}, "Process OFFSET exists already."),
            ({"code": "FOIL", "name": "Foil", "department": "NOPE"}, "There is no department &#39;NOPE&#39;."),
            ({"code": "FOIL", "name": "Foil", "department": ""}, "Department is required."),
        ],
    )
    def test_bad_process_is_a_400(self, app, shop, fields, message):
        response = Browser(app, "admin").post("/admin/processes", fields)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
        assert count(Process) == 2


ADMIN_ACTIONS = [
    ("get", "/admin", None),
    ("get", "/admin/users", None),
    ("post", "/admin/users", new_user()),
    ("get", "/admin/users/1", None),
    ("post", "/admin/users/1", {"role": "admin"}),
    ("post", "/admin/users/1/deactivate", None),
    ("post", "/admin/users/1/reactivate", None),
    ("post", "/admin/users/1/password", {"password": "taken over!"}),
    ("get", "/admin/departments", None),
    ("post", "/admin/departments", {"code": "X", "name": "X"}),
    ("get", "/admin/processes", None),
    ("post", "/admin/processes", {"code": "X", "name": "X", "department": "PRINT"}),
]


@pytest.mark.parametrize("username", ["alice", "sam"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("method", "url", "data"), ADMIN_ACTIONS)
def test_operators_and_supervisors_get_403_on_every_admin_action(app, shop, username, htmx, method, url, data):
    before = [(u.username, u.role, u.active, u.session_version) for u in db.session.scalars(select(User))]
    sizes = (count(User), count(Department), count(Process))
    person = Browser(app, username)
    response = person.get(url, htmx=htmx) if method == "get" else person.post(url, data, htmx=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert 'data-code="permission_denied"' in body and "Only admins may manage" in body
    db.session.expire_all()
    assert [(u.username, u.role, u.active, u.session_version) for u in db.session.scalars(select(User))] == before
    assert (count(User), count(Department), count(Process)) == sizes


def test_only_admins_see_the_admin_link(app, shop):
    assert 'href="/admin"' in Browser(app, "admin").get("/tasks").get_data(as_text=True)
    assert 'href="/admin"' not in Browser(app, "sam").get("/tasks").get_data(as_text=True)


def test_admin_pages_need_a_login(app, client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
