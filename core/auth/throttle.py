"""The per-account sign-in throttle; see core/models/throttle.py for why it lives in the database."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import transactions
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


def _row(username: str, *, lock: bool = False, session: Session | None = None) -> LoginThrottle | None:
    query = db.select(LoginThrottle).where(LoginThrottle.account_key == account_key(username))
    if lock:
        query = query.with_for_update()
    return (session or db.session).scalar(query)


def _locked_row(session: Session, username: str, now: datetime) -> LoginThrottle:
    """The account's row, created if missing, locked until the transaction ends (PostgreSQL:
    FOR UPDATE; SQLite: its single writer). INSERT … ON CONFLICT DO NOTHING lets parallel first
    attempts create it without a unique-key error."""
    dialect = session.get_bind().dialect.name
    values = {"account_key": account_key(username), "window_started_at": now, "failures": 0}
    if dialect == "postgresql":
        session.execute(pg_insert(LoginThrottle).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(LoginThrottle).values(**values).on_conflict_do_nothing())
    row = _row(username, lock=True, session=session)
    if row is None:  # another database: no upsert, but the primary key still guards the count
        row = LoginThrottle(**values)
        session.add(row)
    return row


def is_locked(username: str, now: datetime | None = None) -> bool:
    row = _row(username)
    moment = now or utcnow()
    return bool(row and row.locked_until and moment < row.locked_until)


def begin_attempt(username: str) -> bool:
    """Count an attempt BEFORE its password or code is evaluated; False: refuse it (locked).

    Counting first is what keeps the limit exact under parallel requests: each attempt takes
    the row lock, counts itself and commits, so the sixth of thirty simultaneous attempts
    already sees five in flight and is refused without being evaluated. The attempt that
    reaches ``MAX_FAILURES`` sets the lockout at once; a success clears it
    (:func:`record_success`), a correct password hands its count back (:func:`release`).

    In a short transaction of its own (``transactions.own_transaction``), committed before
    this returns: the count must hold whatever the request answers (429 included), other
    attempts must see it at once, and the row lock must end before the slow password hash.
    The sign-in views call this before they write anything, as SQLite's single writer needs."""
    now = utcnow()
    with transactions.own_transaction() as session:
        row = _locked_row(session, username, now)
        if row.locked_until and now < row.locked_until:
            return False
        if row.locked_until or now - row.window_started_at > WINDOW:
            row.window_started_at, row.failures, row.locked_until = now, 0, None
        row.failures += 1
        if row.failures >= MAX_FAILURES:
            row.locked_until = now + LOCKOUT
        session.execute(delete(LoginThrottle).where(
            LoginThrottle.window_started_at < now - FORGET_AFTER))
    return True


def record_failure(username: str) -> bool:
    """The attempt :func:`begin_attempt` counted failed; True when it was the one that locked
    the account (for the audit's ``auth.lockout``)."""
    row = _row(username)
    return bool(row and row.locked_until and row.failures >= MAX_FAILURES)


def release(username: str) -> None:
    """A correct password: it does not count as a failure (the second factor comes next)."""
    row = _row(username, lock=True)
    if row is not None and row.failures > 0:
        row.failures -= 1
        if row.failures < MAX_FAILURES:
            row.locked_until = None


def record_success(username: str) -> None:
    row = _row(username)
    if row is not None:
        db.session.delete(row)
