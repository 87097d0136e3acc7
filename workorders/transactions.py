"""The one short transaction every service change runs in."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from workorders.errors import Unavailable, rollback_quietly
from workorders.extensions import db


@contextmanager
def transaction(label: str, task_id: int | None = None) -> Iterator[None]:
    """Commit when the block ends, roll back when it raises; a database failure raises Unavailable.

    Unavailable says which: nothing was changed (the failure came before COMMIT, or COMMIT itself was refused),
    or the outcome is unknown (the connection died during COMMIT, so the server may have committed). Lock waits
    are bounded by LOCK_TIMEOUT_MS (PostgreSQL's lock_timeout, SQLite's busy timeout), so a stuck transaction
    elsewhere becomes a 503 with Retry-After rather than a hung request.
    """
    try:
        yield
    except SQLAlchemyError as error:
        rollback_quietly()
        if not unavailable(error):
            raise  # a constraint or a stale version: the caller knows what it means
        current_app.logger.warning("%s: database unavailable: %s", label, getattr(error, "orig", error))
        raise Unavailable.nothing_changed(task_id) from error
    except BaseException:
        rollback_quietly()
        raise
    try:
        db.session.commit()
    except SQLAlchemyError as error:
        rollback_quietly()
        if not unavailable(error):
            raise
        current_app.logger.warning("%s: commit failed: %s", label, getattr(error, "orig", error))
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            raise Unavailable.outcome_unknown(task_id) from error
        raise Unavailable.nothing_changed(task_id) from error
    if has_request_context():
        g.committed = True  # a later database failure in this request must not say "nothing was changed"


def unavailable(error: SQLAlchemyError) -> bool:
    """Whether the database was busy, gone or out of connections (as opposed to refusing what we sent)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | DisconnectionError | PoolTimeout)
