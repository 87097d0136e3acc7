"""Login and logout pages."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from workorders.auth.errors import WrongCredentials
from workorders.auth.forms import LanguageForm, LoginForm
from workorders.auth.service import authenticate
from workorders.errors import BadInput, DomainError, render_error
from workorders.forms import next_path
from workorders.i18n import refresh_language
from workorders.urls import safe_next
from workorders.users.service import set_language

bp = Blueprint("auth", __name__)


@bp.get("/")
def home():
    return redirect(url_for("tasks.board"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tasks.board"), code=303)
    form = LoginForm()
    if form.validate_on_submit():
        try:
            # remote_addr is the peer's address; behind a proxy, TRUSTED_PROXIES makes it the client's.
            user = authenticate(form.username.data, form.password.data, request.remote_addr)
        except DomainError as error:  # TooManyAttempts (429) or Unavailable (503)
            return refused(form, error)
        if user is None:
            return refused(form, WrongCredentials())
        next_url = safe_next(request.args.get("next"))
        # A fresh session at login: nothing set before it (by anyone) survives into the logged-in one.
        session.clear()
        login_user(user)
        refresh_language()  # the welcome is in the user's own language, not the login page's
        flash(_("Welcome, %(name)s.", name=user.display_name), "success")
        return redirect(next_url or url_for("tasks.board"), code=303)
    if form.is_submitted():
        return render_template("auth/login.html", form=form), 400
    return render_template("auth/login.html", form=form)


def refused(form: LoginForm, error: DomainError):
    """The login form again with the message (a dialog for htmx, JSON for a client that asks for it)."""
    return render_error(error, page=lambda: render_template("auth/login.html", form=form, error=error))


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/language")
@login_required
def language():
    """Keep the language chosen in the top bar, then show the page the user was on in it."""
    form = LanguageForm()
    if not form.validate_on_submit():
        raise BadInput(next(iter(form.errors.values()))[0])
    set_language(current_user.id, form.language.data or "")
    return redirect(next_path(form.next) or url_for("tasks.board"), code=303)
