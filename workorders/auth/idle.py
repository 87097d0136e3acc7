"""Idle sessions end: a browser left logged in and unused is logged out after SESSION_IDLE_MINUTES.

The session (a cookie signed with SECRET_KEY, so every worker and server reads it alike) carries `last_seen`, the
Unix time of the user's last request, refreshed at most once a minute so that the cookie is not rewritten on every
click. The live board's automatic polls (an htmx GET with `since`, every BOARD_POLL_SECONDS) are not activity:
otherwise a board left open on a tablet would keep its session alive for ever. A logged-in session without
`last_seen` (a cookie from before this check existed, or a forged one) counts as idle.
"""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, flash, request, session
from flask_babel import gettext as _
from flask_login import logout_user

from workorders.errors import wants_json
from workorders.htmx import is_htmx
from workorders.i18n import duration

LAST_SEEN = "last_seen"
REFRESH_SECONDS = 60


def init_app(app: Flask) -> None:
    app.before_request(end_idle_session)
    app.after_request(note_activity)


def end_idle_session() -> None:
    """Log out a session idle for longer than SESSION_IDLE_MINUTES (0: never), before any view runs.

    The request then goes on as a logged-out one: a page sends the user to the login page, htmx is told to load it
    (HX-Redirect), the API answers 401.
    """
    limit = current_app.config["SESSION_IDLE_MINUTES"] * 60
    if not limit or "_user_id" not in session:
        return
    last_seen = session.get(LAST_SEEN)
    if isinstance(last_seen, int) and time.time() - last_seen <= limit:
        return
    logout_user()
    session.clear()
    if not wants_json():
        idle = duration(limit // 60)
        flash(_("You were logged out after %(idle)s without activity. Please log in again.", idle=idle), "info")


def note_activity(response: Response) -> Response:
    """Remember when a logged-in user last did something (the live board's polls do not count)."""
    if "_user_id" in session and not is_live_poll():
        last_seen = session.get(LAST_SEEN)
        now = int(time.time())
        if not isinstance(last_seen, int) or now - last_seen >= REFRESH_SECONDS:
            session[LAST_SEEN] = now
    return response


def is_live_poll() -> bool:
    """The board's and My tasks' automatic refresh: an htmx GET carrying the version it already shows."""
    return request.method == "GET" and is_htmx() and "since" in request.args
