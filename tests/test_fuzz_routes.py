"""Property-based fuzzing of every route of the URL map (new routes are included by themselves).

Hypothesis builds requests: ids that are huge, negative, fractional, unicode or encoded slashes; query strings
with NUL, control characters, broken UTF-8 escapes and very long values; form bodies with random fields and
numbers such as 1.5, 1e9, NaN, -1 and 2**63; `next` targets that lead off-site; JSON that is invalid, of the
wrong type, deeply nested or with huge numbers; bodies of the wrong content type and bytes that are not UTF-8 —
as an anonymous user, an operator, a supervisor and an admin, with and without htmx. Whatever comes in:

- the answer is never a 5xx;
- a redirect (Location, or htmx's HX-Redirect) stays on this site;
- an HTML answer never holds an injected marker unescaped;
- a refused request (4xx) changes no row of any table.

tests/test_api.py fuzzes the API's action bodies in depth and tests/test_inputs.py pins the input checks; this
file goes wide instead, over every route.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories import PASSWORD
from tests.helpers import csrf_token, logged_in
from workorders.extensions import db
from workorders.users.models import User
from workorders.users.passwords import hash_password, verify_password

ACTORS = {"anonymous": None, "operator": "alice", "supervisor": "sam", "admin": "admin"}
MARKERS = ("<script>x</script>", '"><img src=x onerror=alert(1)>')
UNESCAPED = ("<script>x</script>", '"><img')
# Tables a refused login may write to (login throttling counts failures in the database); none of these.
DOMAIN_TABLES = {"departments", "processes", "users", "user_departments", "work_orders", "tasks", "task_events"}
# FUZZ_EXAMPLES=5000 for a deeper run; the default keeps the file well under a minute per database.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "600"))

NUMBERS = ["0", "1", "2", "3", "1.5", "1e9", "NaN", "inf", "-1", "+1", "0x10", "1_000", " 7 ", "٣", "", "1\x00"]
NUMBERS += [str(2**31), str(2**31 - 1), str(2**63), "9" * 40, "9" * 5000, "0" * 30 + "1"]
NEXT_TARGETS = [
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>x</script>",
    "https:evil.example",
    "http://localhost@evil.example/",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/tasks",
    "/tasks?status=all",
    "/work-orders/1",
]
# Path segments, already percent-encoded: they reach the router as they are.
REAL_IDS = ["1", "2", "3", "4", "5", "0", "2147483648", "9" * 5000]
SEGMENTS = ["1", "2", "3", "4", "0", "-1", "1.5", "1e9", "NaN", "%C2%B3", "%D9%A3", "2147483648", "9" * 5000]
SEGMENTS += ["%2F", "1%2F2", "..%2F..", "%00", "%01", "%FF", "%C3%28", "%E2%80%AE", "%3Cscript%3Ex%3C%2Fscript%3E"]
ACTIONS = ["claim", "release", "assign", "start", "pause", "complete", "steal", "CLAIM", "row"]
FILENAMES = ["app.css", "app.js", "../README.md", "%2e%2e/%2e%2e/etc/passwd", "vendor/%00.js", "..%5c..%5cwsgi.py"]
QUERY_KEYS = ["department", "status", "assignee", "q", "page", "per_page", "since", "next", "version", "x"]
# Query values that must reach the app exactly so (a test client would re-encode them).
RAW_QUERY_VALUES = ["%00", "%01", "%7F", "%0A", "%C3%28", "%FF", "%ED%A0%80", "%2F%2Fevil.example", "%5C%5Cevil"]
FORM_KEYS = [
    "version",
    "assignee",
    "good_qty",
    "scrap_qty",
    "next",
    "username",
    "password",
    "customer",
    "product",
    "quantity",
    "due_date",
    "priority",
    "route",
    "add_process",
    "route_op",
    "reason",
    "display_name",
    "role",
    "departments",
    "code",
    "name",
    "department",
    "parallel",
    "file",
    "task",
]
CONTENT_TYPES = [
    "text/plain",
    "application/xml",
    "application/octet-stream",
    "application/json",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "image/png",
    "nonsense",
]

texts = st.text(max_size=40)
printable = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)
values = st.one_of(
    printable,
    st.sampled_from(NUMBERS),
    st.sampled_from(NEXT_TARGETS),
    st.sampled_from(MARKERS),
    st.sampled_from(["alice", "bob", "sam", "nobody", "PRINT", "OFFSET", "urgent", "2030-01-01", "up-1", "add"]),
    texts,
    st.builds(lambda text, n: text * n, st.sampled_from(["x", "é", "\x00"]), st.integers(1, 5000)),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1.5, 1e9, -1, 2**63, 10**30])
    | texts
    | st.sampled_from(MARKERS),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(FORM_KEYS) | texts, children),
    max_leaves=8,
)


@dataclass(frozen=True)
class Body:
    """What goes after the headers: form fields (urlencoded or multipart), or bytes of some content type."""

    kind: str  # "none", "form", "multipart", "upload" (multipart with `data` as a CSV file), "bytes"
    fields: dict = field(default_factory=dict)
    data: bytes = b""
    content_type: str | None = None

    def open_kwargs(self, token: str | None) -> dict:
        if self.kind in ("form", "multipart"):
            fields = self.fields | ({"csrf_token": token} if token else {})
            kwargs = {"data": fields}
            return kwargs | ({"content_type": "multipart/form-data"} if self.kind == "multipart" else {})
        if self.kind == "upload":
            fields = self.fields | {"file": (io.BytesIO(self.data), "orders.csv")}
            return {"data": fields | ({"csrf_token": token} if token else {}), "content_type": "multipart/form-data"}
        if self.kind == "bytes":
            return {"data": self.data, "content_type": self.content_type}
        return {}


def _json_bytes(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


# Every form's fields at once, each valid for its form (a form ignores the others): a few of them replaced by
# hostile values gets past CSRF and the other fields to the one under test.
PLAUSIBLE_FORM = {
    "version": "1",
    "assignee": "bob",
    "good_qty": "5",
    "scrap_qty": "0",
    "next": "/tasks",
    "username": "alice",
    "password": PASSWORD,
    "customer": "Acme",
    "product": "labels",
    "quantity": "10",
    "due_date": (date.today() + timedelta(days=30)).isoformat(),
    "priority": "normal",
    "route": "OFFSET",
    "reason": "customer withdrew",
    "display_name": "Someone",
    "role": "operator",
    "departments": "PRINT",
    "code": "NEWCODE",
    "name": "New name",
    "department": "PRINT",
}

CSV_HEADER = "number,customer,product,quantity,due_date,priority,route"
csv_files = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.lists(values | st.sampled_from(["WO-2026-0001", "OFFSET>DIECUT", '"a,b"', '"']), max_size=8), max_size=3
    ).map(lambda rows: "\n".join([CSV_HEADER, *(",".join(row) for row in rows)]).encode()),
    st.sampled_from(
        [
            b"\xef\xbb\xbf" + CSV_HEADER.encode() + b"\n,Acme,labels,10,2030-01-01,normal,OFFSET\n",
            CSV_HEADER.encode() + b"\n,Acme,labels," + b"9" * 5000 + b",2030-01-01,normal,OFFSET\n",
            CSV_HEADER.encode() + b'\n,"' + b"x" * 200_000 + b'",labels,10,2030-01-01,normal,OFFSET\n',
            CSV_HEADER.encode() + b"\n,Acme\x00,labels,10,2030-01-01,normal,OFFSET\n",
            CSV_HEADER.encode() + b"\n,Acme,\xff\xfe,10,2030-01-01,normal,OFFSET\n",
            CSV_HEADER.encode() + b"\nWO-2026-99999,Acme,labels,10,2030-02-30,normal,OFFSET>OFFSET\n",
            CSV_HEADER.encode() + b'\n,"Acme\r\n,labels,10,2030-01-01,normal,OFFSET\n',
        ]
    ),
)

bodies = st.one_of(
    st.builds(Body, st.just("upload"), st.just({}), data=csv_files),
    st.builds(
        lambda changes: Body("form", PLAUSIBLE_FORM | changes),
        st.dictionaries(st.sampled_from(FORM_KEYS), values, min_size=1, max_size=3),
    ),
    st.builds(Body, st.just("form"), st.dictionaries(st.sampled_from(FORM_KEYS) | texts, values, max_size=6)),
    st.builds(Body, st.just("multipart"), st.dictionaries(st.sampled_from(FORM_KEYS), values, max_size=4)),
    st.builds(Body, st.just("bytes"), data=json_values.map(_json_bytes), content_type=st.just("application/json")),
    st.builds(
        Body,
        st.just("bytes"),
        data=st.one_of(
            st.binary(max_size=200),
            st.sampled_from(
                [
                    b"{",
                    b'{"version": 1',
                    b"[" * 5000 + b"]" * 5000,
                    b'{"version": ' + b"9" * 5000 + b"}",
                    b'{"version": 1e999}',
                    b"\xff\xfe{\x00}",
                    b"version=%FF&assignee=%C3%28",
                    b"version=1&next=%2F%2Fevil.example",
                    b"--x\r\nContent-Disposition: form-data; name=version\r\n\r\n1\r\n--x--\r\n",
                ]
            ),
        ),
        content_type=st.sampled_from(CONTENT_TYPES),
    ),
)


@dataclass(frozen=True)
class Fuzzed:
    """One request: who sends it, where, and with what."""

    actor: str
    method: str
    path: str
    query: str
    body: Body
    htmx: bool
    with_token: bool
    current_url: str | None


def _placeholders(rule: str) -> list[tuple[str, str]]:
    return re.findall(r"(<(?:[^:<>]+:)?([^<>]+)>)", rule)


@st.composite
def requests(draw, rules: list[tuple[str, list[str]]], writes: bool = False) -> Fuzzed:
    """A request to one of `rules`; with `writes`, always a POST with a body, mostly to ids that exist."""
    rule, methods = draw(st.sampled_from(rules))
    method = "POST" if writes else draw(st.sampled_from([*(methods * 5), "PUT", "DELETE"]))
    path = rule
    for placeholder, name in _placeholders(rule):
        if writes:  # past the path check, to the body
            segment = draw(st.sampled_from(ACTIONS[:6] if name == "action" else REAL_IDS))
        else:
            choices = {"action": ACTIONS, "filename": FILENAMES}.get(name, SEGMENTS)
            segment = draw(st.sampled_from(choices) | texts.filter(bool).map(lambda text: quote(text, safe="")))
        path = path.replace(placeholder, segment, 1)
    if writes:  # a `next` at most (the login form's comes in the query string)
        pairs = draw(st.lists(st.tuples(st.just("next"), st.sampled_from(NEXT_TARGETS).map(quote)), max_size=1))
    else:
        query_values = st.sampled_from(RAW_QUERY_VALUES) | values.map(lambda value: quote(value, safe=""))
        pairs = draw(st.lists(st.tuples(st.sampled_from(QUERY_KEYS), query_values), max_size=4))
    return Fuzzed(
        actor=draw(st.sampled_from(list(ACTORS))),
        method=method,
        path=path,
        query="&".join(f"{key}={value}" for key, value in pairs),
        body=draw(bodies) if writes else draw(bodies | st.just(Body("none"))) if method != "GET" else Body("none"),
        htmx=draw(st.booleans()),
        with_token=draw(st.sampled_from([True] * 9 + [False])),  # mostly: without it CSRF refuses every form
        current_url=draw(st.none() | st.sampled_from(["http://localhost/tasks?status=all", *NEXT_TARGETS])),
    )


def fingerprint() -> dict[str, tuple[int, int]]:
    """Per table: how many rows, and a hash of them all."""
    with db.engine.connect() as connection:
        return {
            table.name: (
                connection.execute(select(func.count()).select_from(table)).scalar_one(),
                hash(tuple(map(tuple, connection.execute(select(table).order_by(*table.primary_key.columns))))),
            )
            for table in db.metadata.sorted_tables
        }


def same_site(target: str) -> bool:
    """A redirect target on this site: a path starting with one "/" (not "//" or "/\\"), or this host."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return parts.scheme in ("http", "https") and parts.netloc == "localhost"
    return target.startswith("/") and not target.startswith(("//", "/\\"))


