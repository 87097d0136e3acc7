"""The one short transaction every service change runs in."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from flask import current_app, g, has_request_context
from sqlalchemy import Executable, Row
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from workorders.errors import Unavailable, rollback_quietly
from workorders.extensions import db


def read_on_its_own(statement: Executable, params: dict) -> Sequence[Row]:
    """The rows of one read, run outside the session's transaction, in autocommit: no BEGIN before it, no ROLLBACK
    after it (two round trips fewer than a one-statement transaction), and no snapshot or lock kept once it is read.

    For what a request reads first (its user, an action's first look at its task); a database failure raises as
    any statement's does.
    """
    with db.engine.connect() as connection:
        return connection.execution_options(isolation_level="AUTOCOMMIT").execute(statement, params).all()


@contextmanager
def reading(label: str, task_id: int | None = None) -> Iterator[None]:
    """Reads outside a transaction (`read_on_its_own`): a database failure raises Unavailable, nothing changed."""
    try:
        yield
    except SQLAlchemyError as error:
        if not unavailable(error):
            raise
        current_app.logger.warning("%s: database unavailable: %s", label, getattr(error, "orig", error))
        raise Unavailable.nothing_changed(task_id) from error


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
