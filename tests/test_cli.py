"""The Flask CLI of SPEC "Command line"."""

from sqlalchemy import func, select

from tests.helpers import logged_in
from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.orders.models import WorkOrder
from workorders.tasks.models import Task, TaskEvent
from workorders.users.models import User
from workorders.users.passwords import hash_api_token, verify_password


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_departments_create_and_list(runner):
    result = runner.invoke(args=["departments", "create", "print", "Printing"])
    assert result.exit_code == 0, result.output
    assert "Created department PRINT" in result.output
    listed = runner.invoke(args=["departments", "list"])
    assert "PRINT\tPrinting" in listed.output


def test_departments_create_refuses_duplicates_and_bad_codes(runner, make_department):
    make_department("PRINT")
    duplicate = runner.invoke(args=["departments", "create", "PRINT", "Again"])
    bad = runner.invoke(args=["departments", "create", "no spaces", "Bad"])
    assert duplicate.exit_code == bad.exit_code == 1
    assert "exists already" in duplicate.output and "must be 1–32 letters" in bad.output
    assert count(Department) == 1


def test_processes_create_and_list(runner, make_department):
    make_department("PREPRESS")
    result = runner.invoke(
        args=["processes", "create", "PROOF", "Proof approval", "--department", "prepress", "--parallel"]
    )
    assert result.exit_code == 0, result.output
    process = db.session.scalar(select(Process))
    assert (process.code, process.parallel, process.department.code) == ("PROOF", True, "PREPRESS")
    assert "PROOF\tProof approval\tPREPRESS\tparallel" in runner.invoke(args=["processes", "list"]).output


def test_processes_create_needs_a_known_department(runner):
    result = runner.invoke(args=["processes", "create", "PROOF", "Proof", "--department", "NOPE"])
    assert result.exit_code == 1
    assert "There is no department 'NOPE'" in result.output
    assert count(Process) == 0


def test_users_create_with_password_and_departments(runner, make_department):
    make_department("PRINT")
    make_department("CUT")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Omar",
            "--role",
            "operator",
            "--department",
            "PRINT",
            "--department",
            "cut",
            "--password",
            "long enough",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.username == "omar"
    assert [d.code for d in user.departments] == ["CUT", "PRINT"]
    assert verify_password(user.password_hash, "long enough")
    assert "Password:" not in result.output


def test_users_create_without_password_prints_a_generated_one(app, runner, make_department):
    make_department("PRINT")
    result = runner.invoke(args=["users", "create", "sam", "--role", "supervisor", "--department", "PRINT"])
    assert result.exit_code == 0, result.output
    password = result.output.split("Password: ")[1].strip()
    assert logged_in(app, "sam", password)


def test_users_create_rejects_bad_input_and_writes_nothing(runner, make_department, make_user):
    make_department("PRINT")
    make_user(username="taken", departments=[])
    cases = [
        (["users", "create", "x", "--role", "operator", "--department", "NOPE"], "There is no department"),
        (["users", "create", "x", "--role", "operator"], "need at least one department"),
        (
            ["users", "create", "x", "--role", "operator", "--department", "PRINT", "--password", "short"],
            "at least 8 characters",
        ),
        (["users", "create", "taken", "--role", "admin"], "exists already"),
        (["users", "create", "bad name", "--role", "admin"], "A username is"),
        (["users", "create", "x", "--role", "root"], "Invalid value for '--role'"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert count(User) == 1


def test_users_token_prints_a_new_token_and_stores_only_its_hash(runner, make_user):
    user = make_user(username="scanner")
    first = runner.invoke(args=["users", "token", "scanner"])
    assert first.exit_code == 0
    token = first.output.strip()
    db.session.refresh(user)
    assert user.api_token_hash == hash_api_token(token) and token not in user.api_token_hash
    second = runner.invoke(args=["users", "token", "scanner"]).output.strip()
    db.session.refresh(user)
    assert second != token and user.api_token_hash == hash_api_token(second)


def test_users_token_for_unknown_user_fails(runner):
    result = runner.invoke(args=["users", "token", "ghost"])
    assert result.exit_code == 1
    assert "There is no user 'ghost'" in result.output


def test_seed_demo_builds_a_believable_shop_and_prints_logins(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert (count(Department), count(Process), count(WorkOrder)) == (5, 9, 40)
    roles = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).tuples().all())
    assert roles == {"admin": 1, "supervisor": 2, "operator": 6}
    statuses = set(db.session.scalars(select(Task.status).distinct()))
    assert {"open", "in_progress", "paused", "done", "cancelled"} <= statuses
    orders = [order for order in db.session.scalars(select(WorkOrder))]
    assert all(3 <= len(order.tasks) <= 5 for order in orders)
    # Every task's version says how many changes its history records.
    for task in db.session.scalars(select(Task)):
        events = db.session.scalar(select(func.count()).where(TaskEvent.task_id == task.id))
        assert task.version == events + 1
    for username in ("admin", "sam", "sue", "olga", "omar", "otto", "ola", "oscar", "orla"):
        assert username in result.output
    assert logged_in(app, "omar", "demo1234").get("/tasks").status_code == 200


def test_seed_demo_twice_adds_nothing(runner):
    runner.invoke(args=["seed-demo"])
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0
    assert "nothing was added" in again.output
    assert count(WorkOrder) == 40
