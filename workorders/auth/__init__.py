"""Login, logout and the session user."""

from functools import cache

from flask import Flask, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam
from werkzeug.middleware.proxy_fix import ProxyFix

from workorders.auth.models import LoginThrottle  # noqa: F401  (mapped with the other models)
from workorders.errors import Unauthorized, render_error, wants_json
from workorders.extensions import login_manager
from workorders.htmx import is_htmx, redirect_page
from workorders.notifications.queries import kept_since
from workorders.tasks import first_look
from workorders.users.snapshots import UserSnapshot, snapshot_of, user_rows, users


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


# The session's user: on pages, with the top bar's unread notifications (so they cost no query of their own).
# Built once (compiled once, cache keys kept), after the models are all mapped.
@cache
def user_by_id(unread: bool) -> Select:
    return user_rows(users.c.id == bindparam("user_id"), unread=unread)


@login_manager.user_loader
def load_user(user_id: str) -> UserSnapshot | None:
    """Find the session's user; a cookie from before a password reset, or of a deactivated user, is refused.

    The unread notifications come along for whatever may render the top bar or answer a live poll: not for an htmx
    action, which answers with a fragment.
    """
    id_part, _dot, version_part = user_id.partition(".")
    if not id_part.isdigit() or not version_part.isdigit():
        return None
    unread = request.method == "GET" or not is_htmx()
    params = {"user_id": int(id_part), "kept_since": kept_since()} if unread else {"user_id": int(id_part)}
    user = snapshot_of(first_look.read_user(user_by_id(unread), params))  # an action's task comes along
    if user is None or not user.active or user.session_version != int(version_part):
        return None
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
