"""The per-operator cap under races (PostgreSQL, real concurrent connections).

A claim locks the claimant's user row in the same statement as the task (after it), and the cap is counted in
the UPDATE that follows: one person's simultaneous claims must not squeeze past the cap together, and claims
racing supervisors' assigns to the same person must not deadlock (both lock tasks first, then the user).
"""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import postgres_only
from tests.helpers import in_parallel
from workorders.extensions import db
from workorders.tasks import service
from workorders.tasks.errors import RuleBroken, TaskConflict
from workorders.tasks.models import NOT_DONE, Task, TaskEvent
from workorders.users.models import User

CAP = 3
pytestmark = postgres_only


@pytest.fixture
def app_config() -> dict:
    return {"TASK_CAP_PER_OPERATOR": CAP, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 10}}


def held_by(username: str) -> int:
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalar(
        select(func.count()).select_from(Task).where(Task.assignee_id == user.id, Task.status.in_(NOT_DONE))
    )


def test_one_operators_simultaneous_claims_stop_exactly_at_the_cap(app, shop, make_task):
    task_ids = [make_task(process=shop.offset).id for _ in range(12)]
    handed_out, lock = iter(task_ids), threading.Lock()

    def claim_one(actor: User) -> list[str]:
        with lock:
            task_id = next(handed_out)
        try:
            service.claim(task_id, actor, 1)
            return ["claimed"]
        except RuleBroken as refusal:
            assert "the most allowed" in refusal.detail
            return ["capped"]

    outcomes = in_parallel(app, ["alice"] * len(task_ids), claim_one)
    assert sorted(outcomes) == ["capped"] * (len(task_ids) - CAP) + ["claimed"] * CAP
    assert held_by("alice") == CAP
    assert db.session.scalar(select(func.count()).select_from(TaskEvent)) == CAP


def test_claims_racing_assigns_to_the_same_person_never_deadlock_or_pass_the_cap(app, shop, make_task):
    task_ids = [make_task(process=shop.offset).id for _ in range(8)]
    rounds = itertools.count()

    def act(actor: User) -> list[str]:
        # Everyone goes through all the tasks, each in an order of their own: the operator claims them, the
        # supervisor assigns them to the same operator.
        offset = next(rounds)
        order = task_ids[offset:] + task_ids[:offset]
        results = []
        for task_id in order:
            try:
                if actor.username == "sam":
                    outcome = service.assign(task_id, actor, 1, "alice")
                else:
                    outcome = service.claim(task_id, actor, 1)
                results.append("applied" if outcome.changed else "no change")
            except TaskConflict:
                results.append("conflict")
            except RuleBroken as refusal:
                assert "the most allowed" in refusal.detail or "is already" in refusal.detail, refusal.detail
                results.append("capped")
        return results

    # Unavailable (a deadlock or lock timeout answers 503) would fail the test here.
    outcomes = in_parallel(app, ["alice", "sam", "alice", "sam"], act)
    assert len(outcomes) == 4 * len(task_ids)
    assert held_by("alice") == CAP
    events = db.session.scalar(select(func.count()).select_from(TaskEvent))
    assert events == outcomes.count("applied") == CAP
