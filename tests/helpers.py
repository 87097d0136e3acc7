"""Small helpers for driving the app like a browser would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.factories import PASSWORD

HTMX = {"HX-Request": "true"}
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a page of the app hands this client, read from its <meta> tag."""
    return _META_TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})


def logged_in(app, username: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = login(client, username, password)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def attr(html: str, element_id: str, name: str) -> str | None:
    """The value of attribute `name` on the element with id `element_id` in `html`."""
    match = re.search(rf'<[a-z]+ id="{re.escape(element_id)}"([^>]*)>', html, re.S)
    if match is None:
        return None
    value = re.search(rf'\s{re.escape(name)}="([^"]*)"', match.group(1))
    return value.group(1) if value else None