class Clients:
    """A logged-in client per actor, made when first needed; anonymous afresh each time.

    A fuzzed logout, or the fuzzed admin switching a user off or resetting a password, ends a session: the
    actor is then logged in again, with its account put back as it was if need be.
    """

    def __init__(self, app):
        self.app = app
        self.logged_in: dict[str, tuple] = {}

    def get(self, actor: str):
        username = ACTORS[actor]
        if username is None:
            client = self.app.test_client()
            return client, csrf_token(client, "/login")
        if actor not in self.logged_in:
            _restore(username)
            client = logged_in(self.app, username)
            self.logged_in[actor] = (client, csrf_token(client, "/tasks"))
        return self.logged_in[actor]

    def forget_if_logged_out(self, actor: str, response) -> None:
        target = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
        if urlsplit(target).path == "/login" or response.status_code == 401:
            self.logged_in.pop(actor, None)


def _restore(username: str) -> None:
    """Let `username` log in with the test password again (the fuzzed admin may have changed that)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if not user.active or not verify_password(user.password_hash, PASSWORD):
        user.active, user.password_hash = True, hash_password(PASSWORD)
        db.session.commit()


@dataclass
class Tally:
    """What the fuzz did, for docs/reliability.md."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)


def send(client, token: str, fuzzed: Fuzzed):
    headers = {"HX-Request": "true"} if fuzzed.htmx else {}
    if fuzzed.with_token:
        headers["X-CSRFToken"] = token
    if fuzzed.current_url:
        headers["HX-Current-URL"] = fuzzed.current_url
    url = f"{fuzzed.path}?{fuzzed.query}" if fuzzed.query else fuzzed.path
    body = fuzzed.body.open_kwargs(token if fuzzed.with_token else None)
    return client.open(url, method=fuzzed.method, headers=headers, **body)


