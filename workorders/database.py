"""How the app's database connections are set up, and checked before each use without a round trip."""

from __future__ import annotations

import select
from typing import ClassVar

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError


def tune_engine(engine: Engine, lock_timeout_ms: int) -> None:
    """Bound every lock wait by LOCK_TIMEOUT_MS, once per connection; on PostgreSQL, drop dead pooled connections.

    PostgreSQL: lock_timeout. SQLite: WAL lets readers and one writer work at once, and the busy timeout makes
    writers queue, not fail.
    """
    if engine.dialect.name == "sqlite":
        statements = ["PRAGMA journal_mode=WAL", f"PRAGMA busy_timeout={int(lock_timeout_ms)}"]
        statements.append("PRAGMA foreign_keys=ON")
    elif engine.dialect.name == "postgresql":
        statements = [f"SET lock_timeout = {int(lock_timeout_ms)}"]
        event.listen(engine, "checkout", _refuse_dead_connection)
    else:
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if engine.dialect.name == "postgresql":
            dbapi_connection.cursor_factory = DescribedOnce
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        if engine.dialect.name == "postgresql":
            dbapi_connection.commit()  # SET ran in an implicit transaction; keep it for the session


class DescribedOnce(psycopg.Cursor):
    """psycopg's cursor, whose `description` is built once per result shape (its columns' types and names) in the
    process rather than each time it is read.

    SQLAlchemy reads the description of every result, and psycopg makes a new `Column` (a type lookup and a name
    decoded) for each column each time: for an action's first look, 36 columns, about 40 % of the statement's
    client CPU. The shape is read from the result itself, so a result always gets the columns it has.
    """

    __slots__ = ()
    _described: ClassVar[dict[tuple, list]] = {}
    LIMIT = 1024  # shapes kept; statements are built once, so a process sees a few dozen

    @property
    def description(self):
        result = self.pgresult
        if result is None or not result.nfields:
            return super().description
        columns = range(result.nfields)
        shape = (*map(result.ftype, columns), *map(result.fname, columns))
        described = self._described.get(shape)
        if described is None:
            described = super().description
            if len(self._described) < self.LIMIT:
                self._described[shape] = described
        return described


def _refuse_dead_connection(dbapi_connection, _record, _proxy) -> None:
    """Raise DisconnectionError for a pooled connection the server has closed; the pool then opens a new one.

    This replaces pool_pre_ping's `SELECT 1`, a round trip on every request. A server that ends a backend
    (restart, pg_terminate_backend, idle timeout) sends its FATAL message and closes the socket, so an idle
    connection with anything to read is reading its own end: libpq reads the message, then fails on the closed
    socket. An idle connection with nothing to read is alive as far as can be known without asking; one that dies
    later fails its first statement, which answers 503 "nothing was changed" (see workorders/transactions.py).
    """
    if not alive(dbapi_connection):
        raise DisconnectionError("the server closed this pooled connection")


def alive(dbapi_connection) -> bool:
    """Whether an idle psycopg connection is still open, judged from its socket alone (a few microseconds)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return False
    pgconn = dbapi_connection.pgconn
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    # Anything the server sent an idle connection is consumed: a notice or a status report leaves it readable
    # no more, the end of the connection makes libpq fail. Bounded, in case a server keeps talking.
    for _ in range(4):
        if not poller.poll(0):
            return True
        try:
            pgconn.consume_input()
        except psycopg.OperationalError:  # the server closed it
            return False
    return True
