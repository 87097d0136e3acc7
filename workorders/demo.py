"""Demo data: a small folding-carton and label shop with work in every state."""

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from workorders.departments.models import Department, Process
from workorders.extensions import db
from workorders.orders.models import OrderStatus, Priority, WorkOrder
from workorders.tasks.models import Task, TaskEvent, TaskStatus
from workorders.users.models import Role, User
from workorders.users.passwords import hash_password

DEMO_PASSWORD = "demo1234"  # nosec B105 # the demo logins' published password (README); demo data only

DEPARTMENTS = [
    ("PREPRESS", "Prepress"),
    ("PRINT", "Printing"),
    ("FINISH", "Finishing"),
    ("DIECUT", "Die-cutting"),
    ("PACK", "Packaging"),
]
# code, name, department, parallel
PROCESSES = [
    ("PLATES", "Plate making", "PREPRESS", False),
    ("PROOF", "Proof approval", "PREPRESS", True),
    ("OFFSET", "Offset printing", "PRINT", False),
    ("DIGITAL", "Digital printing", "PRINT", False),
    ("LAMINATE", "Lamination", "FINISH", False),
    ("VARNISH", "UV varnish", "FINISH", False),
    ("DIECUT", "Die-cutting", "DIECUT", False),
    ("GLUE", "Folding and gluing", "PACK", False),
    ("PACK", "Packing", "PACK", False),
]
# username, display name, role, departments
USERS = [
    ("admin", "Alex Admin", Role.ADMIN, []),
    ("sam", "Sam Supervisor", Role.SUPERVISOR, ["PREPRESS", "PRINT"]),
    ("sue", "Sue Supervisor", Role.SUPERVISOR, ["FINISH", "DIECUT", "PACK"]),
    ("olga", "Olga Novak", Role.OPERATOR, ["PREPRESS"]),
    ("omar", "Omar Haddad", Role.OPERATOR, ["PRINT"]),
    ("otto", "Otto Berg", Role.OPERATOR, ["PRINT", "FINISH"]),
    ("ola", "Ola Kowalska", Role.OPERATOR, ["FINISH"]),
    ("oscar", "Oscar Diaz", Role.OPERATOR, ["DIECUT"]),
    ("orla", "Orla Byrne", Role.OPERATOR, ["DIECUT", "PACK"]),
]
ROUTES = [
    ["PLATES", "OFFSET", "DIECUT", "GLUE", "PACK"],
    ["PLATES", "PROOF", "OFFSET", "LAMINATE", "DIECUT"],
    ["DIGITAL", "LAMINATE", "DIECUT", "PACK"],
    ["PLATES", "OFFSET", "VARNISH", "PACK"],
    ["DIGITAL", "DIECUT", "PACK"],
    ["PROOF", "DIGITAL", "VARNISH", "GLUE", "PACK"],
]
CUSTOMERS = [
    "Northwind Foods",
    "Alpine Dairy",
    "Blue Harbor Tea",
    "Kessler Pharma",
    "Maple & Rye Bakery",
    "Solis Cosmetics",
    "Vinter Wines",
    "Greenleaf Organics",
]
PRODUCTS = ["folding boxes", "labels", "sleeves", "display trays", "gift boxes", "blister cards", "shelf wobblers"]


def demo_logins() -> list[tuple[str, str, str]]:
    return [(username, str(role), ", ".join(codes) or "all") for username, _, role, codes in USERS]


def seed(orders: int = 40, rng_seed: int = 2026) -> str | None:
    """Add the demo shop to an empty database; None (and nothing added) when users exist already."""
    if db.session.scalar(select(func.count()).select_from(User)):
        return None
    rng = random.Random(rng_seed)  # nosec B311 # repeatable demo data, nothing secret
    departments = {code: Department(code=code, name=name) for code, name in DEPARTMENTS}
    processes = {
        code: Process(code=code, name=name, department=departments[dept], parallel=parallel)
        for code, name, dept, parallel in PROCESSES
    }
    password_hash = hash_password(DEMO_PASSWORD)
    users = [
        User(
            username=username,
            display_name=name,
            role=role,
            password_hash=password_hash,
            departments=[departments[code] for code in codes],
        )
        for username, name, role, codes in USERS
    ]
    db.session.add_all([*departments.values(), *processes.values(), *users])
    db.session.flush()
    supervisor = users[1]
    today = date.today()
    for number in range(1, orders + 1):
        _add_work_order(rng, number, today, processes, users, supervisor)
    db.session.commit()
    return f"{len(departments)} departments, {len(processes)} processes, {len(users)} users, {orders} work orders"


def _add_work_order(rng, number, today, processes, users, creator) -> None:
    route = rng.choice(ROUTES)
    quantity = rng.choice([500, 1000, 2500, 5000, 10000, 20000])
    order = WorkOrder(
        number=f"WO-{today.year}-{number:04d}",
        customer=rng.choice(CUSTOMERS),
        product=f"{rng.choice(PRODUCTS)}, {rng.choice(['4/0', '4/4', '5/0 + Pantone'])}",
        quantity=quantity,
        due_date=today + timedelta(days=rng.randint(-2, 21)),
        priority=rng.choices(list(Priority), weights=[2, 6, 3, 1])[0],
        created_by=creator,
    )
    db.session.add(order)
    # How far along the route the order is: steps before `reached` are done.
    reached = rng.choices(range(len(route) + 1), weights=[8] + [4] * (len(route) - 1) + [2])[0]
    cancelled = number % 17 == 0
    for sequence, code in enumerate(route, start=1):
        process = processes[code]
        task = Task(
            work_order=order,
            process=process,
            department=process.department,
            sequence=sequence,
            planned_qty=quantity,
            status=TaskStatus.OPEN,
        )
        db.session.add(task)
        db.session.flush()
        members = [user for user in users if user.role == Role.OPERATOR and process.department in user.departments]
        if sequence < reached or (sequence == reached and not cancelled):
            _advance(rng, task, rng.choice(members), done=sequence < reached)
        if cancelled and task.status != TaskStatus.DONE:
            _record(task, creator, "cancel", to_status=TaskStatus.CANCELLED)
    if cancelled:
        order.status = OrderStatus.CANCELLED
    elif reached > len(route):
        order.status = OrderStatus.DONE


def _advance(rng, task: Task, operator: User, done: bool) -> None:
    """Walk a task through claim → start → (pause | complete), writing the events a real shift would."""
    _record(task, operator, "claim", to_assignee=operator)
    if not done and rng.random() < 0.35:
        return
    _record(task, operator, "start", to_status=TaskStatus.IN_PROGRESS)
    if done:
        task.good_qty = task.planned_qty - rng.randint(0, task.planned_qty // 50)
        task.scrap_qty = rng.randint(0, task.planned_qty // 40)
        task.completed_at = datetime.now(UTC)
        _record(task, operator, "complete", to_status=TaskStatus.DONE)
    elif rng.random() < 0.4:
        _record(task, operator, "pause", to_status=TaskStatus.PAUSED)


def _record(task: Task, actor: User, action: str, to_status=None, to_assignee=None) -> None:
    event = TaskEvent(
        task=task,
        actor=actor,
        action=action,
        from_status=task.status,
        to_status=to_status or task.status,
        from_assignee=task.assignee,
        to_assignee=to_assignee or task.assignee,
        version=task.version + 1,
    )
    if to_assignee is not None:
        task.assignee = to_assignee
    if to_status is not None:
        task.status = to_status
        if to_status == TaskStatus.IN_PROGRESS:
            task.started_at = datetime.now(UTC)
    db.session.add(event)
    db.session.flush()  # the flush bumps task.version, as every real change does
