"""Bulk assign under races (PostgreSQL, real concurrent connections and gunicorn processes).

Supervisors bulk-assign the same tasks that sixteen operators are claiming, everybody with the version they all saw
(1). A bulk assign locks its tasks in id order in one statement, then the assignee's row; a claim locks one task,
then the claimant's row. So nobody waits in a circle: no deadlock and no lock timeout (either would be a 503). Each
task changes exactly once, its holder is its one event's, every conflict names the holder who really has the task,
and the tasks a bulk assign reports assigned are exactly the ones it changed.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from tests.conftest import postgres_only
from tests.helpers import in_parallel
from tests.servers import gunicorn
from tests.test_races import SEEN, Browser, shuffled
from workorders.extensions import db
from workorders.tasks import bulk, service
from workorders.tasks.errors import RuleBroken, TaskConflict
from workorders.tasks.models import NOT_DONE, Task, TaskEvent
from workorders.users.models import User

pytestmark = postgres_only


@pytest.fixture
def app_config() -> dict:
    """No cap unless a test sets one (the race alone decides); a connection for every racing thread."""
    return {"TASK_CAP_PER_OPERATOR": 0, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 24, "max_overflow": 8}}


@dataclass(frozen=True)
class Said:
    """What one racer was told about one task: it got it (`won`), or who has it now (`holder`)."""

    task_id: int
    actor: str
    won: bool
    holder: str | None


def claims(task_ids: list[int], seed: int):
    """An operator claiming every task, in an order of their own."""

    def act(actor: User) -> list[Said]:
        said = []
        for task_id in shuffled(task_ids, seed):
            try:
                service.claim(task_id, actor, SEEN)
                said.append(Said(task_id, actor.username, True, actor.username))
            except TaskConflict as conflict:
                said.append(Said(task_id, actor.username, False, conflict.current_owner))
        return said

    return act


def bulk_assigns(task_ids: list[int], to: str, chunks: int, seed: int):
    """A supervisor giving every task to `to`, in `chunks` bulk assigns, the tasks sent in an order of their own."""

    def act(actor: User) -> list[Said]:
        order, said = shuffled(task_ids, seed), []
        for n in range(chunks):
            outcome = bulk.assign_many(actor, to, [(task_id, SEEN) for task_id in order[n::chunks]])
            for result in outcome.results:
                assert result.outcome in ("assigned", "task_conflict"), result
                said.append(Said(result.task_id, actor.username, result.outcome == "assigned", result.current_owner))
        return said

    return act


def race(app, plans: dict[str, Callable]) -> list:
    """Everyone at once, each in a thread, app context and connection of their own; a 503 (Unavailable: a
    deadlock or a lock timeout) or any other error fails the race."""
    return in_parallel(app, list(plans), lambda actor: plans[actor.username](actor))


def each_task_changed_once_as_told(said: list[Said], task_ids: list[int]) -> dict[int, Said]:
    """One winner per task; every loser told the winner's name; the database agrees: holder and one event each,
    by the winner. Returns the winners."""
    by_task = defaultdict(list)
    for one in said:
        by_task[one.task_id].append(one)
    assert sorted(by_task) == sorted(task_ids)
    db.session.rollback()  # see what the racers committed
    tasks = {task.id: task for task in db.session.scalars(select(Task).where(Task.id.in_(task_ids)))}
    events = defaultdict(list)
    for done in db.session.scalars(select(TaskEvent).where(TaskEvent.task_id.in_(task_ids))):
        events[done.task_id].append(done)
    winners = {}
    for task_id, told in by_task.items():
        won = [one for one in told if one.won]
        assert len(won) == 1, f"task {task_id}: {told}"
        winner = winners[task_id] = won[0]
        holder = tasks[task_id].owner_username
        assert [one for one in told if one.holder != holder] == [], f"task {task_id} is {holder}'s: {told}"
        assert (holder, tasks[task_id].version) == (winner.holder, 2)
        [event] = events[task_id]
        assert (event.actor.username, event.to_assignee.username, event.version) == (winner.actor, holder, 2)
    return winners


def test_two_supervisors_bulk_assigning_while_sixteen_operators_claim_never_deadlock(app, make_task, printing, people):
    task_ids = [make_task(process=printing).id for _ in range(40)]
    operators = people(16, "op")
    supervisors = people(2, "sup", role="supervisor")
    crews = people(2, "crew")  # operators who get tasks only from a supervisor
    plans = {name: claims(task_ids, n) for n, name in enumerate(operators)}
    # The two supervisors send the same tasks in different orders: their locks are taken in id order all the same.
    plans |= {
        name: bulk_assigns(task_ids, crew, 4, 100 + n)
        for n, (name, crew) in enumerate(zip(supervisors, crews, strict=True))
    }

    said = race(app, plans)

    winners = each_task_changed_once_as_told(said, task_ids)
    kinds = {"assign" if won.actor in supervisors else "claim" for won in winners.values()}
    assert kinds == {"claim", "assign"}, "both sides should win some tasks, or it was no race"
    assert len(said) == 18 * 40


def test_bulk_assigns_to_one_person_racing_their_own_claims_stop_at_the_cap(app, make_task, printing, people):
    cap = 5
    app.config["TASK_CAP_PER_OPERATOR"] = cap
    task_ids = [make_task(process=printing).id for _ in range(24)]
    [omar] = people(1, "omar")
    [sup] = people(1, "sup", role="supervisor")

    def claim_all(actor: User) -> list[str]:
        told = []
        for task_id in shuffled(task_ids, 7):
            try:
                told.append("claimed" if service.claim(task_id, actor, SEEN).changed else "theirs already")
            except (TaskConflict, RuleBroken) as refusal:
                told.append(refusal.code)
        return told

    def assign_all(actor: User) -> list[str]:
        outcomes = []
        for n in range(4):
            outcome = bulk.assign_many(actor, omar, [(task_id, SEEN) for task_id in task_ids[n::4]])
            outcomes += [result.outcome for result in outcome.results]
        return outcomes

    told = race(app, {omar: claim_all, sup: assign_all})

    db.session.rollback()
    held = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.assignee_id.is_not(None), Task.status.in_(NOT_DONE))
    )
    events = db.session.scalar(select(func.count()).select_from(TaskEvent))
    assert held == events == cap
    assert told.count("claimed") + told.count("assigned") == cap


@dataclass(frozen=True)
class Listed:
    """One <li> of a bulk assign's htmx answer."""

    task_id: int
    outcome: str
    owner: str


