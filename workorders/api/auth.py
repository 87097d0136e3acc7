"""Who is calling the API: a bearer token, or the browser session plus its CSRF token."""

from functools import cache

from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, bindparam

from workorders.errors import Unauthorized
from workorders.extensions import csrf, login_manager
from workorders.tasks import first_look
from workorders.users.passwords import hash_api_token
from workorders.users.snapshots import UserSnapshot, snapshot_of, user_rows, users

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer …` header; None without the header. Raises Unauthorized if malformed."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(_("The Authorization header must be 'Bearer <token>'."))
    return token.strip()


@cache
def user_by_token() -> Select:
    """Built once, as `workorders.auth.user_by_id` is."""
    return user_rows(users.c.api_token_hash == bindparam("token_hash"))


def user_for_token(token: str) -> UserSnapshot | None:
    """The active user the token belongs to, with their departments: one query (with an action's task)."""
    user = snapshot_of(first_look.read_user(user_by_token(), {"token_hash": hash_api_token(token)}))
    return user if user is not None and user.active else None


@login_manager.request_loader
def load_user_from_request(_request) -> UserSnapshot | None:
    """Flask-Login's hook for requests without a session user: API calls with a bearer token."""
    if not request.path.startswith("/api/"):
        return None
    token = bearer_token()
    if token is None:
        return None
    g.token_user = user_for_token(token)
    return g.token_user


def authenticate() -> None:
    """Refuse the request unless a valid token or a session (with X-CSRFToken on writes) names an active user.

    Raises Unauthorized (401); a session write without a good CSRF token raises CSRFError (400).
    """
    token = bearer_token()
    if token is not None:
        # Loading current_user tries the session first; without one, request_loader has looked the token up.
        current_user._get_current_object()
        user = g.token_user if "token_user" in g else user_for_token(token)
        if user is None:
            raise Unauthorized(_("The API token is not valid: it may have been replaced or its user switched off."))
        if current_user.get_id() != user.get_id():
            raise Unauthorized(_("The API token and the session name different users; send one or the other."))
        return
    if not current_user.is_authenticated:
        raise Unauthorized(_("Send an API token (Authorization: Bearer …) or log in."))
    if request.method not in SAFE_METHODS:
        csrf.protect()
