"""Domain errors, and the one place that turns any error into a page, a dialog fragment or JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from workorders.extensions import db, login_manager
from workorders.htmx import is_htmx, retarget
from workorders.urls import safe_next

RETRY_AFTER_SECONDS = 2


class DomainError(Exception):
    """Something the user asked for did not happen; says why and what to do next."""

    status = 400
    code = "business_rule"
    can_retry = False
    suggestion = _l("Check the task and try something else.")
    action_text = _l("Refresh")
    retry_after: int | None = None  # seconds, sent as Retry-After (every 503 sends one)

    def __init__(self, detail: str, *, task_id: int | None = None, current_owner: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.task_id = task_id
        self.current_owner = current_owner

    def retry(self) -> dict[str, Any]:
        return {
            "can_retry": self.can_retry,
            "suggestion": str(self.suggestion),
            "action_text": str(self.action_text),
            "current_owner": self.current_owner,
        }

    def envelope(self) -> dict[str, Any]:
        """The JSON error body of SPEC "JSON API"."""
        return {
            "detail": str(self.detail),
            "code": self.code,
            "task_id": self.task_id,
            "current_owner": self.current_owner,
            "retry": self.retry(),
        }


class BadInput(DomainError):
    """A form or JSON field is missing or malformed."""

    suggestion = _l("Correct the highlighted value and send it again.")
    action_text = _l("OK")


class UnsupportedMediaType(BadInput):
    """The body is not of a type the route reads."""

    status = 415
    suggestion = _l("Send the body as JSON with Content-Type: application/json.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    suggestion = _l("It may have been typed wrong; go back to the board.")
    action_text = _l("Back to board")


class Unavailable(DomainError):
    """The database was busy or out of reach; the text says whether anything was saved."""

    status = 503
    code = "unavailable"
    can_retry = True
    suggestion = _l("The system is busy for a moment. Wait a few seconds and try again.")
    action_text = _l("Try again")
    retry_after = RETRY_AFTER_SECONDS

    @classmethod
    def nothing_changed(cls, task_id: int | None = None) -> Unavailable:
        return cls(_("The database is busy or out of reach; nothing was changed."), task_id=task_id)

    @classmethod
    def outcome_unknown(cls, task_id: int | None = None) -> Unavailable:
        error = cls(
            _(
                "The connection to the database was lost while saving, so the outcome is unknown. "
                "Refresh to see whether it was saved; trying again is safe."
            ),
            task_id=task_id,
        )
        error.suggestion = _("Refresh to see how things stand now; repeating the action does no harm.")
        error.action_text = _("Refresh")
        return error

    @classmethod
    def saved_but_not_shown(cls) -> Unavailable:
        error = cls(_("Your change was saved, but the database went out of reach before this page could be shown."))
        error.suggestion = _("Refresh in a few seconds to see it.")
        error.action_text = _("Refresh")
        return error


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    suggestion = _l("Send a valid API token in the Authorization header.")
    action_text = _l("Log in")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def asks_for_json() -> bool:
    """A client that prefers JSON to HTML (`Accept: application/json`) gets its errors as JSON on any page too;
    browsers and htmx prefer HTML or take anything, and get the page or the dialog."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def render_error(
    error: DomainError, dialog: Callable[[], str] | None = None, page: Callable[[], str] | None = None
) -> Response:
    """Answer with JSON for the API, a dialog for htmx, or a full page for a plain browser.

    `dialog` renders the htmx dialog when the view has a fuller one (a 409's also carries the fresh row out of
    band); `page` renders the full page when the view has a better one than the error page (the login form again,
    with the message). Reads nothing from the database.
    """
    if wants_json() or asks_for_json():
        response = jsonify(error.envelope())
    elif is_htmx():
        body = dialog() if dialog is not None else render_template("errors/_dialog.html", error=error)
        response = retarget(Response(body), "#modal-slot")
    elif page is not None:
        response = Response(page())
    else:
        # A refused body (413) is not read again: parsing it is what raised.
        posted = request.method == "POST" and error.status != 413
        back_url = safe_next(request.form.get("next")) if posted else None
        response = Response(render_template("errors/page.html", error=error, back_url=back_url))
    response.status_code = error.status
    if error.retry_after is not None or error.status == 503:
        response.headers["Retry-After"] = str(error.retry_after or RETRY_AFTER_SECONDS)
    return response


