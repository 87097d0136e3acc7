"""Login throttling: failed attempts counted per username and per client address, in the database.

The counts live in one small table (`login_throttle`, workorders/auth/models.py), so the limits hold across every
worker and every app server sharing the database. Each key has a fixed window of LOGIN_WINDOW_SECONDS that starts
at its first failure; within it, LOGIN_MAX_FAILURES_PER_USER (or _PER_ADDRESS) attempts may fail, and then every
attempt is refused with 429 until the window ends.

An attempt takes its slot *before* the password is checked: one INSERT … ON CONFLICT DO UPDATE per key, which
only counts when a slot is free, all in one short transaction. Two servers racing for the last slot therefore
cannot both get it, and a burst of concurrent guesses gets exactly the limit checked, no more. A success then
gives the slots back: the username's count is forgotten, and the address gets its one slot back (a shared shop
tablet logs many people in; only failures should count against it).

Rows are locked in one order, the username's before the address's, so two attempts never wait on each other in
a circle.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from workorders.auth.errors import TooManyAttempts
from workorders.auth.models import LoginThrottle
from workorders.extensions import db
from workorders.transactions import transaction

TABLE = LoginThrottle.__table__
# Ended windows deleted per counted attempt: enough to keep up with any rate of new keys, small enough to be cheap.
PRUNE_BATCH = 100
INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class Limits:
    """How many attempts may fail per username and per address within `window` seconds; 0 turns a limit off."""

    per_user: int
    per_address: int
    window: int

    @classmethod
    def from_config(cls) -> Limits:
        config = current_app.config
        return cls(
            per_user=config["LOGIN_MAX_FAILURES_PER_USER"],
            per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
            window=config["LOGIN_WINDOW_SECONDS"],
        )

    def keys(self, username: str, address: str | None) -> list[tuple[str, int]]:
        """The keys this attempt counts against, with their limits, username first (the locking order)."""
        if not self.window:
            return []
        keys = [(user_key(username), self.per_user), (address_key(address), self.per_address)]
        return [(key, limit) for key, limit in keys if limit]


def user_key(username: str) -> str:
    """A keyed hash of the username: people type passwords into the username field, and those are not stored."""
    secret = current_app.config["SECRET_KEY"].encode()
    return "user:" + hmac.new(secret, username.encode(), hashlib.sha256).hexdigest()


def address_key(address: str | None) -> str:
    # Without an address (a Unix socket with no proxy set up) every attempt shares one count: the safe side.
    return f"address:{(address or 'unknown')[:90]}"


def take_attempt(username: str, address: str | None, limits: Limits) -> None:
    """Count this login attempt against the username and the address, before any password is checked.

    Raises TooManyAttempts (429, with the seconds until a slot is free) when either has none left; then nothing
    is counted. Raises Unavailable (503) when the database fails.
    """
    keys = limits.keys(username, address)
    if not keys:
        return
    now = int(time.time())
    with transaction("login throttle"):
        for key, limit in keys:
            if db.session.execute(_take_slot(key, limit, now, limits.window)).first() is None:
                raise TooManyAttempts(_seconds_left(key, now, limits.window))
        _prune(now - limits.window)


def forgive(username: str, address: str | None, limits: Limits) -> None:
    """After a successful login: forget the username's failures and give the address back this attempt's slot.

    Raises Unavailable (503) when the database fails.
    """
    keys = dict(limits.keys(username, address))
    if not keys:
        return
    with transaction("login throttle: success"):
        db.session.execute(delete(TABLE).where(TABLE.c.key == user_key(username)))
        if address_key(address) in keys:
            db.session.execute(
                update(TABLE)
                .where(TABLE.c.key == address_key(address), TABLE.c.failures > 0)
                .values(failures=TABLE.c.failures - 1)
            )


def _take_slot(key: str, limit: int, now: int, window: int):
    """Insert the key's first failure, or count one more if a slot is free (or start a new window if the old one
    ended); returns a row only when the attempt got its slot."""
    ended = TABLE.c.window_start <= now - window
    insert = INSERTS[db.session.get_bind().dialect.name](TABLE).values(key=key, failures=1, window_start=now)
    return insert.on_conflict_do_update(
        index_elements=[TABLE.c.key],
        set_={
            "failures": case((ended, 1), else_=TABLE.c.failures + 1),
            "window_start": case((ended, now), else_=TABLE.c.window_start),
        },
        where=or_(ended, TABLE.c.failures < limit),
    ).returning(TABLE.c.failures)


def _seconds_left(key: str, now: int, window: int) -> int:
    """Seconds until the key's window ends and its attempts are free again."""
    started = db.session.scalar(select(TABLE.c.window_start).where(TABLE.c.key == key))
    return (started or now) + window - now


def _prune(cutoff: int) -> None:
    """Delete a bounded batch of rows whose window ended, so the table holds only the current windows.

    SKIP LOCKED (PostgreSQL): rows another login holds are left for a later prune, never waited for.
    """
    stale = select(TABLE.c.key).where(TABLE.c.window_start <= cutoff).limit(PRUNE_BATCH)
    db.session.execute(delete(TABLE).where(TABLE.c.key.in_(stale.with_for_update(skip_locked=True))))
