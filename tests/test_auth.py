"""Login, logout, sessions and the password hashes behind them."""

import re

from tests.factories import PASSWORD
from tests.helpers import HTMX, csrf_token, logged_in, login
from workorders.extensions import db
from workorders.users.models import User
from workorders.users.passwords import hash_password, verify_password

GENERIC = "Wrong username or password"


def test_login_page_has_form_and_csrf(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<meta name="csrf-token"' in page
    assert re.search(r'<input[^>]+name="csrf_token"[^>]+type="hidden"|type="hidden"[^>]+name="csrf_token"', page)
    assert 'name="username"' in page and 'name="password"' in page


def test_login_redirects_to_board_with_303(client, make_user):
    make_user(username="alice")
    response = login(client, "alice")
    assert response.status_code == 303
    assert response.headers["Location"] == "/tasks"
    assert client.get("/tasks").status_code == 200


def test_session_cookie_is_httponly_and_lax(client, make_user):
    make_user(username="alice")
    login(client, "alice")
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure


def test_secure_cookie_when_configured(app, make_user):
    app.config["SESSION_COOKIE_SECURE"] = True
    make_user(username="alice")
    client = app.test_client()
    response = login(client, "alice")
    assert "Secure" in response.headers["Set-Cookie"]


def test_wrong_password_and_unknown_user_get_the_same_message(client, make_user):
    make_user(username="alice")
    wrong = login(client, "alice", "not the password")
    unknown = login(client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert GENERIC in response.get_data(as_text=True)
    assert client.get("/tasks").status_code == 302


def test_inactive_user_is_refused_with_the_same_message(client, make_user):
    make_user(username="gone", active=False)
    response = login(client, "gone")
    assert response.status_code == 401
    assert GENERIC in response.get_data(as_text=True)


def test_empty_form_is_a_400(client):
    response = client.post("/login", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 400


def test_session_is_rotated_at_login(client, make_user):
    make_user(username="alice")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "alice")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(str(User.query.filter_by(username="alice").one().id))


def test_logout_is_a_post_and_ends_the_session(client, make_user):
    make_user(username="alice")
    login(client, "alice")
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/tasks")})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert client.get("/tasks").status_code == 302


def test_deactivating_a_user_ends_their_session(app, make_user):
    user = make_user(username="alice")
    client = logged_in(app, "alice")
    user.active = False
    db.session.commit()
    assert client.get("/tasks").status_code == 302


def test_password_reset_ends_old_sessions(app, make_user):
    user = make_user(username="alice")
    client = logged_in(app, "alice")
    user.password_hash = hash_password("a new password")
    user.session_version += 1
    db.session.commit()
    assert client.get("/tasks").status_code == 302


def test_board_needs_login_and_comes_back_after(client, make_user):
    make_user(username="alice")
    response = client.get("/tasks?status=all")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    token = csrf_token(client)
    response = client.post(
        response.headers["Location"], data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/tasks?status=all"


def test_next_never_leads_off_site(app, make_user):
    make_user(username="alice")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client = app.test_client()
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client)},
        )
        assert response.headers["Location"] == "/tasks", target


def test_htmx_request_after_session_end_redirects_the_whole_page(client):
    response = client.get("/tasks/1/row", headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login")


def test_passwords_are_hashed_with_argon2id_at_strong_settings(app):
    app.config["PASSWORD_HASH_PARAMS"] = None  # the production default, not the tests' fast one
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "wrong horse")
    assert not verify_password("not a hash", "x")
    assert not verify_password(None, "x")
