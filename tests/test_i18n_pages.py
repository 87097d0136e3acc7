"""Every page, fragment, dialog and message renders wholly in the viewer's language (SPEC "Languages").

In zh_CN, no message of the catalog may show through in English: for every entry whose translation differs from
its English, the English words between its placeholders must not be in the page's visible text (text, <title>,
the labels people read: aria-label, title, placeholder, alt, data-label). A string nobody wrapped is not in the
catalog, so the visible text must also hold no Latin word but the shop's own data and a few technical names. In
en, no page holds Chinese. The data is in pinyin, so it can be neither English nor Chinese. An element marked
with another language (the selector's 中文 / English) is not the page's text.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import update

from tests.catalogs import literal_fragments, read_catalog
from tests.helpers import HTMX, Browser, csrf_token
from tests.test_database_down import database_down
from workorders.extensions import db
from workorders.users.models import User

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9]")
# Names a Chinese page keeps in Latin letters: file formats, protocols, the work order number's pattern, the CSV
# columns and priorities a file must spell so, the example codes the admin forms suggest.
TECHNICAL = {"CSV", "UTF-8", "API", "JSON", "HTTP", "YYYY-MM-DD", "WO-YYYY-NNNN", "MiB", "kB", "MB", "WO", "PRINT"}
TECHNICAL |= {"OFFSET", "number", "customer", "product", "quantity", "due_date", "priority", "route", "low", "normal"}
TECHNICAL |= {"high", "urgent"}  # a CSV's priorities
VISIBLE_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt", "data-label")
SKIPPED = {"script", "style", "code", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class VisibleText(HTMLParser):
    """The text a person reads or hears: text nodes and labelling attributes, in the page's own language."""

    def __init__(self, lang: str):
        super().__init__(convert_charrefs=True)
        self.lang, self.parts, self.stack = lang, [], []

    def _hidden(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html" and attrs.get("lang"):
            self.lang = attrs["lang"]
        other_language = "lang" in attrs and tag != "html" and attrs["lang"] != self.lang
        skip = tag in SKIPPED or other_language or (tag == "input" and attrs.get("type") == "hidden")
        if not self._hidden() and not skip:
            self.parts += [attrs[name] for name in VISIBLE_ATTRIBUTES if attrs.get(name)]
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._hidden() and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str, lang: str) -> str:
    parser = VisibleText(lang)
    parser.feed(html)
    return "\n".join(parser.parts)


@dataclass(frozen=True)
class Leak:
    fragment: str
    msgid: str


def english_leaks(text: str) -> list[Leak]:
    """Catalog messages whose English shows through in `text`, each by a fragment found."""
    leaks = []
    for message in read_catalog("zh_CN"):
        if not message.id:
            continue
        sources = message.id if message.pluralizable else (message.id,)
        translations = message.string if message.pluralizable else (message.string,)
        if set(sources) <= set(translations):
            continue  # the same in both languages
        for source in sources:
            for fragment in literal_fragments(source):
                if re.search(rf"(?<![A-Za-z]){re.escape(fragment)}(?![A-Za-z])", text):
                    leaks.append(Leak(fragment, source))
    return leaks


def latin_words(text: str, data: set[str]) -> set[str]:
    """Latin-letter words left in `text` once the shop's data (names, codes, numbers) is taken out."""
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return {word for word in LATIN_WORD.findall(text) if word not in TECHNICAL and len(word) >= 3}


SMALL_BODY = 64 * 1024  # a body limit a test goes over cheaply, in memory (the 413 page)


@pytest.fixture
def app_config() -> dict:
    return {"MAX_CONTENT_LENGTH": SMALL_BODY}


@dataclass
class Floor:
    """A shop whose every name is pinyin: neither English nor Chinese characters."""

    data: set[str] = field(default_factory=set)
    ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def floor(app, make_department, make_process, make_user, make_work_order, make_task) -> Floor:
    printing = make_department("YIN", "Yinshua")
    cutting = make_department("QIE", "Moqie")
    jiaoyin = make_process(printing, code="JIAOYIN", name="Jiaoyin")
    moqie = make_process(cutting, code="MOQIE", name="Moqie Gong")
    liwei = make_user("operator", [printing], "liwei", display_name="Li Wei")
    wangfang = make_user("operator", [printing], "wangfang", display_name="Wang Fang")
    make_user("supervisor", [printing, cutting], "zhaolei", display_name="Zhao Lei")
    make_user("admin", [], "chenjing", display_name="Chen Jing")
    due = date.today() + timedelta(days=9)
    orders = [make_work_order(customer="Huaxin", product="Hexing HX", quantity=2500, due_date=due) for _ in range(3)]
    free = make_task(orders[0], jiaoyin)
    make_task(orders[0], moqie)
    held = make_task(orders[1], jiaoyin, assignee=wangfang, status="in_progress")
    mine = make_task(orders[2], jiaoyin, assignee=liwei)
    floor = Floor()
    floor.ids = {"free": free.id, "held": held.id, "mine": mine.id, "order": orders[0].id, "user": liwei.id}
    floor.ids |= {"cancelled_order": orders[2].id, "held_version": held.version}
    names = "Yinshua|Moqie Gong|Moqie|Jiaoyin|Li Wei|Wang Fang|Zhao Lei|Chen Jing|Huaxin|Hexing HX|Kehu quxiao"
    codes = "liwei|wangfang|zhaolei|chenjing|YIN|QIE|JIAOYIN|MOQIE"
    floor.data = {*names.split("|"), *codes.split("|"), *(order.number for order in orders)}
    return floor


