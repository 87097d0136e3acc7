"""Languages: which one a request speaks (the user's setting, else the browser's, else English) and Flask-Babel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, dates, numbers, support
from flask import Flask, g, has_request_context, request
from flask_babel import (
    Babel,
    format_date,
    format_datetime,
    format_decimal,
    format_number,
    get_locale,
    get_translations,
    gettext,
    ngettext,
)
from flask_babel import refresh as refresh_babel
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from wtforms.i18n import messages_path

# Each language named in its own language, so that someone who cannot read the current one still finds theirs.
LANGUAGES = {"en": "English", "zh_CN": "中文"}
DEFAULT_LANGUAGE = "en"
PRIMARY_TAGS = {"en": "en", "zh": "zh_CN"}
HTML_LANG = {"en": "en", "zh_CN": "zh-CN"}
LOCALES = {language: Locale.parse(language) for language in LANGUAGES}
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

babel = Babel()


def language_from_header() -> str:
    """The best of our languages for the browser's Accept-Language, else English.

    Any tag is read by its language alone: `zh`, `zh-CN`, `zh-Hans-CN`, `zh-SG`, and also `zh-TW`, `zh-HK` and
    `zh-Hant` get zh_CN (Simplified Chinese is a far easier read than English for someone who reads Traditional;
    the selector changes it for good); `en-GB` gets en. Werkzeug then weighs them by quality (`q=0` refuses one).
    """
    accepted = LanguageAccept([(_our_language(tag), quality) for tag, quality in request.accept_languages])
    return accepted.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def _our_language(tag: str) -> str:
    primary = tag.replace("_", "-").split("-")[0].lower()
    return PRIMARY_TAGS.get(primary, tag)


def user_language() -> str | None:
    """The logged-in user's own choice, or None (not logged in, or never chose)."""
    # An error page after a failed query sets the anonymous user in g first, so this never asks the database then.
    user = g._login_user if "_login_user" in g else current_user
    choice = getattr(user, "language", None) if user is not None and user.is_authenticated else None
    return choice if choice in LANGUAGES else None


def select_locale() -> Locale:
    """Flask-Babel's locale selector: called once per request, at the first translated string.

    It answers with a Locale made once at import: parsing a name again on every request looks for locale data
    files on disk each time.
    """
    if not has_request_context():
        return LOCALES[DEFAULT_LANGUAGE]
    if g.get("_choosing_language"):
        # Loading the user can itself raise a translated error (a malformed API token): that one is in the
        # browser's language, and asking for the user again would go round for ever.
        return LOCALES[language_from_header()]
    g._choosing_language = True
    try:
        return LOCALES[user_language() or language_from_header()]
    finally:
        g._choosing_language = False


def current_language() -> str:
    """The request's language as one of LANGUAGES' keys (Babel spells zh_CN's locale `zh_Hans_CN`)."""
    locale = get_locale()
    if locale is None:
        return DEFAULT_LANGUAGE
    return PRIMARY_TAGS.get(locale.language, DEFAULT_LANGUAGE)


def html_lang() -> str:
    """The BCP 47 tag for `<html lang>`: `zh-CN`, `en`."""
    return HTML_LANG[current_language()]


def request_translations():
    """The request's translations, looked up once: Flask-Babel finds them again on every call (its context, the
    locale, the locale's name, the cache), which cost a board page of 50 rows about 9 ms in its ~900 strings."""
    try:
        return g._request_translations
    except AttributeError:
        g._request_translations = translations = get_translations()
        return translations


