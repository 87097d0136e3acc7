"""Settings read from the environment, with safe defaults for a local run."""

import os
import secrets
from pathlib import Path

ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """The app cannot start with the settings it was given."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _non_negative_int(name: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.strip().isdigit():
        raise ConfigError(f"{name} must be a whole number ≥ 0, not {value!r}.")
    return int(value)


def _development_secret(instance_path: Path) -> str:
    """A key generated once and kept in instance/, so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {}
    # No pool_pre_ping: its SELECT 1 is a round trip on every request; workorders/database.py checks the socket.
    return {"pool_size": 5, "max_overflow": 5}


def load_config(instance_path: Path, overrides: dict | None = None) -> dict:
    """Build the Flask config from the environment, then apply `overrides` (used by tests)."""
    env = os.environ
    overrides = dict(overrides or {})
    environment = overrides.get("WORKORDERS_ENV", env.get("WORKORDERS_ENV", "development"))
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"WORKORDERS_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}.")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'workorders.sqlite3'}"
    database_url = overrides.get("SQLALCHEMY_DATABASE_URI", database_url)
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    secret_key = overrides.get("SECRET_KEY", env.get("SECRET_KEY"))
    if not secret_key:
        if environment == "production":
            raise ConfigError(
                "SECRET_KEY is not set. Production needs one secret shared by every worker and server: "
                'generate it with `python -c "import secrets; print(secrets.token_hex(32))"`.'
            )
        secret_key = _development_secret(instance_path)

    config = {
        "WORKORDERS_ENV": environment,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "TASK_CAP_PER_OPERATOR": _non_negative_int("TASK_CAP_PER_OPERATOR", env.get("TASK_CAP_PER_OPERATOR"), 10),
        # How long to wait for a row lock (PostgreSQL) or the write lock (SQLite's busy timeout) before the
        # user gets a 503 with Retry-After.
        "LOCK_TIMEOUT_MS": _non_negative_int("LOCK_TIMEOUT_MS", env.get("LOCK_TIMEOUT_MS"), 3000),
        # Login throttling (workorders/auth/throttle.py): failed log-ins per username and per client address, counted
        # in the database within a fixed window of LOGIN_WINDOW_SECONDS; 0 turns a limit (or, for the window, both)
        # off. The address limit is high because a shop's operators share a tablet, and so its address.
        "LOGIN_MAX_FAILURES_PER_USER": _non_negative_int(
            "LOGIN_MAX_FAILURES_PER_USER", env.get("LOGIN_MAX_FAILURES_PER_USER"), 5
        ),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": _non_negative_int(
            "LOGIN_MAX_FAILURES_PER_ADDRESS", env.get("LOGIN_MAX_FAILURES_PER_ADDRESS"), 50
        ),
        "LOGIN_WINDOW_SECONDS": _non_negative_int("LOGIN_WINDOW_SECONDS", env.get("LOGIN_WINDOW_SECONDS"), 900),
        # Proxies in front of the app that append to X-Forwarded-For (the client's address for the throttle).
        "TRUSTED_PROXIES": _non_negative_int("TRUSTED_PROXIES", env.get("TRUSTED_PROXIES"), 0),
        # A session unused this long is logged out (workorders/auth/idle.py): a shift and a half; 0 = never.
        "SESSION_IDLE_MINUTES": _non_negative_int("SESSION_IDLE_MINUTES", env.get("SESSION_IDLE_MINUTES"), 720),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE"), False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE"), False),
        # A tablet stays on the board for a whole shift: the CSRF token must not expire under it.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": False,
        "PASSWORD_HASH_PARAMS": None,  # nosec B105 # argon2 settings (None: its defaults), not a password
        # Checked before any view reads the body (CSRFProtect reads forms first): the CSV upload is the largest.
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "BOARD_PAGE_SIZE": 50,
        "BOARD_POLL_SECONDS": _non_negative_int("BOARD_POLL_SECONDS", env.get("BOARD_POLL_SECONDS"), 10),
        # Notifications older than this are not shown or counted, and are deleted (workorders/notifications); 0 = kept.
        "NOTIFICATION_KEEP_DAYS": _non_negative_int("NOTIFICATION_KEEP_DAYS", env.get("NOTIFICATION_KEEP_DAYS"), 30),
        "TESTING": environment == "testing",
    }
    config.update(overrides)
    if "SQLALCHEMY_DATABASE_URI" in overrides and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(config["SQLALCHEMY_DATABASE_URI"])
    return config