def check(fuzzed: Fuzzed, response, before: dict, after: dict) -> None:
    where = f"{fuzzed.method} {fuzzed.path}?{fuzzed.query[:200]} as {fuzzed.actor}: {response.status_code}"
    assert response.status_code < 500, f"{where}\n{response.get_data(as_text=True)[:2000]}"
    for header in ("Location", "HX-Redirect"):
        if header in response.headers:
            assert same_site(response.headers[header]), f"{where}: {header} {response.headers[header]!r}"
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        for marker in UNESCAPED:
            assert marker not in html, f"{where}: {marker!r} came back unescaped"
    if 400 <= response.status_code < 500:
        compared = DOMAIN_TABLES if fuzzed.path == "/login" else after.keys()
        changed = [name for name in compared if before.get(name) != after.get(name)]
        assert not changed, f"{where}: a refused request changed {changed}"


class Fuzzer:
    """Sends each fuzzed request as its actor, checks the invariants and keeps the tally."""

    def __init__(self, app):
        self.clients, self.tally = Clients(app), Tally()

    def __call__(self, fuzzed: Fuzzed) -> None:
        client, token = self.clients.get(fuzzed.actor)
        db.session.rollback()  # the test's session holds no transaction while the app works
        before = fingerprint()
        response = send(client, token, fuzzed)
        after = fingerprint()
        self.tally.requests += 1
        self.tally.statuses[response.status_code] += 1
        self.tally.kinds[fuzzed.body.kind] += 1
        self.clients.forget_if_logged_out(fuzzed.actor, response)
        try:
            check(fuzzed, response, before, after)
        finally:
            response.close()  # a static file's answer holds the file open

    def report(self) -> None:
        """Print what was sent (for docs/reliability.md) and check the property really ran."""
        tally, dialect = self.tally, db.engine.dialect.name
        print(f"\n{dialect}: {tally.requests} requests, answers {dict(tally.statuses)}, bodies {dict(tally.kinds)}")
        assert tally.requests >= EXAMPLES


