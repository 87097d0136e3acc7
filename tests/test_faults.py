"""Faults (SPEC "Outcomes and status codes"): claims over HTTP while PostgreSQL keeps dropping the app's connections.

Two gunicorn servers with two workers each, on one PostgreSQL schema, serve ten operators — five scripts on the
JSON API and five htmx browsers — who claim random tasks for twelve seconds, while a killer terminates every
backend of the app (`pg_terminate_backend`) every few tenths of a second. Every answer must still be one the
SPEC allows: 200 (it committed), 409 naming the holder, or 503 with Retry-After saying either that nothing was
changed or that the outcome is unknown. Afterwards the database must agree with every answer: each task is as
its last event says, every 200 and every 409 names the real holder, and each holder was told of its claim by a
200 or an "outcome is unknown" 503 — never by a "nothing was changed". Once the killer stops, every client's
next claim succeeds: the connection pools recover by themselves.
"""

from __future__ import annotations

import html
import json
import math
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPException
from urllib.request import Request

import pytest
from sqlalchemy import create_engine, select, text

from tests.conftest import postgres_only
from tests.helpers import attr
from tests.servers import gunicorn
from tests.test_races import SEEN, Browser, Reply
from workorders.extensions import db
from workorders.tasks.models import Task, TaskEvent
from workorders.users.passwords import new_api_token

CLIENTS = 10  # the first half on the JSON API, the second half on htmx
WINDOW_SECONDS = 12
CONTESTED_TASKS = 140  # plus one reserved task per client, claimed once the killer has stopped
KILL_PAUSE_SECONDS = (0.2, 0.5)
SEED = 1202
UNKNOWN = "outcome is unknown"
NOTHING_CHANGED = "nothing was changed"
DIALOG_DETAIL = re.compile(r'<p id="task-dialog-detail"[^>]*>(.*?)</p>', re.S)
# Unique to this run: the killer must not touch any other backend, including another run's on the same server.
APPLICATION_NAME = f"wo_faults_{os.getpid()}"


@pytest.fixture
def app_config() -> dict:
    """No cap: every operator may claim every task, so only the race and the faults decide."""
    return {"TASK_CAP_PER_OPERATOR": 0}


@dataclass(frozen=True)
class Floor:
    """The seeded shop: operators with their API tokens, the contested tasks, and one spare task per operator."""

    tokens: dict[str, str]
    contested: list[int]
    reserved: dict[str, int]


@pytest.fixture
def floor(make_department, make_process, make_user, make_task) -> Floor:
    """One department, CLIENTS operators with API tokens, and CONTESTED_TASKS + CLIENTS open tasks."""
    printing = make_process(make_department("PRINT", "Printing"), code="OFFSET", name="Offset printing")
    tokens = {}
    for n in range(1, CLIENTS + 1):
        user = make_user("operator", [printing.department], f"op{n:02d}")
        tokens[user.username], user.api_token_hash = new_api_token()  # only the hash is stored, as `users token` does
    db.session.commit()
    task_ids = [make_task(process=printing).id for _ in range(CONTESTED_TASKS + CLIENTS)]
    return Floor(tokens, task_ids[:CONTESTED_TASKS], dict(zip(tokens, task_ids[CONTESTED_TASKS:], strict=True)))


class ApiClient(Browser):
    """A script on the JSON API: the Browser's plumbing (no proxy, errors kept), a bearer token for a session."""

    def __init__(self, base_url: str, token: str):
        super().__init__(base_url)
        self.bearer = token

    def claim(self, task_id: int) -> Reply:
        headers = {"Authorization": f"Bearer {self.bearer}", "Content-Type": "application/json"}
        body = json.dumps({"version": SEEN}).encode()
        request = Request(f"{self.base_url}/api/v1/tasks/{task_id}/claim", data=body, headers=headers)
        with self.opener.open(request, timeout=30) as response:
            return Reply(response.status, dict(response.headers), response.read().decode())


def open_clients(urls: list[str], tokens: dict[str, str]) -> dict[str, tuple[str, Browser]]:
    """Half the operators as API scripts, half as logged-in htmx browsers, taking turns between the servers."""
    clients = {}
    for n, (name, token) in enumerate(tokens.items()):
        if n < CLIENTS // 2:
            clients[name] = ("api", ApiClient(urls[n % len(urls)], token))
        else:
            browser = Browser(urls[n % len(urls)])
            browser.log_in(name)
            clients[name] = ("htmx", browser)
    return clients


