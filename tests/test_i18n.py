"""Languages (SPEC "Languages"): the catalogs are complete, the language is chosen as the SPEC says, the selector,
the API's details in the token owner's language with the same codes, numbers and dates per locale."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
from babel.messages.mofile import write_mo
from flask_babel import force_locale, gettext
from sqlalchemy import select, update

from tests.catalogs import (
    CATALOG_DIRS,
    TRANSLATIONS,
    extracted,
    ids,
    literal_fragments,
    placeholders,
    read_catalog,
)
from tests.helpers import csrf_token, logged_in
from workorders.auth.forms import LoginForm
from workorders.extensions import db
from workorders.i18n import _wtforms_catalog, day_time, duration, language_from_header, number, short_date
from workorders.users.models import User
from workorders.users.service import create_user, issue_api_token

CJK = re.compile(r"[\u3400-\u9fff]")
HTML_LANG = re.compile(r'<html lang="([^"]+)">')


def zh(msgid: str) -> str:
    """The catalog's Chinese for `msgid` (never a string written here: the test follows the catalog)."""
    message = read_catalog("zh_CN").get(msgid)
    assert message is not None and message.string, f"{msgid!r} has no zh_CN translation"
    return message.string


def set_language(username: str, language: str | None) -> None:
    db.session.execute(update(User).where(User.username == username).values(language=language))
    db.session.commit()


def html_lang(response) -> str:
    return HTML_LANG.search(response.get_data(as_text=True)).group(1)


# The catalogs


def test_the_zh_cn_catalog_translates_every_message_of_the_code_and_templates():
    code, catalog = extracted(), read_catalog("zh_CN")
    assert ids(code), "the extraction found no messages at all"
    assert sorted(map(str, ids(code) - ids(catalog))) == [], "messages in the code with no entry in the catalog"
    assert sorted(map(str, ids(catalog) - ids(code))) == [], "stale entries: no longer in the code"
    assert list(catalog.obsolete) == [], "obsolete (#~) entries left in the catalog"
    assert not catalog.fuzzy, "the header is fuzzy: pybabel compile would skip the catalog"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        forms = message.string if message.pluralizable else (message.string,)
        assert all(forms), f"untranslated (or a plural form missing): {message.id!r}"
        sources = message.id if message.pluralizable else (message.id,)
        for form in forms:
            # Chinese has one plural form: it must carry the plural's placeholders, which include the singular's.
            assert placeholders(form) == placeholders(sources[-1]), f"placeholders differ: {message.id!r}"
    assert list(catalog.check()) == [], "babel's own checks (python-format) failed"


def test_the_en_catalog_exists_with_the_same_messages():
    assert ids(read_catalog("en")) == ids(extracted())


@pytest.mark.parametrize("language", CATALOG_DIRS)
def test_the_committed_mo_is_a_fresh_compile_of_the_po(language):
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(language))
    mo = TRANSLATIONS / CATALOG_DIRS[language] / "LC_MESSAGES" / "messages.mo"
    assert mo.read_bytes() == compiled.getvalue(), f"run `pybabel compile -d workorders/translations` ({language})"


def test_literal_fragments_split_at_placeholders_and_drop_short_ones():
    assert literal_fragments("You claimed %(task)s.") == ["You claimed"]
    assert literal_fragments("%(name)s (%(username)s) has %(task)s now.") == []  # "has", "now": too short
    assert literal_fragments("OK") == []
    assert literal_fragments("Step %(n)s, %(name)s, is not done yet.") == ["Step", "is not done yet"]


# Choosing the language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh_CN", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("zh-SG", "zh_CN"),
        ("zh-TW", "zh_CN"),  # Traditional readers read Simplified far better than English (docs/languages.md)
        ("zh-HK,en;q=0.5", "zh_CN"),
        ("en-US,zh;q=0.5", "en"),
        ("zh;q=0.4,en-GB;q=0.8", "en"),
        ("fr-FR,de;q=0.9", "en"),
        ("zh;q=0", "en"),
        ("*", "en"),
        ("", "en"),
    ],
)
def test_accept_language_picks_one_of_the_two(app, header, language):
    with app.test_request_context("/", headers={"Accept-Language": header}):
        assert language_from_header() == language


def test_the_login_page_follows_the_browser(client):
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert html_lang(chinese) == "zh-CN"
    assert zh("Log in") in chinese.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert html_lang(english) == "en"
    assert not CJK.search(english.get_data(as_text=True).replace('lang="zh-CN">中文', ""))
    assert html_lang(client.get("/login")) == "en"  # no header: the default


