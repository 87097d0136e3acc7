"""Factory fixtures: `make_task(**overrides)` and friends, each committing a valid row with sensible defaults."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.orders.models import WorkOrder
from workorders.tasks.models import Task
from workorders.users.models import User
from workorders.users.passwords import hash_password

PASSWORD = "correct horse"
_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


@pytest.fixture
def make_department(app):
    def make(code: str | None = None, name: str | None = None) -> Department:
        n = _next()
        department = Department(code=code or f"D{n}", name=name or f"Department {n}")
        db.session.add(department)
        db.session.commit()
        return department

    return make


@pytest.fixture
def make_process(app, make_department):
    def make(
        department: Department | None = None, parallel: bool = False, code: str | None = None, name: str | None = None
    ) -> Process:
        n = _next()
        process = Process(
            code=code or f"P{n}",
            name=name or f"Process {n}",
            department=department or make_department(),
            parallel=parallel,
        )
        db.session.add(process)
        db.session.commit()
        return process

    return make


@pytest.fixture
def make_user(app, make_department):
    def make(
        role: str = "operator",
        departments: list[Department] | None = None,
        username: str | None = None,
        password: str = PASSWORD,
        active: bool = True,
        display_name: str | None = None,
    ) -> User:
        username = username or f"user{_next()}"
        if departments is None:
            departments = [] if role == "admin" else [make_department()]
        user = User(
            username=username,
            display_name=display_name or username.title(),
            role=role,
            departments=departments,
            password_hash=hash_password(password),
            active=active,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_work_order(app):
    def make(**overrides) -> WorkOrder:
        n = _next()
        values = {
            "number": f"WO-2026-{n:04d}",
            "customer": "Northwind Foods",
            "product": "folding boxes",
            "quantity": 5000,
            "due_date": date.today() + timedelta(days=7),
            "priority": "normal",
        }
        order = WorkOrder(**(values | overrides))
        db.session.add(order)
        db.session.commit()
        return order

    return make


@pytest.fixture
def make_task(app, make_work_order, make_process):
    def make(
        work_order: WorkOrder | None = None, process: Process | None = None, sequence: int | None = None, **overrides
    ) -> Task:
        work_order = work_order or make_work_order()
        process = process or make_process()
        if sequence is None:
            sequence = len(work_order.tasks) + 1
        task = Task(
            work_order=work_order,
            process=process,
            department=process.department,
            sequence=sequence,
            planned_qty=overrides.pop("planned_qty", work_order.quantity),
            **overrides,
        )
        db.session.add(task)
        db.session.commit()
        return task

    return make


@dataclass
class Shop:
    """Two departments, their people and a process each: the cast of most board tests."""

    printing: Department
    cutting: Department
    offset: Process
    diecut: Process
    alice: User  # operator, printing
    bob: User  # operator, printing
    carol: User  # operator, cutting
    sam: User  # supervisor, printing
    admin: User


@pytest.fixture
def shop(make_department, make_process, make_user) -> Shop:
    printing = make_department("PRINT", "Printing")
    cutting = make_department("CUT", "Die-cutting")
    return Shop(
        printing=printing,
        cutting=cutting,
        offset=make_process(printing, code="OFFSET", name="Offset printing"),
        diecut=make_process(cutting, code="DIECUT", name="Die-cutting"),
        alice=make_user("operator", [printing], "alice", display_name="Alice Archer"),
        bob=make_user("operator", [printing], "bob", display_name="Bob Baker"),
        carol=make_user("operator", [cutting], "carol", display_name="Carol Cutter"),
        sam=make_user("supervisor", [printing], "sam", display_name="Sam Supervisor"),
        admin=make_user("admin", [], "admin", display_name="Ada Admin"),
    )


@pytest.fixture
def printing(make_department, make_process):
    """Printing's offset process: the one department everybody in a race works in."""
    return make_process(make_department("PRINT", "Printing"), code="OFFSET", name="Offset printing")


@pytest.fixture
def people(make_user, printing):
    """`count` users of Printing with the given role and username prefix; returns their usernames."""

    def make(count: int, prefix: str, role: str = "operator") -> list[str]:
        return [make_user(role, [printing.department], f"{prefix}{n:02d}").username for n in range(1, count + 1)]

    return make