@pytest.fixture
def app_config() -> dict:
    """No login throttle here: the fuzz fails hundreds of logins from one address, and the throttle would then
    lock the actors out when they log in again (it has tests of its own)."""
    return {"LOGIN_MAX_FAILURES_PER_USER": 0, "LOGIN_MAX_FAILURES_PER_ADDRESS": 0}


@pytest.fixture
def fuzz(app, shop, make_task) -> Fuzzer:
    """A fuzzer on a shop with tasks in each state."""
    held = make_task(process=shop.offset, assignee=shop.alice)
    make_task(work_order=held.work_order, process=shop.diecut)
    make_task(process=shop.offset, assignee=shop.alice, status="in_progress")
    make_task(process=shop.offset)
    return Fuzzer(app)


def routes(app, methods: set[str]) -> list[tuple[str, list[str]]]:
    """Every rule of the URL map (so routes added later are fuzzed too) with its methods among `methods`."""
    found = [(rule.rule, sorted(rule.methods & methods)) for rule in app.url_map.iter_rules()]
    return sorted((rule, chosen) for rule, chosen in found if chosen)


def test_every_route_survives_hostile_requests(app, fuzz):
    """Paths, query strings, methods and some bodies on every route."""

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
    @given(fuzzed=requests(routes(app, {"GET", "POST"})))
    @example(
        fuzzed=Fuzzed("anonymous", "POST", "/login", "next=%2F%2Fevil.example", _login("alice"), False, True, None)
    )
    @example(fuzzed=Fuzzed("anonymous", "POST", "/login", "next=/%5Cevil.example", _login("alice"), False, True, None))
    @example(fuzzed=Fuzzed("anonymous", "POST", "/login", "next=https://evil.example", _login("sam"), True, True, None))
    @example(fuzzed=Fuzzed("operator", "GET", "/tasks/1%00/row", "q=%C3%28", Body("none"), True, True, "//evil"))
    # Found by this fuzz: 4,301 digits or more made int() raise ValueError (a 500) in ids, pages and quantities.
    @example(fuzzed=Fuzzed("operator", "GET", "/tasks/" + "9" * 5000, "", Body("none"), False, True, None))
    @example(fuzzed=Fuzzed("operator", "GET", "/tasks", "page=" + "9" * 5000, Body("none"), False, True, None))
    @example(fuzzed=Fuzzed("supervisor", "GET", "/work-orders", "page=" + "9" * 5000, Body("none"), True, True, None))
    @example(
        fuzzed=Fuzzed("operator", "GET", "/api/v1/tasks", "per_page=" + "9" * 5000, Body("none"), False, True, None)
    )
    def run(fuzzed: Fuzzed) -> None:
        fuzz(fuzzed)

    run()
    fuzz.report()


