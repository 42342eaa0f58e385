"""Per-account sign-in throttle state (security.md §2).

Kept in the database rather than in flask-limiter's storage because its rule is exact ("after 5
failures within a minute, refuse for the next minute whatever the password"), it must hold
across hosts without Redis, and it reads time through the injectable clock so tests can move
time. Keyed by the folded username, so unknown usernames are throttled exactly like real ones
and the answers cannot tell them apart. flask-limiter still limits each client address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.base import UTCDateTime


class LoginThrottle(db.Model):  # type: ignore[name-defined]
    __tablename__ = "login_throttle"

    account_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
