"""Server-side sessions (see core/models/sessions.py): start, check, list and end them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from core import audit, transactions
from core.clock import utcnow
from core.extensions import db
from core.models import User, UserSession
from core.models.sessions import USER_AGENT_LENGTH

# last_seen_at is written at most once a minute per session, not on every request.
SEEN_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(user: User) -> str:
    """Record a new session of ``user``; returns the secret for the cookie. The caller commits."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    agent = "".join(ch for ch in request.headers.get("User-Agent", "") if ch.isprintable())
    db.session.add(UserSession(user_id=user.id, secret_hash=_hash(secret), epoch=user.session_epoch,
                               started_at=now, last_seen_at=now,
                               user_agent=agent[:USER_AGENT_LENGTH] or None))
    return secret


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config["SENIM"]
    return (timedelta(minutes=config.session_idle_minutes),
            timedelta(hours=config.session_absolute_hours))


def is_live(row: UserSession, user: User, now: datetime | None = None) -> bool:
    """Not ended, of the user's current epoch, and within both timeouts. (The cookie's own
    times decide the exact idle timeout; ``last_seen_at`` lags by up to a minute.)"""
    moment = now or utcnow()
    idle, absolute = _limits()
    return (row.ended_at is None and row.user_id == user.id and row.epoch == user.session_epoch
            and user.active and moment - row.started_at <= absolute
            and moment - row.last_seen_at <= idle + SEEN_RESOLUTION)


def find_live(secret: object, user: User) -> UserSession | None:
    """The live session this cookie secret names, or None (ended, foreign, expired, forged)."""
    if not isinstance(secret, str) or not secret or len(secret) > 100:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.secret_hash == _hash(secret)))
    return row if row is not None and is_live(row, user) else None


def touch(row: UserSession) -> bool:
    """Note activity; True when it was noted (at most once per ``SEEN_RESOLUTION``).

    Written whatever the request's answer (``transactions.regardless``): a session used only
    for requests that are refused or fail is in use all the same, and must not time out."""
    now = utcnow()
    if now - row.last_seen_at < SEEN_RESOLUTION:
        return False
    session_id = row.id
    # The row shows the new time for the rest of the request without becoming dirty: the
    # UPDATE below is the one write, with the request's commit or after its rollback.
    set_committed_value(row, "last_seen_at", now)
    transactions.regardless(lambda: db.session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)))
    return True


def live_sessions(user: User) -> list[UserSession]:
    rows = db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None),
        UserSession.epoch == user.session_epoch).order_by(UserSession.last_seen_at.desc()))
    now = utcnow()
    return [row for row in rows if is_live(row, user, now)]


def end(row: UserSession, reason: str, *, actor: User | None = None) -> None:
    """End one session; audited. The caller commits."""
    if row.ended_at is not None:
        return
    row.ended_at, row.end_reason = utcnow(), reason
    audit.record("session.ended", object_type="user", object_id=row.user_id, actor=actor,
                 details={"session": row.id, "reason": reason})


def end_all(user: User, reason: str, *, actor: User | None = None,
            keep: UserSession | None = None) -> int:
    """End every live session of ``user`` (except ``keep``); how many ended. The caller commits."""
    ended = 0
    for row in live_sessions(user):
        if keep is None or row.id != keep.id:
            end(row, reason, actor=actor)
            ended += 1
    return ended