@dataclass(frozen=True)
class Answer:
    """One claim as its client saw it, and what the answer says, the same way for the API and htmx."""

    client: str
    kind: str  # "api" or "htmx"
    task_id: int
    sent_at: datetime
    status: int  # 0: no HTTP answer at all (connection refused or reset, timeout)
    headers: dict[str, str]  # lower-cased names
    body: str
    code: str | None  # the error code; None for a 200
    assignee: str | None  # whom a 200 shows holding the task
    already_claimed: bool | None  # the API's flag on a 200; htmx does not say
    current_owner: str | None
    detail: str  # an error's text: the API's `detail`, the dialog's detail paragraph

    @property
    def unknown(self) -> bool:
        return self.status == 503 and UNKNOWN in self.detail

    @property
    def nothing_changed(self) -> bool:
        return self.status == 503 and NOTHING_CHANGED in self.detail

    def brief(self) -> str:
        said = self.current_owner if self.status == 409 else self.detail if self.status == 503 else self.assignee
        return f"{self.client}/{self.kind} task {self.task_id}: {self.status} {said!r}"


def read_answer(client: str, kind: str, task_id: int, sent_at: datetime, reply: Reply) -> Answer:
    """Parse a reply into an Answer; a body that is not what the contract promises leaves the fields empty."""
    headers = {name.lower(): value for name, value in reply.headers.items()}
    fields = {"code": None, "assignee": None, "already_claimed": None, "current_owner": None, "detail": None}
    fields |= api_fields(reply) if kind == "api" else htmx_fields(reply, task_id)
    fields["detail"] = fields["detail"] or ""
    return Answer(client, kind, task_id, sent_at, reply.status, headers, reply.body, **fields)


def api_fields(reply: Reply) -> dict:
    """What a JSON answer says: the task's assignee on a 200, else the error envelope's code, owner and detail."""
    try:
        data = json.loads(reply.body)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    if reply.status == 200:
        return {"assignee": (data.get("task") or {}).get("assignee"), "already_claimed": data.get("already_claimed")}
    return {"code": data.get("code"), "current_owner": data.get("current_owner"), "detail": data.get("detail")}


def htmx_fields(reply: Reply, task_id: int) -> dict:
    """What an htmx answer says: the row's assignee on a 200, else the dialog's code, owner and detail."""
    if reply.status == 200:
        return {"assignee": attr(reply.body, f"task-{task_id}", "data-assignee")}
    detail = DIALOG_DETAIL.search(reply.body)
    return {
        "code": attr(reply.body, "task-dialog", "data-code"),
        "current_owner": attr(reply.body, "task-dialog", "data-current-owner"),
        "detail": html.unescape(detail.group(1)).strip() if detail else None,
    }


def ask(client: Browser, name: str, kind: str, task_id: int) -> Answer:
    """Claim one task and record the answer, or status 0 when no HTTP answer came at all."""
    sent_at = datetime.now(UTC)
    try:
        reply = client.claim(task_id)
    except (OSError, HTTPException) as error:  # refused, reset, timed out: the server lost the request
        reply = Reply(0, {}, repr(error))
    return read_answer(name, kind, task_id, sent_at, reply)


def opened(task_ids: list[int], elapsed: float) -> list[int]:
    """The tasks put up for claiming so far: a share growing with the time, so claims commit all through the window."""
    # All at once, they would all be taken in the first second and the killer would meet only 409s after that.
    return task_ids[: max(CLIENTS, math.ceil(len(task_ids) * elapsed / WINDOW_SECONDS))]


def claim_for_the_window(client: Browser, name: str, kind: str, task_ids: list[int], seed: int) -> list[Answer]:
    """Claim random tasks, one after the other, until WINDOW_SECONDS have passed."""
    rng = random.Random(seed)
    start = time.monotonic()
    answers = []
    while (elapsed := time.monotonic() - start) < WINDOW_SECONDS:
        answers.append(ask(client, name, kind, rng.choice(opened(task_ids, elapsed))))
    return answers


