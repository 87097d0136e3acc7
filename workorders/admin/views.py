"""Admin pages: users, departments and processes. Every page and action answers 403 to anyone but an admin."""

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from workorders.admin import queries, service
from workorders.admin.errors import UserNotFound
from workorders.admin.forms import (
    DepartmentForm,
    PasswordForm,
    ProcessForm,
    UserCreateForm,
    UserEditForm,
    first_error,
)
from workorders.errors import BadInput
from workorders.extensions import db
from workorders.forms import parse_id
from workorders.htmx import is_htmx, redirect_page
from workorders.users.labels import role_label
from workorders.users.models import Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin() -> None:
    """Every admin page needs a logged-in admin: anyone else gets 403, whatever they asked for."""
    service.require_admin(current_user)


@bp.get("")
def index() -> Response:
    return redirect(url_for(".users"))


@bp.get("/users")
def users() -> str:
    return _users_page(UserCreateForm(role="operator"))


@bp.post("/users")
def create_user() -> Response | tuple[str, int]:
    form = UserCreateForm()
    if not form.validate():
        return _users_page(form, first_error(form)), 400
    try:
        fields = (form.username, form.display_name, form.role, form.departments, form.password)
        user = service.create_user(current_user, *(field.data for field in fields))
    except BadInput as error:
        return _users_page(form, error.detail), 400
    flash(_("Created %(role)s %(username)s.", role=role_label(user.role), username=user.username), "success")
    return _see_other(url_for(".user", user_id=user.id))


@bp.get("/users/<user_id>")
def user(user_id: str) -> str:
    found = _user(user_id)
    form = UserEditForm(
        display_name=found.display_name, role=found.role, departments=[d.code for d in found.departments]
    )
    return _user_page(found, form)


@bp.post("/users/<user_id>")
def update_user(user_id: str) -> Response | tuple[str, int]:
    found, form = _user(user_id), UserEditForm()
    if not form.validate():
        return _user_page(found, form, first_error(form)), 400
    try:
        outcome = service.update_user(
            current_user, found.id, form.display_name.data, form.role.data, form.departments.data
        )
    except BadInput as error:
        return _user_page(found, form, error.detail), 400
    flash(outcome.message, "success")
    return _see_other(url_for(".user", user_id=found.id))


@bp.post("/users/<user_id>/deactivate")
def deactivate(user_id: str) -> Response:
    return _done(service.set_active(current_user, _user(user_id).id, active=False))


@bp.post("/users/<user_id>/reactivate")
def reactivate(user_id: str) -> Response:
    return _done(service.set_active(current_user, _user(user_id).id, active=True))


@bp.post("/users/<user_id>/password")
def reset_password(user_id: str) -> Response:
    found, form = _user(user_id), PasswordForm()
    if not form.validate():
        raise BadInput(first_error(form))
    outcome = service.reset_password(current_user, found.id, form.password.data)
    if found.id == current_user.id:
        # An admin who resets their own password stays logged in, with a cookie of the new session version
        # (`found` is the row the service bumped; the request's user is a copy kept out of the session).
        login_user(found)
    return _done(outcome)


@bp.get("/departments")
def departments() -> str:
    return _departments_page(DepartmentForm())


@bp.post("/departments")
def create_department() -> Response | tuple[str, int]:
    form = DepartmentForm()
    if not form.validate():
        return _departments_page(form, first_error(form)), 400
    try:
        department = service.create_department(current_user, form.code.data, form.name.data)
    except BadInput as error:
        return _departments_page(form, error.detail), 400
    flash(_("Created department %(code)s (%(name)s).", code=department.code, name=department.name), "success")
    return _see_other(url_for(".departments"))


@bp.get("/processes")
def processes() -> str:
    return _processes_page(ProcessForm())


@bp.post("/processes")
def create_process() -> Response | tuple[str, int]:
    form = ProcessForm()
    if not form.validate():
        return _processes_page(form, first_error(form)), 400
    try:
        process = service.create_process(
            current_user, form.code.data, form.name.data, form.department.data, form.parallel.data
        )
    except BadInput as error:
        return _processes_page(form, error.detail), 400
    message = _(
        "Created process %(code)s (%(name)s) in %(department)s.",
        code=process.code,
        name=process.name,
        department=process.department.code,
    )
    flash(message, "success")
    return _see_other(url_for(".processes"))


def _users_page(form: UserCreateForm, error: str | None = None) -> str:
    context = {"users": queries.users_with_load(), "departments": queries.departments(), "roles": list(Role)}
    return render_template("admin/users.html", form=form, error=error, **context)


def _user_page(user: User, form: UserEditForm, error: str | None = None) -> str:
    context = {
        "user": user,
        "held": queries.held_tasks(user.id),
        "departments": queries.departments(),
        "roles": list(Role),
    }
    return render_template("admin/user.html", form=form, error=error, **context)


def _departments_page(form: DepartmentForm, error: str | None = None) -> str:
    return render_template(
        "admin/departments.html", departments=queries.departments_with_size(), form=form, error=error
    )


def _processes_page(form: ProcessForm, error: str | None = None) -> str:
    context = {"processes": queries.processes(), "departments": queries.departments()}
    return render_template("admin/processes.html", form=form, error=error, **context)


def _user(raw_id: str) -> User:
    """The user of the URL: a malformed id is a 400, an unknown one a 404."""
    user_id = parse_id(raw_id, "user")
    found = db.session.get(User, user_id)
    if found is None:
        raise UserNotFound(user_id)
    return found


def _done(outcome: service.Changed) -> Response:
    flash(outcome.message, "success" if outcome.changed else "info")
    return _see_other(url_for(".user", user_id=outcome.user_id))


def _see_other(url: str) -> Response:
    """After a change: a 303 for a plain form post, a whole-page load for htmx."""
    return redirect_page(url) if is_htmx() else redirect(url, code=303)