def set_everyones_language(language: str) -> None:
    db.session.execute(update(User).values(language=language))
    db.session.commit()


class Pages:
    """Collects each page's visible text, in `language`, while the shop is used the way people use it."""

    def __init__(self, app, floor: Floor, language: str):
        self.app, self.floor, self.language = app, floor, language
        self.header = {"Accept-Language": "zh-CN" if language == "zh_CN" else "en"}
        self.lang = "zh-CN" if language == "zh_CN" else "en"
        self.texts: dict[str, str] = {}

    def browser(self, username: str) -> Browser:
        browser = Browser(self.app, username)
        browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = self.header["Accept-Language"]
        return browser

    def keep(self, name: str, response, statuses: tuple[int, ...] = (200,)) -> None:
        assert response.status_code in statuses, f"{name}: {response.status_code}"
        self.texts[name] = visible_text(response.get_data(as_text=True), self.lang)


def use_the_shop(app, floor: Floor, language: str) -> dict[str, str]:
    """Every page, fragment, dialog and message, as the people of `floor` meet them."""
    set_everyones_language(language)
    ids, pages = floor.ids, Pages(app, floor, language)
    anonymous = app.test_client()
    anonymous.environ_base["HTTP_ACCEPT_LANGUAGE"] = pages.header["Accept-Language"]
    pages.keep("login", anonymous.get("/login"))
    refused = anonymous.post(
        "/login", data={"username": "liwei", "password": "no", "csrf_token": csrf_token(anonymous)}
    )
    pages.keep("login refused", refused, (401,))
    pages.keep("login required", anonymous.get("/tasks", follow_redirects=True))
    wrong = {"username": "wuming", "password": "no", "csrf_token": csrf_token(anonymous)}  # no such user: same answer
    for _attempt in range(app.config["LOGIN_MAX_FAILURES_PER_USER"]):
        anonymous.post("/login", data=wrong)
    pages.keep("login throttled", anonymous.post("/login", data=wrong), (429,))

    liwei, wangfang = pages.browser("liwei"), pages.browser("wangfang")
    zhaolei, chenjing = pages.browser("zhaolei"), pages.browser("chenjing")
    # The success messages: a claim as a fragment (htmx) and as the next page's flash (no JavaScript).
    pages.keep("claimed (htmx)", liwei.post(f"/tasks/{ids['free']}/claim", {"version": "1"}, htmx=True))
    pages.keep("started, flashed", liwei.post(f"/tasks/{ids['free']}/start", {"version": "2"}, follow_redirects=True))
    completed = liwei.post(f"/tasks/{ids['free']}/complete", {"version": "3", "good_qty": "2400", "scrap_qty": "100"})
    assert completed.status_code == 303
    to_wang_fang = {"version": "1", "assignee": "wangfang"}
    assigned = zhaolei.post(f"/tasks/{ids['mine']}/assign", to_wang_fang, follow_redirects=True)
    pages.keep("assigned, flashed", assigned)
    reason = {"version": "2", "reason": "Kehu quxiao"}
    cancel = zhaolei.post(f"/work-orders/{ids['cancelled_order']}/cancel", reason, follow_redirects=True)
    pages.keep("cancelled, flashed", cancel)

    pages.keep("board", liwei.get("/tasks"))
    pages.keep("board, all", liwei.get("/tasks?status=all&department=all"))
    pages.keep("board fragment", liwei.get("/tasks?status=all", htmx=True))
    pages.keep("row", liwei.get(f"/tasks/{ids['held']}/row", htmx=True))
    pages.keep("my tasks", liwei.get("/tasks/mine"))
    pages.keep("my tasks, wang fang", wangfang.get("/tasks/mine"))
    pages.keep("task detail", liwei.get(f"/tasks/{ids['free']}"))
    pages.keep("cancelled task", wangfang.get(f"/tasks/{ids['mine']}"))
    pages.keep("notifications", wangfang.get("/notifications"))
    pages.keep("work orders", liwei.get("/work-orders?status=all"))
    pages.keep("work order", liwei.get(f"/work-orders/{ids['order']}"))
    pages.keep("cancelled work order", zhaolei.get(f"/work-orders/{ids['cancelled_order']}"))
    pages.keep("new work order", zhaolei.get("/work-orders/new"))
    pages.keep("new work order, errors", zhaolei.post("/work-orders", {"quantity": "0", "due_date": "x"}), (400,))
    pages.keep("import", zhaolei.get("/work-orders/import"))
    bad_csv = "number,customer,product,quantity,due_date,priority,route\n,Huaxin,HX,0,2030-13-01,soon,NOPE\n"
    upload = {"file": (io.BytesIO(bad_csv.encode()), "orders.csv")}
    pages.keep("import refused", zhaolei.post("/work-orders/import", upload), (400,))
    too_large = {"file": (io.BytesIO(b"x" * (SMALL_BODY + 1)), "orders.csv")}
    pages.keep("413 (page)", zhaolei.post("/work-orders/import", too_large), (413,))
    pages.keep("workload", zhaolei.get("/workload"))
    pages.keep("admin users", chenjing.get("/admin/users"))
    pages.keep("admin user", chenjing.get(f"/admin/users/{ids['user']}"))
    pages.keep("admin departments", chenjing.get("/admin/departments"))
    pages.keep("admin processes", chenjing.get("/admin/processes"))
    pages.keep("admin user refused", chenjing.post("/admin/users", {"username": "", "password": ""}), (400,))

    # The refusals: 409 naming the holder, 400, 403, 404 and 503, as a page and as the dialog htmx shows.
    stale = {"version": str(ids["held_version"])}
    for htmx in (False, True):
        how = " (dialog)" if htmx else " (page)"
        pages.keep("409" + how, liwei.post(f"/tasks/{ids['held']}/claim", stale, htmx=htmx), (409,))
        bad = liwei.post(f"/tasks/{ids['held']}/complete", {"version": "x", "good_qty": "-1"}, htmx=htmx)
        pages.keep("400" + how, bad, (400,))
        pages.keep("403" + how, liwei.get("/work-orders/new", htmx=htmx), (403,))
        pages.keep("403 action" + how, liwei.post(f"/tasks/{ids['held']}/start", stale, htmx=htmx), (403,))
        pages.keep("404" + how, liwei.get("/tasks/424242", htmx=htmx), (404,))
        pages.keep("404 no such page" + how, liwei.get("/no/such/page", htmx=htmx), (404,))
        pages.keep("400 csrf" + how, liwei.client.post("/language", headers=HTMX if htmx else {}), (400,))
        with database_down(app):
            pages.keep("503" + how, liwei.get("/tasks", htmx=htmx), (503,))
    return pages.texts


