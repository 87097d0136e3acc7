"""Work order task board for print and packaging shops."""

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from workorders.config import load_config
from workorders.database import tune_engine
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
        tune_engine(db.engine, lock_timeout_ms=app.config["LOCK_TIMEOUT_MS"])
    app.teardown_appcontext(_end_session)

    from workorders import (
        admin,
        api,
        auth,
        cli,
        errors,
        i18n,
        inputs,
        notifications,
        orders,
        security,
        tasks,
        templating,
    )

    i18n.init_app(app)

    security.init_app(app)
    inputs.init_app(app)
    auth.init_app(app)
    tasks.init_app(app)
    notifications.init_app(app)
    orders.init_app(app)
    admin.init_app(app)
    api.init_app(app)
    templating.init_app(app)
    errors.register_error_handlers(app)
    cli.init_app(app)
    return app


def _end_session(_exc: BaseException | None) -> None:
    """Close the request's session; on a dead connection that raises, and the request must still be answered."""
    try:
        db.session.remove()
    except SQLAlchemyError as error:
        logging.getLogger(__name__).info("closing the session failed, connection dropped: %s", error)
        db.session.registry.clear()
