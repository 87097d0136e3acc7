"""The app factory and its settings."""

import pytest

from workorders import create_app
from workorders.config import ConfigError, load_config


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("WORKORDERS_ENV", "SECRET_KEY", "DATABASE_URL", "TASK_CAP_PER_OPERATOR", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_without_secret_key_refuses_to_start(clean_env, tmp_path):
    clean_env.setenv("WORKORDERS_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_production_with_secret_key_starts(clean_env, tmp_path):
    clean_env.setenv("WORKORDERS_ENV", "production")
    clean_env.setenv("SECRET_KEY", "s3cret")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SECRET_KEY"] == "s3cret"
    assert not app.testing


def test_development_key_is_generated_once_and_kept(clean_env, tmp_path):
    first = load_config(tmp_path)["SECRET_KEY"]
    second = load_config(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_default_database_is_sqlite_in_instance(clean_env, tmp_path):
    config = load_config(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'workorders.sqlite3'}"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {}


def test_postgres_url_uses_psycopg3_without_a_ping_round_trip(clean_env, tmp_path):
    clean_env.setenv("DATABASE_URL", "postgresql://u@db.local/shop")
    config = load_config(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.local/shop"
    # Dead connections are found by reading their socket (workorders/database.py), not by a SELECT 1.
    assert "pool_pre_ping" not in config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_cookie_and_csrf_settings(clean_env, tmp_path):
    config = load_config(tmp_path)
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["WTF_CSRF_TIME_LIMIT"] is None
    clean_env.setenv("SESSION_COOKIE_SECURE", "true")
    assert load_config(tmp_path)["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(("raw", "expected"), [("", 10), ("0", 0), ("25", 25)])
def test_task_cap_setting(clean_env, tmp_path, raw, expected):
    clean_env.setenv("TASK_CAP_PER_OPERATOR", raw)
    assert load_config(tmp_path)["TASK_CAP_PER_OPERATOR"] == expected


@pytest.mark.parametrize("raw", ["-1", "ten", "1.5"])
def test_bad_task_cap_refuses_to_start(clean_env, tmp_path, raw):
    clean_env.setenv("TASK_CAP_PER_OPERATOR", raw)
    with pytest.raises(ConfigError, match="TASK_CAP_PER_OPERATOR"):
        load_config(tmp_path)


def test_unknown_environment_refuses_to_start(clean_env, tmp_path):
    clean_env.setenv("WORKORDERS_ENV", "staging")
    with pytest.raises(ConfigError, match="WORKORDERS_ENV"):
        load_config(tmp_path)


def test_sqlite_connections_use_wal_and_busy_timeout(clean_env, tmp_path):
    from workorders.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "x"})
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == app.config["LOCK_TIMEOUT_MS"] == 3000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
