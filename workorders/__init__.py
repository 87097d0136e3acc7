"""Work order task board for print and packaging shops."""

from pathlib import Path

from flask import Flask
from sqlalchemy import event

from workorders.config import load_config
from workorders.extensions import csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers and CLI. Wiring only."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(load_config(Path(app.instance_path), config))

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        _tune_sqlite(db.engine, busy_timeout_ms=app.config["LOCK_TIMEOUT_MS"])

    from workorders import admin, api, auth, cli, errors, orders, tasks, templating

    auth.init_app(app)
    tasks.init_app(app)
    orders.init_app(app)
    admin.init_app(app)
    api.init_app(app)
    templating.init_app(app)
    errors.register_error_handlers(app)
    cli.init_app(app)
    return app


def _tune_sqlite(engine, busy_timeout_ms: int) -> None:
    """WAL lets readers and one writer work at once; the busy timeout makes writers queue, not fail."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
