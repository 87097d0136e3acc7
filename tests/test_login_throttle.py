"""Login throttling (SPEC "Security"): per username and per client address, counted in the database.

While a username or an address has used up its failures in the window, every attempt — right password or not,
existing username or not — gets 429 with Retry-After, as the login page, an htmx dialog or JSON. The counts hold
across every worker and server because they live in the database: proved with two gunicorn servers on one
PostgreSQL schema, in turn and all at once.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert, select, update

from tests.conftest import postgres_only, test_config
from tests.factories import PASSWORD
from tests.helpers import HTMX, csrf_token, rows_locked
from tests.servers import gunicorn
from tests.test_database_down import backend_killed_before
from tests.test_races import Browser
from workorders import create_app
from workorders.auth.models import LoginThrottle
from workorders.auth.throttle import PRUNE_BATCH, address_key, user_key
from workorders.extensions import db

PER_USER = 3
PER_ADDRESS = 6
WINDOW = 900
TABLE = LoginThrottle.__table__
META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def app_config() -> dict:
    """Small limits, so a test reaches them in a few attempts; a short lock wait for the database-fault tests."""
    return {
        "LOGIN_MAX_FAILURES_PER_USER": PER_USER,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": PER_ADDRESS,
        "LOGIN_WINDOW_SECONDS": WINDOW,
        "LOCK_TIMEOUT_MS": 300,
    }


def attempt(client, username: str, password: str = "wrong password", address: str = "10.0.0.1", headers=None):
    """POST /login as a browser at `address` would (with the CSRF token its login page gave it)."""
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        headers=headers or {},
        environ_base={"REMOTE_ADDR": address},
    )


def failures() -> dict[str, int]:
    """The stored counts, read on a connection of their own (what every server sees)."""
    with db.engine.connect() as connection:
        return dict(connection.execute(select(TABLE.c.key, TABLE.c.failures)).all())


def move_windows_back(seconds: int) -> None:
    """Pretend every window started `seconds` earlier (rather than sleeping through it)."""
    with db.engine.begin() as connection:
        connection.execute(update(TABLE).values(window_start=TABLE.c.window_start - seconds))


def start_windows_at(started: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(update(TABLE).values(window_start=started))


def test_a_username_is_refused_after_its_failures_even_with_the_right_password(client, make_user):
    make_user(username="alice")
    assert [attempt(client, "alice").status_code for _ in range(PER_USER)] == [401] * PER_USER

    refused = attempt(client, "alice")
    assert refused.status_code == 429
    assert WINDOW - 2 <= int(refused.headers["Retry-After"]) <= WINDOW
    page = refused.get_data(as_text=True)
    assert 'data-code="too_many_attempts"' in page and "Wait 15 minutes" in page
    assert 'name="password"' in page  # the login form again, to try later

    right = attempt(client, "alice", PASSWORD)
    assert right.status_code == 429 and "Retry-After" in right.headers
    assert client.get("/tasks").status_code == 302
    # Refused attempts are not counted: the window is not stretched by knocking on it.
    assert failures() == {user_key("alice"): PER_USER, address_key("10.0.0.1"): PER_USER}


def _same_page(response, username: str) -> str:
    """The body with what differs by design taken out: this browser's CSRF token, and the username it typed."""
    page = response.get_data(as_text=True)
    token = META_TOKEN.search(page).group(1)
    return page.replace(token, "TOKEN").replace(f'value="{username}"', 'value="NAME"')


def _headers(response) -> dict[str, str]:
    return {name: value for name, value in response.headers if name not in ("Set-Cookie", "Content-Length")}


