"""The one short transaction every service change runs in."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from workorders.errors import Unavailable
from workorders.extensions import db


@contextmanager
def transaction(label: str, task_id: int | None = None) -> Iterator[None]:
    """Commit when the block ends, roll back when it raises; a busy or unreachable database raises Unavailable.

    On PostgreSQL a row lock is waited for at most LOCK_TIMEOUT_MS (SQLite's busy timeout is the same setting),
    so a stuck transaction elsewhere turns into a 503 with Retry-After rather than a hung request.
    """
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text(f"SET LOCAL lock_timeout = {int(current_app.config['LOCK_TIMEOUT_MS'])}"))
        yield
        db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        current_app.logger.warning("%s: database unavailable: %s", label, error.orig)
        raise Unavailable("The database is busy or out of reach; nothing was changed.", task_id=task_id) from error
    except BaseException:
        db.session.rollback()
        raise