@contextmanager
def killing_backends(database_url: str) -> Iterator[list[int]]:
    """Terminate every backend of the app every 0.2–0.5 s while the block runs; yields each burst's kill count."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")  # its own connection, spared by the kill
    rng, stop, bursts = random.Random(SEED), threading.Event(), []
    kill = text(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = :name AND pid <> pg_backend_pid()"
    )

    def kill_again_and_again() -> None:
        with engine.connect() as connection:
            while not stop.wait(rng.uniform(*KILL_PAUSE_SECONDS)):
                bursts.append(connection.execute(kill, {"name": APPLICATION_NAME}).scalar_one())

    killer = threading.Thread(target=kill_again_and_again)
    killer.start()
    try:
        yield bursts
    finally:
        stop.set()
        killer.join(10)
        engine.dispose()


def with_application_name(database_url: str) -> str:
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}application_name={APPLICATION_NAME}"


@dataclass(frozen=True)
class Final:
    """A task as the database has it afterwards, with its events in version order."""

    holder: str | None
    status: str
    events: list[TaskEvent]


def final_tasks(task_ids: list[int]) -> dict[int, Final]:
    """Read every task and its events afresh: what the servers committed, not what this session saw before."""
    db.session.rollback()
    db.session.expire_all()
    events = defaultdict(list)
    query = select(TaskEvent).where(TaskEvent.task_id.in_(task_ids)).order_by(TaskEvent.version)
    for done in db.session.scalars(query):
        events[done.task_id].append(done)
    tasks = db.session.scalars(select(Task).where(Task.id.in_(task_ids)))
    return {task.id: Final(task.owner_username, task.status, events[task.id]) for task in tasks}


def contract_breaches(answers: list[Answer]) -> list[str]:
    """Answers the SPEC does not allow: a status other than 200/409/503, or a body that does not say what it must."""
    breaches = []
    for answer in answers:
        problem = None
        if answer.status not in (200, 409, 503):
            problem = f"status {answer.status}: {answer.body[:300]!r}"
        elif answer.status == 200 and answer.assignee != answer.client:
            problem = f"a 200 showing {answer.assignee!r} as the holder"
        elif answer.status == 409 and (answer.code != "task_conflict" or not answer.current_owner):
            problem = f"a 409 with code {answer.code!r} naming {answer.current_owner!r}"
        elif answer.status == 409 and answer.kind == "htmx" and answer.headers.get("hx-retarget") != "#modal-slot":
            problem = f"a 409 dialog retargeted to {answer.headers.get('hx-retarget')!r}"
        elif answer.status == 503 and (answer.code != "unavailable" or "retry-after" not in answer.headers):
            problem = f"a 503 with code {answer.code!r} and Retry-After {answer.headers.get('retry-after')!r}"
        elif answer.status == 503 and answer.unknown == answer.nothing_changed:
            problem = f"a 503 saying neither or both of {UNKNOWN!r} and {NOTHING_CHANGED!r}: {answer.detail!r}"
        if problem:
            breaches.append(f"{answer.client}/{answer.kind} task {answer.task_id}: {problem}")
    return breaches


def history_disagreements(finals: dict[int, Final]) -> list[str]:
    """Tasks whose holder and status are not what their last event says, or that were claimed more than once."""
    wrong = []
    for task_id, final in finals.items():
        last = final.events[-1] if final.events else None
        expected = (last.to_assignee.username if last.to_assignee else None, last.to_status) if last else (None, "open")
        actual, claims = (final.holder, final.status), sum(done.action == "claim" for done in final.events)
        if actual != expected or claims > 1:
            history = ", ".join(f"v{done.version} {done.action} by {done.actor.username}" for done in final.events)
            wrong.append(f"task {task_id}: is {actual}, its last event says {expected}; events: {history}")
    return wrong


def unreflected(answers: list[Answer], finals: dict[int, Final]) -> list[str]:
    """200s the database does not show (the task is someone else's), and 409s naming someone not holding the task."""
    wrong = []
    for answer in answers:
        holder = finals[answer.task_id].holder
        named = {200: answer.client, 409: answer.current_owner}.get(answer.status, holder)
        if named != holder:
            wrong.append(f"{answer.brief()}, but the task is held by {holder!r}")
    return wrong


def claim_answers(answers: list[Answer], finals: dict[int, Final]) -> dict[int, Answer | None]:
    """For each held task, the answer to the request that claimed it: the holder's last one sent before the claim."""
    # The event's time is its transaction's start (PostgreSQL's CURRENT_TIMESTAMP, the same host's clock): after
    # the claiming request was sent, and before any later request of that client, which waits for its answer.
    # So a later "already claimed" 200 cannot hide a claim that was answered "nothing was changed".
    by_holder = defaultdict(list)
    for answer in answers:
        by_holder[answer.client, answer.task_id].append(answer)
    claimed = {}
    for task_id, final in finals.items():
        claims = [done for done in final.events if done.action == "claim" and done.actor.username == final.holder]
        if final.holder is None or not claims:
            continue
        sent_before = [answer for answer in by_holder[final.holder, task_id] if answer.sent_at <= claims[-1].created_at]
        claimed[task_id] = sent_before[-1] if sent_before else None
    return claimed


def untold_holders(claimed: dict[int, Answer | None], finals: dict[int, Final]) -> list[str]:
    """Held tasks whose claim was answered with anything but a 200 or an "outcome is unknown" 503."""
    wrong = []
    for task_id, answer in claimed.items():
        if answer is None:
            wrong.append(f"task {task_id}: held by {finals[task_id].holder!r}, who sent no claim before its event")
        elif not (answer.status == 200 and answer.already_claimed is not True) and not answer.unknown:
            wrong.append(f"{answer.brief()}, yet this request claimed it")
    return wrong


def listing(problems: list[str], limit: int = 25) -> str:
    """How many problems there are, then the first `limit` of them, one a line."""
    lines = [str(len(problems)), *(f"    {problem}" for problem in problems[:limit])]
    if len(problems) > limit:
        lines.append(f"    … and {len(problems) - limit} more")
    return "\n".join(lines)


def summary(window: list[Answer], recovery: list[Answer], bursts: list[int], claimed: dict, findings: dict) -> str:
    """The figures of a run, for the log and the docs."""
    statuses = Counter((answer.kind, answer.status) for answer in window)
    fresh = sum(answer.status == 200 and answer.already_claimed is False for answer in window)
    lines = [
        f"fault run: {len(window)} claims in {WINDOW_SECONDS} s by {CLIENTS} clients on 2 servers x 2 workers",
        "  statuses: " + ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(statuses.items())),
        f"  kills: {sum(bursts)} backends in {len(bursts)} bursts",
        f"  503s: {sum(a.unknown for a in window)} outcome unknown, {sum(a.nothing_changed for a in window)} nothing "
        f"changed, {sum(a.status == 503 and not a.unknown and not a.nothing_changed for a in window)} neither",
        f"  200s: {fresh} fresh API claims; tasks claimed: {len(claimed)}, "
        f"their claim answered by {dict(Counter(a.status if a else None for a in claimed.values()))}",
        f"  recovery: {Counter(answer.status for answer in recovery)}",
    ]
    lines += [f"  {name}: {listing(problems)}" for name, problems in findings.items()]
    return "\n".join(lines)


