"""Work order task board for print and packaging shops."""

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

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
        _tune_connections(db.engine, lock_timeout_ms=app.config["LOCK_TIMEOUT_MS"])
    app.teardown_appcontext(_end_session)

    from workorders import admin, api, auth, cli, errors, inputs, orders, security, tasks, templating

    security.init_app(app)
    inputs.init_app(app)
    auth.init_app(app)
    tasks.init_app(app)
    orders.init_app(app)
    admin.init_app(app)
    api.init_app(app)
    templating.init_app(app)
    errors.register_error_handlers(app)
    cli.init_app(app)
    return app


def _tune_connections(engine, lock_timeout_ms: int) -> None:
    """Bound every lock wait by LOCK_TIMEOUT_MS, once per connection rather than once per transaction.

    PostgreSQL: lock_timeout. SQLite: WAL lets readers and one writer work at once, and the busy timeout makes
    writers queue, not fail.
    """
    if engine.dialect.name == "sqlite":
        statements = ["PRAGMA journal_mode=WAL", f"PRAGMA busy_timeout={int(lock_timeout_ms)}"]
        statements.append("PRAGMA foreign_keys=ON")
    elif engine.dialect.name == "postgresql":
        statements = [f"SET lock_timeout = {int(lock_timeout_ms)}"]
    else:
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        if engine.dialect.name == "postgresql":
            dbapi_connection.commit()  # SET ran in an implicit transaction; keep it for the session


def _end_session(_exc: BaseException | None) -> None:
    """Close the request's session; on a dead connection that raises, and the request must still be answered."""
    try:
        db.session.remove()
    except SQLAlchemyError as error:
        logging.getLogger(__name__).info("closing the session failed, connection dropped: %s", error)
        db.session.registry.clear()
