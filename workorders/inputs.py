"""The one check every request's text goes through before any view or query runs.

Paths and query strings may hold no control characters at all; form fields and JSON strings may hold tabs and
line breaks but no other control character (PostgreSQL refuses NUL in text outright, and none belongs in a
work order). A query string that is not UTF-8 is refused too (a form body that is not loses its fields, and
with them its CSRF token). Form routes take form bodies
only and the API JSON only (it says so itself, with 415). Field validation comes on top, in each form.
"""

import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workorders.errors import BadInput, UnsupportedMediaType

IN_URLS = re.compile(r"[\x00-\x1f\x7f\ufffd]")
IN_BODIES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def check_request() -> None:
    """Raise BadInput (400) for a control character or broken UTF-8 anywhere; UnsupportedMediaType (415) for a
    body a form route cannot read."""
    if IN_URLS.search(request.path) or not _utf8(request.query_string):
        raise BadInput(_("The address contains a character that is not allowed."))
    _refuse_any(IN_URLS, _pairs(request.args.lists()), "query")
    if request.method not in WRITES:
        return
    if request.path.startswith("/api/"):
        if request.is_json:
            _refuse_any(IN_BODIES, _json_strings(_json_body()), "body")
        return
    if request.content_length and request.mimetype not in FORM_TYPES:
        error = UnsupportedMediaType(_("This address takes a form (application/x-www-form-urlencoded)."))
        error.suggestion = _("Use the page's own form, or the JSON API under /api/v1 for scripts.")
        raise error
    _refuse_any(IN_BODIES, _pairs(request.form.lists()), "form")


def _utf8(query: bytes) -> bool:
    """Whether the percent-decoded query string is UTF-8 (Werkzeug would quietly keep broken bytes as "%C3")."""
    try:
        unquote_to_bytes(query.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Whole sentences, so that each reads naturally in every language; `name` is filled in where one is refused.
WHERE = {
    "query": _l("The query field %(name)r contains a control character or broken text."),
    "form": _l("The form field %(name)r contains a control character or broken text."),
    "body": _l("The body field %(name)r contains a control character or broken text."),
}


def _refuse_any(pattern: re.Pattern, texts: Iterable[tuple[str, str]], where: str) -> None:
    for name, text in texts:
        if pattern.search(text):
            raise BadInput(str(WHERE[where]) % {"name": name[:40]})


def _pairs(lists: Iterable[tuple[str, list[str]]]) -> Iterator[tuple[str, str]]:
    for name, values in lists:
        yield name, name
        for value in values:
            yield name, value


def _json_body():
    """The parsed JSON body, None when it is not JSON; BadInput when it nests too deeply to parse.

    Werkzeug's silent parse answers None for broken JSON, but the parser's RecursionError (some thousand
    brackets deep) is not a ValueError and would escape as a 500.
    """
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise BadInput(_("The JSON body is nested too deeply.")) from None


def _json_strings(document) -> Iterator[tuple[str, str]]:
    """Every string in a JSON document, keys included, with the name of the field it is in.

    Walked with a stack rather than recursion: a document nested almost as deep as the parser allows would
    otherwise overflow Python's stack here.
    """
    stack = [("body", document)]
    while stack:
        name, value = stack.pop()
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield str(key), str(key)
                stack.append((str(key), item))
        elif isinstance(value, list):
            stack.extend((name, item) for item in value)


def init_app(app: Flask) -> None:
    app.before_request(check_request)
