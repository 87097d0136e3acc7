"""The notifications page: one's notifications, newest first, marked read as they are shown; the top bar's unread
count; and what a live page's poll answers about them."""

from flask import Blueprint, Response, current_app, render_template
from flask_login import current_user, login_required

from workorders.htmx import out_of_band_only
from workorders.notifications.live import news_between, only_notifications_changed
from workorders.notifications.queries import LIST_LIMIT, loaded_unread, unread_as_of, unread_shown
from workorders.notifications.service import show_notifications

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("")
@login_required
def index() -> str:
    shown = show_notifications(current_user)
    # This page's own top bar counts what is unread now that these are read.
    unread_shown(current_user, shown.unread)
    return render_template(
        "notifications/index.html",
        shown=shown,
        limit=LIST_LIMIT,
        keep_days=current_app.config["NOTIFICATION_KEEP_DAYS"],
    )


def notification_count() -> int | None:
    """The top bar's unread count, as loaded with the session user (None for anyone else: no query for it)."""
    unread = loaded_unread(current_user) if current_user.is_authenticated else None
    return unread.count if unread is not None else None


def poll_answer(since: str, version: str, poll_url: str) -> tuple[Response | None, str]:
    """A live page's poll, sent with version `since`, its page now at `version` (`poll_url` asks with it).

    Returns (204, "") when nothing changed; (the notifications' news out of band, "") when only they changed, so
    the page itself stays as it is; else (None, what to add to the fresh page: the news out of band, if any).
    """
    if since == version:
        return Response(status=204), ""
    news = news_between(current_user, since, version)
    if news is None:
        return None, ""
    if only_notifications_changed(since, version):
        fragment = render_template(
            "notifications/_news.html",
            news=news,
            poll_url=poll_url,
            poll_seconds=current_app.config["BOARD_POLL_SECONDS"],
        )
        return out_of_band_only(Response(fragment)), ""
    # The fresh page's version carries what was just announced, so the next poll does not announce it again.
    unread_as_of(current_user, version)
    return None, render_template("notifications/_news.html", news=news)