@pytest.mark.slow
@postgres_only
def test_claims_while_the_databases_connections_keep_dying_get_only_answers_the_database_agrees_with(
    app, database_url, floor, tmp_path
):
    server_url = with_application_name(database_url)
    with ExitStack() as servers:
        urls = [
            servers.enter_context(gunicorn(server_url, tmp_path / f"gunicorn-{n}.log", 2, TASK_CAP_PER_OPERATOR="0"))
            for n in range(2)
        ]
        clients = open_clients(urls, floor.tokens)
        with killing_backends(database_url) as bursts, ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            futures = [
                pool.submit(claim_for_the_window, client, name, kind, floor.contested, SEED + n)
                for n, (name, (kind, client)) in enumerate(clients.items())
            ]
            window = [answer for future in futures for answer in future.result(timeout=WINDOW_SECONDS + 60)]
        recovery = [ask(client, name, kind, floor.reserved[name]) for name, (kind, client) in clients.items()]

    answers = window + recovery
    finals = final_tasks(floor.contested + list(floor.reserved.values()))
    claimed = claim_answers(answers, finals)
    findings = {
        "1 answers outside the contract": contract_breaches(answers),
        "2 tasks disagreeing with their history": history_disagreements(finals),
        "3 answers the database does not reflect": unreflected(answers, finals),
        "4 holders not told of their claim": untold_holders(claimed, finals),
    }
    print(summary(window, recovery, bursts, claimed, findings))

    assert sum(bursts) >= 10, f"the killer terminated only {sum(bursts)} backends: no real faults"
    assert any(answer.status == 503 for answer in window), "no 503 at all: the faults never reached a claim"
    for name, problems in findings.items():
        assert problems == [], f"{name}: {listing(problems)}"
    assert [answer.brief() for answer in recovery if answer.status != 200] == [], "the pools did not recover"