def test_every_write_survives_hostile_bodies(app, fuzz):
    """Every POST route, always with a body: forms, multipart, JSON, bytes of the wrong type, huge ones."""

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
    @given(fuzzed=requests(routes(app, {"POST"}), writes=True))
    # Found by this fuzz: JSON nested thousands deep raised RecursionError in the parser (a 500).
    @example(fuzzed=Fuzzed("supervisor", "POST", "/api/v1/tasks/1/claim", "", _deep_json(100_000), False, True, None))
    @example(fuzzed=Fuzzed("supervisor", "POST", "/api/v1/tasks/1/claim", "", _deep_json(900), False, True, None))
    @example(fuzzed=Fuzzed("operator", "POST", "/tasks/1/claim", "", _huge_form(), False, True, None))
    @example(fuzzed=Fuzzed("operator", "POST", "/tasks/1/claim", "", _form(version="9" * 5000), False, True, None))
    @example(fuzzed=Fuzzed("supervisor", "POST", "/work-orders", "", _form(quantity="9" * 5000), True, True, None))
    @example(
        fuzzed=Fuzzed("supervisor", "POST", "/work-orders/import", "", _csv_quantity("9" * 5000), False, True, None)
    )
    @example(fuzzed=Fuzzed("supervisor", "POST", "/api/v1/tasks/1/claim", "", _huge_json(), False, True, None))
    def run(fuzzed: Fuzzed) -> None:
        fuzz(fuzzed)

    run()
    fuzz.report()


def _login(username: str) -> Body:
    return Body("form", {"username": username, "password": PASSWORD})


def _form(**changes) -> Body:
    return Body("form", PLAUSIBLE_FORM | changes)


def _csv_quantity(quantity: str) -> Body:
    return Body("upload", data=f"{CSV_HEADER}\n,Acme,labels,{quantity},2030-01-01,normal,OFFSET\n".encode())


def _deep_json(depth: int) -> Body:
    """An object nested `depth` deep with a NUL at the bottom: too deep to parse, or just deep enough."""
    return Body("bytes", data=b'{"a":' * depth + b'"x\\u0000"' + b"}" * depth, content_type="application/json")


def _huge_form() -> Body:
    """A 600 kB field: refused (the `next` field's length), not a crash."""
    return Body("form", {"version": "1", "next": "/" + "x" * 600_000})


def _huge_json() -> Body:
    """Past MAX_CONTENT_LENGTH (16 MiB): 413 before anything reads it."""
    data = b'{"version": 1, "x": "' + b"x" * (16 * 1024 * 1024) + b'"}'
    return Body("bytes", data=data, content_type="application/json")