@cache
def _wtforms_catalog(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class WTFormsTranslations:
    """WTForms' own messages ("This field is required.") in the request's language, each catalog read once per
    process: Flask-WTF's own reads it from disk in every request that makes a form (every action's)."""

    def gettext(self, string: str) -> str:
        return _wtforms_catalog(str(get_locale() or DEFAULT_LANGUAGE)).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalog(str(get_locale() or DEFAULT_LANGUAGE)).ungettext(singular, plural, n)


WTFORMS_TRANSLATIONS = WTFormsTranslations()


# Texts that depend on the language alone, translated once per process and language (see `translated_once`).
_TRANSLATED: dict[tuple[str, str], dict[str, str]] = {}


def translated_once(name: str, texts: Mapping[str, Any]) -> dict[str, str]:
    """`texts` (lazy strings, by key) in the request's language, translated once per process and language: for the
    column names and status labels every row of a table repeats. `name` tells one set of texts from another."""
    if not has_request_context():
        return {text_key: str(text) for text_key, text in texts.items()}
    key = (name, current_language())
    found = _TRANSLATED.get(key)
    if found is None:
        found = _TRANSLATED[key] = {text_key: str(text) for text_key, text in texts.items()}
    return found


def refresh_language() -> None:
    """Choose the language again (after logging in, the user's own replaces the login page's)."""
    refresh_babel()
    g.pop("_request_translations", None)


def number(value: int | float | None) -> str:
    """A whole or decimal number in the viewer's locale: `2,500`."""
    return "" if value is None else _number(value, current_language())


# A table repeats the same quantities and dates row after row, and Babel formats each one anew (tens of µs):
# what was written once in a language is kept, a few thousand values of each.
@lru_cache(maxsize=4096)
def _number(value: int | float, language: str) -> str:
    return numbers.format_decimal(value, locale=LOCALES[language])


def duration(minutes: int) -> str:
    """A span of whole minutes in words: `12 hours`, `30 minutes`, `1 hour 30 minutes`; `12小时`."""
    hours, minutes = divmod(minutes, 60)
    hours_text = ngettext("%(num)d hour", "%(num)d hours", hours)
    minutes_text = ngettext("%(num)d minute", "%(num)d minutes", minutes)
    if hours and minutes:
        return gettext("%(hours)s %(minutes)s", hours=hours_text, minutes=minutes_text)
    return hours_text if hours else minutes_text


def _pattern(patterns: dict[str, str], skeleton: str, language: str) -> str:
    """English keeps the board's own day-month order; other languages take CLDR's pattern for the skeleton."""
    return patterns.get(language) or str(LOCALES[language].datetime_skeletons[skeleton].pattern)


def short_date(value: date | datetime | None) -> str:
    """A date as people write it in the viewer's language: `16 Dec 2026`, `2026年12月16日`."""
    if value is None:
        return ""
    return _short_date(value, current_language())


@lru_cache(maxsize=4096)
def _short_date(value: date | datetime, language: str) -> str:
    return dates.format_date(value, _pattern({"en": "d MMM y"}, "yMMMd", language), locale=LOCALES[language])


def day_time(value: datetime | None) -> str:
    """Day and time to the minute, for a history line: `16 Dec 14:05`, `12月16日 14:05`."""
    if value is None:
        return ""
    return format_datetime(value, _pattern({"en": "d MMM"}, "MMMd", current_language()) + " HH:mm", rebase=False)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    # WTForms' own messages ("This field is required.") come from its bundled catalogs through Flask-Babel.
    app.config.setdefault("WTF_I18N_ENABLED", True)
    # Installs jinja2.ext.i18n with newstyle gettext: `{{ _("Claimed by %(name)s", name=n) }}` escapes `n`.
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: request_translations().ugettext(string),
        ngettext=lambda singular, plural, n: request_translations().ungettext(singular, plural, n),
        pgettext=lambda context, string: request_translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: request_translations().unpgettext(context, singular, plural, n),
        newstyle=True,
    )
    app.jinja_env.filters.update(
        number=number,
        short_date=short_date,
        day_time=day_time,
        format_decimal=format_decimal,
        format_number=format_number,
        format_date=format_date,
        format_datetime=format_datetime,
    )
    app.jinja_env.globals.update(html_lang=html_lang, languages=LANGUAGES, current_language=current_language)