def test_every_page_reads_wholly_in_chinese(app, floor):
    texts = use_the_shop(app, floor, "zh_CN")
    leaks = {
        name: sorted({(leak.fragment, leak.msgid) for leak in leaks})
        for name, text in texts.items()
        if (leaks := english_leaks(text))
    }
    assert not leaks, "English of the catalog left on zh_CN pages:\n" + "\n".join(f"{k}: {v}" for k, v in leaks.items())
    words = {name: sorted(words) for name, text in texts.items() if (words := latin_words(text, floor.data))}
    assert not words, "Latin words on zh_CN pages, neither data nor technical names:\n" + "\n".join(
        f"{k}: {v}" for k, v in words.items()
    )
    assert all(CJK.search(text) for text in texts.values())


def test_every_page_reads_wholly_in_english(app, floor):
    texts = use_the_shop(app, floor, "en")
    chinese = {name: CJK.findall(text) for name, text in texts.items() if CJK.search(text)}
    assert chinese == {}


def test_the_conflict_dialog_names_the_holder_and_offers_one_refresh(app, floor):
    set_everyones_language("zh_CN")
    liwei = Browser(app, "liwei")
    dialog = liwei.post(f"/tasks/{floor.ids['held']}/claim", {"version": "1"}, htmx=True).get_data(as_text=True)
    catalog = read_catalog("zh_CN")
    text = visible_text(dialog, "zh-CN")
    assert "Wang Fang" in text and catalog.get("Someone got there first").string in text
    refresh = re.findall(r'<button[^>]*data-action="refresh"[^>]*>(.*?)</button>', dialog, re.S)
    assert refresh == [catalog.get("Refresh").string] == ["刷新"]


def test_the_helpers_see_what_people_see():
    html = (
        '<html lang="zh-CN"><head><title>看板</title><script>var English = 1;</script></head><body>'
        '<a aria-label="领取 WO-1" href="/x">领取</a><input type="hidden" value="Hidden English">'
        '<option lang="en" value="en">English</option><code>number</code><td data-label="状态">x</td></body></html>'
    )
    assert visible_text(html, "en").split("\n") == ["看板", "领取 WO-1", "领取", "状态", "x"]
    assert latin_words("Li Wei 领取了 WO-2026-0001 and more", {"Li Wei", "WO-2026-0001"}) == {"and", "more"}
    assert english_leaks("Tasks by status") and not english_leaks("按状态统计任务")
