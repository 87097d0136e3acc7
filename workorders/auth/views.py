"""Login and logout pages."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from workorders.auth.forms import LoginForm
from workorders.auth.service import authenticate
from workorders.urls import safe_next

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
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            next_url = safe_next(request.args.get("next"))
            # A fresh session at login: nothing set before it (by anyone) survives into the logged-in one.
            session.clear()
            login_user(user)
            flash(f"Welcome, {user.display_name}.", "success")
            return redirect(next_url or url_for("tasks.board"), code=303)
        form.password.errors.append("Wrong username or password, or the account is switched off.")
        return render_template("auth/login.html", form=form), 401
    if form.is_submitted():
        return render_template("auth/login.html", form=form), 400
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), code=303)
