"""Login, logout, sessions and the password hashes behind them."""

import re
import time

from tests.factories import PASSWORD
from tests.helpers import HTMX, csrf_token, logged_in, login
from workorders.auth.idle import LAST_SEEN
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


# Idle sessions (issue 10): logged out after SESSION_IDLE_MINUTES without activity; the live poll is not activity.

IDLE = 12 * 60 * 60  # the default, a shift and a half


def last_seen(client) -> int | None:
    with client.session_transaction() as session:
        return session.get(LAST_SEEN)


def idle_for(client, seconds: int) -> None:
    """Pretend the last activity was `seconds` ago (rather than waiting)."""
    with client.session_transaction() as session:
        session[LAST_SEEN] = int(time.time()) - seconds


def test_the_idle_limit_defaults_to_twelve_hours(app):
    assert app.config["SESSION_IDLE_MINUTES"] == 720


def test_login_notes_the_time(client, make_user):
    make_user(username="alice")
    before = int(time.time())
    login(client, "alice")
    assert before <= last_seen(client) <= time.time()


def test_a_session_idle_past_the_limit_is_logged_out_and_sent_to_the_login_page(client, make_user):
    make_user(username="alice")
    login(client, "alice")
    idle_for(client, IDLE + 1)
    response = client.get("/tasks/mine")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    with client.session_transaction() as session:
        assert "_user_id" not in session and LAST_SEEN not in session
    page = client.get("/login").get_data(as_text=True)
    assert "You were logged out after 12 hours without activity" in page
    assert client.get("/tasks").status_code == 302  # and stays logged out


def test_a_session_used_within_the_limit_stays_and_its_time_is_renewed(client, make_user):
    make_user(username="alice")
    login(client, "alice")
    idle_for(client, IDLE - 60)
    assert client.get("/tasks").status_code == 200
    assert time.time() - last_seen(client) < 5


def test_the_live_poll_is_not_activity_and_is_sent_to_log_in_after_the_limit(client, make_user):
    make_user(username="alice")
    login(client, "alice")
    idle_for(client, 3600)
    noted = last_seen(client)
    for path in ("/tasks?since=stale", "/tasks/mine?since=stale"):
        assert client.get(path, headers=HTMX).status_code == 200  # the fresh board, as the poll gets it
    assert last_seen(client) == noted

    idle_for(client, IDLE + 1)
    response = client.get("/tasks?since=stale", headers=HTMX)
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/login")


def test_an_htmx_click_is_activity(client, make_user):
    make_user(username="alice")
    login(client, "alice")
    idle_for(client, 3600)
    assert client.get("/tasks", headers=HTMX).status_code == 200  # e.g. a filter change
    assert time.time() - last_seen(client) < 5


def test_an_idle_api_session_gets_401_json(client, make_user):
    make_user(username="alice")
    login(client, "alice")
    assert client.get("/api/v1/tasks").status_code == 200
    idle_for(client, IDLE + 1)
    response = client.get("/api/v1/tasks")
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"


def test_a_logged_in_session_without_a_time_counts_as_idle(client, make_user):
    make_user(username="alice")
    login(client, "alice")
    with client.session_transaction() as session:
        del session[LAST_SEEN]
    assert client.get("/tasks").status_code == 302


def test_the_idle_limit_is_a_setting_and_zero_means_never(app, make_user):
    make_user(username="alice")
    app.config["SESSION_IDLE_MINUTES"] = 30
    client = logged_in(app, "alice")
    idle_for(client, 30 * 60 + 1)
    assert client.get("/tasks").status_code == 302
    assert "after 30 minutes without activity" in client.get("/login").get_data(as_text=True)

    app.config["SESSION_IDLE_MINUTES"] = 0
    client = logged_in(app, "alice")
    idle_for(client, 10 * IDLE)
    assert client.get("/tasks").status_code == 200