def test_a_refused_login_speaks_the_browsers_language(client, shop):
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": "alice", "password": "wrong", "csrf_token": token},
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 401
    assert zh("Wrong username or password, or the account is switched off.") in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("setting", "header", "expected"),
    [
        ("zh_CN", "en-US", "zh-CN"),  # the user's setting beats Accept-Language
        ("en", "zh-CN", "en"),
        (None, "zh-CN", "zh-CN"),  # no setting: Accept-Language beats the default
        (None, "", "en"),  # neither: English
    ],
)
def test_the_users_setting_beats_accept_language(app, shop, setting, header, expected):
    set_language("alice", setting)
    browser = logged_in(app, "alice")
    response = browser.get("/tasks", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert html_lang(response) == expected


def test_the_welcome_is_in_the_users_own_language(app, client, shop):
    set_language("alice", "zh_CN")
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": "alice", "password": "correct horse", "csrf_token": token},
        headers={"Accept-Language": "en"},
        follow_redirects=True,
    )
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        welcome = gettext("Welcome, %(name)s.", name="Alice Archer")
    assert welcome != "Welcome, Alice Archer." and welcome in response.get_data(as_text=True)


def test_users_start_without_a_language(app, shop, make_department):
    created = create_user("dora", "operator", ["PRINT"], "long enough")
    assert created.language is None
    assert db.session.scalar(select(User.language).where(User.username == "dora")) is None


# The selector


def test_every_page_has_the_selector_as_a_real_form(app, shop):
    html = logged_in(app, "alice").get("/tasks").get_data(as_text=True)
    form = re.search(r'<form class="language" method="post" action="/language">(.*?)</form>', html, re.S)
    assert form is not None
    body = form.group(1)
    assert 'name="csrf_token"' in body and '<button type="submit"' in body
    assert '<option value="en" lang="en" selected>English</option>' in body
    assert '<option value="zh_CN" lang="zh-CN">中文</option>' in body
    assert 'name="next" value="/tasks"' in body


def test_choosing_a_language_keeps_it_and_goes_back(app, shop):
    browser = logged_in(app, "alice")
    token = csrf_token(browser, "/tasks/mine")
    response = browser.post("/language", data={"csrf_token": token, "language": "zh_CN", "next": "/tasks/mine?x=1"})
    assert (response.status_code, response.headers["Location"]) == (303, "/tasks/mine?x=1")
    assert db.session.scalar(select(User.language).where(User.username == "alice")) == "zh_CN"
    page = browser.get("/tasks/mine", headers={"Accept-Language": "en"})
    assert html_lang(page) == "zh-CN"
    assert '<option value="zh_CN" lang="zh-CN" selected>中文</option>' in page.get_data(as_text=True)
    back = browser.post("/language", data={"csrf_token": token, "language": "en"})
    assert (back.status_code, back.headers["Location"]) == (303, "/tasks")  # no next: the board
    assert html_lang(browser.get("/tasks")) == "en"


@pytest.mark.parametrize("next_url", ["https://example.invalid/", "//example.invalid/x", "/\\example", "javascript:x"])
def test_the_selector_goes_back_only_within_the_site(app, shop, next_url):
    browser = logged_in(app, "alice")
    token = csrf_token(browser, "/tasks")
    response = browser.post("/language", data={"csrf_token": token, "language": "zh_CN", "next": next_url})
    assert (response.status_code, response.headers["Location"]) == (303, "/tasks")


@pytest.mark.parametrize("fields", [{"language": "fr"}, {"language": ""}, {}, {"language": "zh_CN" * 5}])
def test_an_unknown_language_is_a_400_that_changes_nothing(app, shop, fields):
    set_language("alice", "en")
    browser = logged_in(app, "alice")
    token = csrf_token(browser, "/tasks")
    response = browser.post("/language", data={"csrf_token": token, **fields})
    assert response.status_code == 400
    assert 'data-code="business_rule"' in response.get_data(as_text=True)
    assert db.session.scalar(select(User.language).where(User.username == "alice")) == "en"


def test_the_selector_needs_its_csrf_token(app, shop):
    browser = logged_in(app, "alice")
    assert browser.post("/language", data={"language": "zh_CN"}).status_code == 400
    assert db.session.scalar(select(User.language).where(User.username == "alice")) is None


# The API


def _conflict(app, shop, make_task, language: str | None):
    """A claim that loses to Bob, by an API client whose token belongs to Alice with `language`."""
    set_language("alice", language)
    task = make_task(process=shop.offset, assignee=shop.bob)
    token = issue_api_token("alice")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    return {
        "conflict": client.post(f"/api/v1/tasks/{task.id}/claim", json={"version": 1}, headers=headers),
        "not_found": client.get("/api/v1/tasks/424242", headers=headers),
        "bad_input": client.post(f"/api/v1/tasks/{task.id}/claim", json={"version": "one"}, headers=headers),
        "no_such_action": client.post(f"/api/v1/tasks/{task.id}/fly", json={"version": 1}, headers=headers),
    }


