"""The login throttle's counts: failed attempts per username and per client address, shared by every server."""

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from workorders.extensions import db


class LoginThrottle(db.Model):
    """Failed log-in attempts of one key (`user:<hmac of the username>` or `address:<ip>`) in its current window.

    The window is fixed: it starts at the first failure after the previous window ended and lasts
    LOGIN_WINDOW_SECONDS; a row whose window has ended counts as no row (and is pruned on a later write).
    """

    __tablename__ = "login_throttle"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_non_negative"),)

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int]
    # Unix time in whole seconds: the same arithmetic on SQLite and PostgreSQL, and no time zones to mix up.
    window_start: Mapped[int] = mapped_column(BigInteger, index=True)

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.key} {self.failures} since {self.window_start}>"
