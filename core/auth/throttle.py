"""The per-account sign-in throttle; see core/models/throttle.py for why it lives in the database."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete

from core.clock import utcnow
from core.extensions import db
from core.models import LoginThrottle

MAX_FAILURES = 5
WINDOW = timedelta(minutes=1)
LOCKOUT = timedelta(minutes=1)
FORGET_AFTER = timedelta(days=1)


def account_key(username: str) -> str:
    # Hashed so that mistyped passwords pasted into the username field are not kept in clear.
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()


def _row(username: str, *, lock: bool = False) -> LoginThrottle | None:
    query = db.select(LoginThrottle).where(LoginThrottle.account_key == account_key(username))
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def is_locked(username: str, now: datetime | None = None) -> bool:
    row = _row(username)
    moment = now or utcnow()
    return bool(row and row.locked_until and moment < row.locked_until)


def record_failure(username: str) -> bool:
    """Count a failed attempt; True when this failure locks the account."""
    now = utcnow()
    row = _row(username, lock=True)
    if row is None:
        row = LoginThrottle(account_key=account_key(username), window_started_at=now, failures=0)
        db.session.add(row)
    if now - row.window_started_at > WINDOW:
        row.window_started_at, row.failures = now, 0
    row.failures += 1
    locked = row.failures >= MAX_FAILURES
    if locked:
        row.locked_until = now + LOCKOUT
        row.window_started_at, row.failures = now, 0
    db.session.execute(delete(LoginThrottle).where(
        LoginThrottle.window_started_at < now - FORGET_AFTER))
    return locked


def record_success(username: str) -> None:
    row = _row(username)
    if row is not None:
        db.session.delete(row)