def _shape(body):
    """The JSON keys all the way down, without the values."""
    if isinstance(body, dict):
        return {key: _shape(value) for key, value in body.items()}
    return type(body).__name__


def test_the_api_speaks_the_token_owners_language_with_the_same_codes_and_keys(app, shop, make_task):
    chinese = {name: response.get_json() for name, response in _conflict(app, shop, make_task, "zh_CN").items()}
    english = {name: response.get_json() for name, response in _conflict(app, shop, make_task, None).items()}
    for name in chinese:
        assert chinese[name]["code"] == english[name]["code"], name
        assert _shape(chinese[name]) == _shape(english[name]), name
        assert CJK.search(chinese[name]["detail"]), f"{name}: {chinese[name]['detail']!r}"
        assert CJK.search(chinese[name]["retry"]["suggestion"]), name
        assert not CJK.search(english[name]["detail"]), name
    assert [english[name]["code"] for name in english] == ["task_conflict", "not_found", "business_rule", "not_found"]
    # The loser reads who has the task now, in Chinese, and the JSON still names them by username.
    assert "Bob Baker" in chinese["conflict"]["detail"] and chinese["conflict"]["current_owner"] == "bob"


def test_a_bad_token_is_answered_in_the_browsers_language(app, shop):
    response = app.test_client().get(
        "/api/v1/tasks", headers={"Authorization": "Bearer nope", "Accept-Language": "zh-CN"}
    )
    body = response.get_json()
    assert (response.status_code, body["code"]) == (401, "unauthorized")
    assert CJK.search(body["detail"]) and CJK.search(body["retry"]["suggestion"])


# Numbers and dates


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en", ("2,500", "16 Dec 2026", "16 Dec 14:05", "1 hour 30 minutes", "12 hours")),
        ("zh-CN", ("2,500", "2026年12月16日", "12月16日 14:05", None, None)),
    ],
)
def test_numbers_dates_and_durations_follow_the_locale(app, header, expected):
    with app.test_request_context("/", headers={"Accept-Language": header}):
        got = (
            number(2500),
            short_date(date(2026, 12, 16)),
            day_time(datetime(2026, 12, 16, 14, 5)),
            duration(90),
            duration(720),
        )
    assert got[:3] == expected[:3]
    if header == "en":
        assert got[3:] == expected[3:]
    else:
        assert CJK.search(got[3]) and "1" in got[3] and "30" in got[3] and "12" in got[4]


def test_the_jinja_filters_format_per_locale(app):
    template = "{{ 1234567|number }} {{ day|short_date }} {{ 2500|format_decimal }} {{ day|format_date('long') }}"
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        rendered = app.jinja_env.from_string(template).render(day=date(2026, 12, 16))
    assert rendered == "1,234,567 2026年12月16日 2,500 2026年12月16日"
    with app.test_request_context("/", headers={"Accept-Language": "en"}), force_locale("en"):
        assert app.jinja_env.from_string(template).render(day=date(2026, 12, 16)).startswith("1,234,567 16 Dec 2026")


@pytest.mark.parametrize(("header", "expected"), [("zh-CN", "该字段是必填字段。"), ("en", "This field is required.")])
def test_wtforms_own_messages_follow_the_locale_from_catalogs_read_once(app, header, expected):
    _wtforms_catalog.cache_clear()
    with app.test_request_context("/", headers={"Accept-Language": header}):
        translations = LoginForm().meta.get_translations(None)
        assert translations.gettext("This field is required.") == expected
        LoginForm()
    with app.test_request_context("/", headers={"Accept-Language": header}):
        LoginForm()
    # Three forms in two requests: the catalog was read from disk once (Flask-WTF's own reads it every request).
    assert _wtforms_catalog.cache_info().misses == 1


def test_an_unfit_assignee_is_refused_in_the_supervisors_language(app, shop, make_task):
    set_language("sam", "zh_CN")
    task = make_task(process=shop.offset)
    headers = {"Authorization": f"Bearer {issue_api_token('sam')}"}
    response = app.test_client().post(
        f"/api/v1/tasks/{task.id}/assign", json={"version": 1, "assignee": "nobody-here"}, headers=headers
    )
    assert response.status_code == 400 and response.get_json()["code"] == "business_rule"
    detail = response.get_json()["detail"]
    assert "'nobody-here'" in detail and CJK.search(detail) and "active member" not in detail
