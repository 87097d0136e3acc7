"""Domain errors, and the one place that turns any error into a page, a dialog fragment or JSON."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from workorders.extensions import db
from workorders.htmx import is_htmx, retarget
from workorders.urls import safe_next

RETRY_AFTER_SECONDS = 2


class DomainError(Exception):
    """Something the user asked for did not happen; says why and what to do next."""

    status = 400
    code = "business_rule"
    can_retry = False
    suggestion = "Check the task and try something else."
    action_text = "Refresh"

    def __init__(self, detail: str, *, task_id: int | None = None, current_owner: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.task_id = task_id
        self.current_owner = current_owner

    def retry(self) -> dict[str, Any]:
        return {
            "can_retry": self.can_retry,
            "suggestion": self.suggestion,
            "action_text": self.action_text,
            "current_owner": self.current_owner,
        }

    def envelope(self) -> dict[str, Any]:
        """The JSON error body of SPEC "JSON API"."""
        return {
            "detail": self.detail,
            "code": self.code,
            "task_id": self.task_id,
            "current_owner": self.current_owner,
            "retry": self.retry(),
        }


class BadInput(DomainError):
    """A form or JSON field is missing or malformed."""

    suggestion = "Correct the highlighted value and send it again."
    action_text = "OK"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    suggestion = "It may have been typed wrong; go back to the board."
    action_text = "Back to board"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    can_retry = True
    suggestion = "The system is busy for a moment. Wait a few seconds and try again."
    action_text = "Try again"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    suggestion = "Send a valid API token in the Authorization header."
    action_text = "Log in"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(error: DomainError) -> Response:
    """Answer with JSON for the API, a dialog for htmx, or a full page for a plain browser."""
    if wants_json():
        response = jsonify(error.envelope())
    elif is_htmx():
        response = retarget(_dialog_response(error), "#modal-slot")
    else:
        back_url = safe_next(request.form.get("next")) if request.method == "POST" else None
        response = Response(render_template("errors/page.html", error=error, back_url=back_url))
    response.status_code = error.status
    if error.status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _dialog_response(error: DomainError) -> Response:
    fresh_row = None
    if error.status == 409 and error.task_id is not None:
        # The board behind the dialog should already show who has the task now.
        from workorders.tasks.views import render_fresh_row

        fresh_row = render_fresh_row(error.task_id, oob=True)
    html = render_template("errors/_dialog.html", error=error)
    return Response(html + (fresh_row or ""))


def _http_error(exc: HTTPException) -> Response | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc  # routing redirects are not errors
    error_class = NotFound if exc.code == 404 else DomainError
    error = error_class(exc.description or exc.name)
    error.status = exc.code or 500
    error.code = "not_found" if exc.code == 404 else "business_rule" if exc.code and exc.code < 500 else "error"
    return render_error(error)


def _csrf_error(exc: CSRFError) -> Response:
    return render_error(
        BadInput(
            "This form's security token is missing or no longer valid. Reload the page and try again.",
        )
    )


def _database_error(exc: OperationalError) -> Response:
    db.session.rollback()
    current_app.logger.warning("database unavailable: %s", exc.orig)
    return render_error(Unavailable("The database did not answer in time; nothing was changed."))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, render_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(HTTPException, _http_error)
