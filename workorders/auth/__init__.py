"""Login, logout and the session user."""

from functools import cache

from flask import Flask, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

from workorders.auth.models import LoginThrottle  # noqa: F401  (mapped with the other models)
from workorders.errors import Unauthorized, render_error, wants_json
from workorders.extensions import db, login_manager
from workorders.htmx import is_htmx, redirect_page
from workorders.notifications.queries import Unread, kept_since, unread_columns
from workorders.users.models import User


def init_app(app: Flask) -> None:
    from workorders.auth import idle
    from workorders.auth.views import bp

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see the board.")
    login_manager.localize_callback = str  # the lazy message in the request's language (a session holds no lazy)
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
    idle.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        # The login throttle counts per client address: behind a proxy, remote_addr would be the proxy's for
        # everyone. Only the last TRUSTED_PROXIES entries of X-Forwarded-For are believed (a client can write
        # anything in front of them).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])


@cache
def user_by_id() -> Select:
    """Built once (compiled once, its cache key kept), after the models are all mapped; with the departments,
    which nearly every page asks for, and the unread notifications' count and newest id, which every page's top
    bar shows (so they cost no query of their own)."""
    unread = unread_columns("user_id")
    return select(User, *unread).where(User.id == bindparam("user_id")).options(joinedload(User.departments))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Find the session's user; a cookie from before a password reset, or of a deactivated user, is refused."""
    id_part, _dot, version_part = user_id.partition(".")
    if not id_part.isdigit() or not version_part.isdigit():
        return None
    params = {"user_id": int(id_part), "kept_since": kept_since()}
    row = db.session.execute(user_by_id(), params).unique().one_or_none()
    user = row[0] if row is not None else None
    if user is None or not user.active or user.session_version != int(version_part):
        return None
    user.unread_notifications = Unread(row.unread_count, row.newest_unread)
    return detached(user)


def detached(user: User) -> User:
    """The request's user, out of the session: a rollback cannot expire it, so every page and error can still
    say who is logged in without asking the database again (it may be why the request failed)."""
    for department in user.departments:
        db.session.expunge(department)
    db.session.expunge(user)
    return user


@login_manager.unauthorized_handler
def unauthorized():
    """Send a logged-out browser to the login page; htmx must do it as a full page, the API gets 401 JSON."""
    if wants_json():
        return render_error(Unauthorized(_("Log in or send an API token.")))
    login_url = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if is_htmx():
        return redirect_page(login_url)
    return redirect(login_url)