def _too_large() -> DomainError:
    """A 413 that says what the limits are: the whole body, and a form's text (Werkzeug refuses either)."""
    # One decimal, so that a limit under 1 MiB does not read "0 MiB".
    body_mib = round(current_app.config["MAX_CONTENT_LENGTH"] / 2**20, 1)
    form_kb = current_app.config["MAX_FORM_MEMORY_SIZE"] // 1000
    error = DomainError(
        _(
            "That is too much to send at once: at most %(body_mib)s MiB in all, and %(form_kb)s kB of text in a "
            "form field.",
            body_mib=format_decimal(body_mib),
            form_kb=format_decimal(form_kb),
        )
    )
    error.status = 413
    error.suggestion = _("Send a smaller file (split a large CSV import into several), or shorten the text.")
    error.action_text = _("Back to board")
    return error


def _discard_body(chunk_size: int = 64 * 1024) -> None:
    """Read the rest of a refused body, up to four times the limit, so that the client reads our 413.

    A server that closes the connection while the client is still sending resets it, and some clients (Windows
    above all) then drop the answer already received and show "connection reset" instead. Anything larger than
    that is not a file picked by mistake, and its connection may be reset.
    """
    remaining = request.content_length
    if remaining is None or remaining > 4 * current_app.config["MAX_CONTENT_LENGTH"]:
        return
    stream = request.environ["wsgi.input"]
    while remaining > 0 and (chunk := stream.read(min(chunk_size, remaining))):
        remaining -= len(chunk)


# Werkzeug's own descriptions are English only; these say the same in the viewer's language.
HTTP_DETAILS = {
    400: _l("The request could not be read. Reload the page and try again."),
    403: _l("You may not do that."),
    404: _l("There is nothing at this address."),
    405: _l("This address does not take that kind of request."),
    415: _l("The body of the request is of a type this address does not read."),
    429: _l("Too many requests at once. Wait a moment and try again."),
    500: _l("Something went wrong on the server; nothing was changed."),
}


def _http_error(exc: HTTPException) -> Response | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc  # routing redirects are not errors
    if isinstance(exc, RequestEntityTooLarge):
        _discard_body()
        return render_error(_too_large())
    error_class = NotFound if exc.code == 404 else DomainError
    error = error_class(str(HTTP_DETAILS.get(exc.code) or _("That did not work (HTTP %(code)s).", code=exc.code)))
    error.status = exc.code or 500
    error.code = "not_found" if exc.code == 404 else "business_rule" if exc.code and exc.code < 500 else "error"
    return render_error(error)


def _csrf_error(exc: CSRFError) -> Response:
    return render_error(
        BadInput(
            _("This form's security token is missing or no longer valid. Reload the page and try again."),
        )
    )


def _database_error(exc: SQLAlchemyError) -> Response:
    """Any database failure outside a service's transaction: a 503 that says whether a change was saved."""
    current_app.logger.warning("database unavailable: %s", getattr(exc, "orig", exc))
    rollback_quietly()
    # The page around the message must not ask the database who is logged in (it may be why we are here).
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()
    return render_error(Unavailable.saved_but_not_shown() if g.get("committed") else Unavailable.nothing_changed())


def rollback_quietly() -> None:
    """Roll back the request's session; on a dead connection that fails too, and the pool drops the connection."""
    try:
        db.session.rollback()
    except SQLAlchemyError as error:
        current_app.logger.info("rollback failed, connection dropped: %s", getattr(error, "orig", error))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, render_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(HTTPException, _http_error)