def listed(body: str) -> list[Listed]:
    found = []
    for match in re.finditer(r"<li (data-task-id=[^>]*)>", body):
        data = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(1)))
        found.append(Listed(int(data["task-id"]), data["outcome"], data["current-owner"]))
    return found


@pytest.mark.slow
def test_over_http_a_bulk_assign_racing_sixteen_claimants_answers_every_task_truly(
    app, database_url, tmp_path, make_task, printing, people
):
    task_ids = [make_task(process=printing).id for _ in range(40)]
    operators = people(16, "op")
    [supervisor] = people(1, "sup", role="supervisor")
    people(1, "crew")
    with gunicorn(database_url, tmp_path / "gunicorn.log", workers=3, TASK_CAP_PER_OPERATOR="0") as url:
        browsers = {name: Browser(url) for name in [*operators, supervisor]}
        for name, browser in browsers.items():
            browser.log_in(name)
        barrier = threading.Barrier(len(browsers))

        def claim_all(name: str, seed: int):
            barrier.wait(timeout=30)
            return [(task_id, name, browsers[name].claim(task_id)) for task_id in shuffled(task_ids, seed)]

        def assign_all():
            browser = browsers[supervisor]
            barrier.wait(timeout=30)
            fields = [("csrf_token", browser.token), ("assignee", "crew01")]
            fields += [("task", f"{task_id}:{SEEN}") for task_id in shuffled(task_ids, 99)]
            return browser.request("/tasks/assign", fields, {"HX-Request": "true"})

        with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
            claimed = [pool.submit(claim_all, name, n) for n, name in enumerate(operators)]
            assigned = pool.submit(assign_all)
            replies = [reply for future in claimed for reply in future.result(timeout=120)]
            answer = assigned.result(timeout=120)

    assert [(t, n, r.status) for t, n, r in replies if r.status not in (200, 409)] == [], "no 5xx"
    assert answer.status in (200, 409), answer.body
    db.session.rollback()
    holders = dict(
        db.session.execute(select(Task.id, User.username).join(User, User.id == Task.assignee_id)).tuples().all()
    )
    assert sorted(holders) == sorted(task_ids), "every task was taken by someone"
    results = listed(answer.body)
    assert sorted(result.task_id for result in results) == sorted(task_ids)
    for result in results:
        assert result.owner == holders[result.task_id], result  # the conflicts name the real holder
        assert result.outcome == ("assigned" if holders[result.task_id] == "crew01" else "task_conflict"), result
    for task_id, name, reply in replies:
        assert (reply.status == 200) == (holders[task_id] == name), (task_id, name, reply.status)
    events = db.session.execute(select(TaskEvent.task_id, func.count()).group_by(TaskEvent.task_id)).tuples().all()
    assert dict(events) == dict.fromkeys(task_ids, 1)