def test_an_unknown_username_gets_the_same_answers_as_an_existing_one(app, make_user):
    make_user(username="alice")
    people = {"alice": ("10.0.0.1", app.test_client()), "nobody": ("10.0.0.2", app.test_client())}
    answers: dict[str, list] = {name: [] for name in people}
    for name, (address, client) in people.items():
        answers[name] += [attempt(client, name, address=address) for _ in range(PER_USER)]
    # Both windows started at the same second, 330 s ago: 570 s left, "Wait 10 minutes" for both, even if the
    # clock ticks over a second between the two requests.
    start_windows_at(int(time.time()) - 330)
    for name, (address, client) in people.items():
        answers[name] += [attempt(client, name, address=address), attempt(client, name, PASSWORD, address)]

    alice, nobody = answers["alice"], answers["nobody"]
    assert [r.status_code for r in alice] == [r.status_code for r in nobody] == [401] * PER_USER + [429, 429]
    for mine, theirs in zip(alice, nobody, strict=True):
        assert _same_page(mine, "alice") == _same_page(theirs, "nobody")
        retry_after = [int(r.headers.get("Retry-After", 0)) for r in (mine, theirs)]
        assert abs(retry_after[0] - retry_after[1]) <= 1
        assert {k: v for k, v in _headers(mine).items() if k != "Retry-After"} == {
            k: v for k, v in _headers(theirs).items() if k != "Retry-After"
        }
    assert "Wait 10 minutes" in alice[-1].get_data(as_text=True)


def test_the_address_limit_counts_failures_across_usernames(app, make_user):
    make_user(username="alice")
    client = app.test_client()
    tried = [attempt(client, f"guess{n}", address="10.0.0.9").status_code for n in range(PER_ADDRESS)]
    assert tried == [401] * PER_ADDRESS  # one failure per username: no username limit is near

    assert attempt(client, "alice", PASSWORD, address="10.0.0.9").status_code == 429
    assert attempt(client, "alice", PASSWORD, address="10.0.0.10").status_code == 303  # another device


def test_a_success_forgets_the_usernames_failures_but_not_the_addresses(app, make_user):
    make_user(username="alice")
    first = app.test_client()
    assert [attempt(first, "alice").status_code for _ in range(PER_USER - 1)] == [401] * (PER_USER - 1)
    assert attempt(first, "alice", PASSWORD).status_code == 303
    # The address keeps its failures; the success's own attempt was handed back (a shared tablet logs in many).
    assert failures() == {address_key("10.0.0.1"): PER_USER - 1}

    second = app.test_client()
    tried = [attempt(second, "alice", address="10.0.0.2").status_code for _ in range(PER_USER + 1)]
    assert tried == [401] * PER_USER + [429]


def test_the_end_of_the_window_frees_the_username(app, make_user):
    make_user(username="alice")
    client = app.test_client()
    for _ in range(PER_USER):
        attempt(client, "alice")
    move_windows_back(600)
    refused = attempt(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert 298 <= int(refused.headers["Retry-After"]) <= 300
    assert "Wait 5 minutes" in refused.get_data(as_text=True)

    move_windows_back(300)
    assert attempt(client, "alice", PASSWORD).status_code == 303


def test_throttled_htmx_post_gets_the_dialog(client, make_user):
    make_user(username="alice")
    for _ in range(PER_USER):
        attempt(client, "alice", headers=HTMX)
    response = attempt(client, "alice", PASSWORD, headers=HTMX)
    assert response.status_code == 429
    assert response.headers["HX-Retarget"] == "#modal-slot" and response.headers["HX-Reswap"] == "innerHTML"
    assert WINDOW - 2 <= int(response.headers["Retry-After"]) <= WINDOW
    dialog = response.get_data(as_text=True)
    assert dialog.startswith('<dialog id="task-dialog"') and 'data-code="too_many_attempts"' in dialog
    assert "Too many failed log-in attempts" in dialog and "Wait 15 minutes" in dialog
    assert "Too many attempts" in dialog  # the dialog's title (templates/errors/_title.html)


def test_a_client_asking_for_json_gets_the_envelope(client, make_user):
    make_user(username="alice")
    as_json = {"Accept": "application/json"}
    wrong = attempt(client, "alice", headers=as_json)
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "unauthorized"
    for _ in range(PER_USER - 1):
        attempt(client, "alice", headers=as_json)

    response = attempt(client, "alice", PASSWORD, headers=as_json)
    assert response.status_code == 429
    assert WINDOW - 2 <= int(response.headers["Retry-After"]) <= WINDOW
    body = response.get_json()
    assert body["code"] == "too_many_attempts" and body["task_id"] is None and body["current_owner"] is None
    assert body["detail"] == "Too many failed log-in attempts for this username or from this device."
    assert body["retry"]["can_retry"] is True and body["retry"]["suggestion"].startswith("Wait 15 minutes")
    # A browser (text/html first, or anything) still gets the page.
    assert attempt(client, "alice", headers={"Accept": "text/html,*/*;q=0.8"}).mimetype == "text/html"


def test_the_table_keeps_no_typed_username(client):
    attempt(client, "my secret password")
    keys = set(failures())
    assert keys == {user_key("my secret password"), address_key("10.0.0.1")}
    assert not any("secret" in key for key in keys)
    assert re.fullmatch(r"user:[0-9a-f]{64}", user_key("my secret password"))


def test_ended_windows_are_pruned_a_bounded_batch_at_a_time(client):
    ended = int(time.time()) - WINDOW - 1
    with db.engine.begin() as connection:
        rows = [
            {"key": f"address:10.1.{n // 250}.{n % 250}", "failures": 1, "window_start": ended - n} for n in range(150)
        ]
        connection.execute(
            insert(TABLE), [*rows, {"key": "address:10.9.9.9", "failures": 2, "window_start": ended + 60}]
        )

    attempt(client, "someone")
    stored = failures()
    assert len([key for key in stored if key.startswith("address:10.1.")]) == 150 - PRUNE_BATCH
    assert stored["address:10.9.9.9"] == 2  # a window still open is kept
    attempt(client, "someone")
    assert not [key for key in failures() if key.startswith("address:10.1.")]


def test_a_window_of_zero_switches_throttling_off(app, client, make_user):
    app.config["LOGIN_WINDOW_SECONDS"] = 0
    make_user(username="alice")
    assert {attempt(client, "alice").status_code for _ in range(PER_ADDRESS + 1)} == {401}
    assert attempt(client, "alice", PASSWORD).status_code == 303
    assert failures() == {}


def test_counts_locked_elsewhere_past_the_lock_timeout_are_a_503_and_nothing_is_counted(app, database_url, make_user):
    make_user(username="alice")
    client = app.test_client()
    attempt(client, "alice")
    with rows_locked(database_url, "SELECT key FROM login_throttle FOR UPDATE"):
        response = attempt(client, "alice", PASSWORD)

    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    page = response.get_data(as_text=True)
    assert 'data-code="unavailable"' in page and "nothing was changed" in page and 'name="password"' in page
    assert failures() == {user_key("alice"): 1, address_key("10.0.0.1"): 1}
    assert attempt(client, "alice", PASSWORD).status_code == 303  # once the lock is gone, all is well


@postgres_only
@pytest.mark.parametrize(
    "moment",
    ["INSERT INTO login_throttle", "SELECT users.", "DELETE FROM login_throttle WHERE login_throttle.key = "],
    ids=["counting", "finding the user", "forgetting the failures"],
)
def test_a_connection_lost_at_any_step_of_the_login_is_a_503_never_a_500(app, database_url, make_user, moment):
    make_user(username="alice")
    client = app.test_client()
    token = csrf_token(client)
    with backend_killed_before(app, database_url, moment) as killed:
        response = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert killed, "the backend was not killed at that moment"
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert client.get("/tasks").status_code == 302  # not logged in
    assert attempt(client, "alice", PASSWORD).status_code == 303  # the pool recovers; trying again works


def test_unknown_usernames_and_users_without_a_password_cost_the_same_argon2_work(app, make_user):
    app.config["PASSWORD_HASH_PARAMS"] = None  # production argon2: ~50 ms a check, so a skipped one shows
    make_user(username="alice")
    make_user(username="nopass").password_hash = None
    db.session.commit()
    client = app.test_client()

    def timed(username: str, n: int) -> float:
        token = csrf_token(client)
        started = time.perf_counter()
        response = client.post(
            "/login",
            data={"username": username, "password": "wrong", "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"10.2.0.{n}"},
        )
        assert response.status_code == 401
        return time.perf_counter() - started

    timed("warm-up", 0)  # the first unknown username makes the dummy hash once per process
    known = statistics.median(timed("alice", n) for n in range(1, 4))
    unknown = statistics.median(timed(f"ghost{n}", n) for n in range(4, 7))
    no_password = statistics.median(timed("nopass", n) for n in range(7, 10))
    assert unknown > 0.5 * known and no_password > 0.5 * known, (known, unknown, no_password)


# Two gunicorn servers on one PostgreSQL schema: the counts are shared by every worker of every server.

SERVER_LIMITS = {"LOGIN_MAX_FAILURES_PER_USER": "5", "LOGIN_MAX_FAILURES_PER_ADDRESS": "40"}


@pytest.fixture
def two_servers(database_url, tmp_path) -> list[str]:
    with (
        gunicorn(database_url, tmp_path / "a.log", workers=2, **SERVER_LIMITS) as first,
        gunicorn(database_url, tmp_path / "b.log", workers=2, **SERVER_LIMITS) as second,
    ):
        yield [first, second]


def _browser(base_url: str) -> Browser:
    browser = Browser(base_url)
    browser.request("/login")  # a session and its CSRF token
    return browser


def _log_in(browser: Browser, username: str, password: str):
    return browser.request("/login", {"username": username, "password": password, "csrf_token": browser.token})


def _all_at_once(browsers: list[Browser], usernames: list[str]) -> list[int]:
    barrier = threading.Barrier(len(browsers))

    def go(browser: Browser, username: str) -> int:
        barrier.wait(timeout=30)
        return _log_in(browser, username, "wrong password").status

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        futures = [pool.submit(go, browser, name) for browser, name in zip(browsers, usernames, strict=True)]
        return [future.result(timeout=120) for future in futures]


@pytest.mark.slow
@postgres_only
def test_failed_logins_in_turn_on_two_servers_share_one_count(app, make_user, two_servers):
    make_user(username="alice")
    browsers = [_browser(url) for url in two_servers]
    statuses = [_log_in(browsers[n % 2], "alice", "wrong password").status for n in range(10)]
    assert statuses == [401] * 5 + [429] * 5  # the 6th, on either server, is refused

    for browser in browsers:
        reply = _log_in(browser, "alice", PASSWORD)
        assert reply.status == 429 and 1 <= int(reply.headers["Retry-After"]) <= WINDOW
    print(f"\nin turn: 12 attempts over 2 servers, {statuses.count(401)} x 401, {statuses.count(429) + 2} x 429")


@pytest.mark.slow
@postgres_only
def test_concurrent_failed_logins_on_two_servers_admit_exactly_the_limit(app, make_user, two_servers):
    make_user(username="bob")
    people = [make_user(username=f"op{n:02d}").username for n in range(40)]

    one_user = _all_at_once([_browser(two_servers[n % 2]) for n in range(20)], ["bob"] * 20)
    assert sorted(one_user) == [401] * 5 + [429] * 15
    # The servers key usernames with their own SECRET_KEY: bob's is the one username row.
    assert [count for key, count in failures().items() if key.startswith("user:")] == [5]

    # The address (127.0.0.1 for every thread) has 40 - 5 = 35 failures left; 40 usernames race for them.
    many_users = _all_at_once([_browser(two_servers[n % 2]) for n in range(40)], people)
    assert sorted(many_users) == [401] * 35 + [429] * 5
    stored = failures()
    assert stored[address_key("127.0.0.1")] == 40
    assert sorted(count for key, count in stored.items() if key.startswith("user:")) == [1] * 35 + [5]
    print(
        f"\nat once: 20 attempts on one username -> {one_user.count(401)} x 401, {one_user.count(429)} x 429; "
        f"40 usernames from one address -> {many_users.count(401)} x 401, {many_users.count(429)} x 429"
    )


def test_behind_a_trusted_proxy_the_clients_address_is_counted_not_a_forged_one(database_url):
    behind_proxy = create_app(test_config(database_url, TRUSTED_PROXIES=1, LOGIN_MAX_FAILURES_PER_ADDRESS=2))
    client = behind_proxy.test_client()
    # The proxy (10.0.0.1) appends the address it saw; what the client wrote in front of it is not believed.
    forged = {"X-Forwarded-For": "192.0.2.1, 203.0.113.5"}
    with behind_proxy.app_context():
        statuses = [attempt(client, f"guess{n}", address="10.0.0.1", headers=forged).status_code for n in range(3)]
        stored = failures()
        db.engine.dispose()
    assert statuses == [401, 401, 429]
    assert stored[address_key("203.0.113.5")] == 2
    assert address_key("192.0.2.1") not in stored and address_key("10.0.0.1") not in stored


def test_without_trusted_proxies_x_forwarded_for_is_ignored(client):
    attempt(client, "someone", headers={"X-Forwarded-For": "203.0.113.5"})
    assert address_key("10.0.0.1") in failures() and address_key("203.0.113.5") not in failures()
