"""Signed-in sessions, kept server-side so that they can be ended (issue 16 item 2).

The session cookie is signed, but a signature cannot be taken back: a copied cookie would
work until its timeouts. So each sign-in also writes a row here, and the cookie carries only a
random session secret whose SHA-256 names the row. Every request looks the row up: a session
ended at sign-out, by its user on "My sessions", or by an administrator stops working at once,
whatever the cookie says. ``epoch`` is the user's ``session_epoch`` when the session began:
a password change, disabling or a new role bumps the user's epoch and so ends every row at
once without touching them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models.base import IdMixin, UTCDateTime

USER_AGENT_LENGTH = 200


class UserSession(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "user_sessions"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # SHA-256 of the secret in the cookie: a copy of this table opens no session.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    epoch: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "logout", "user", "admin": who ended it; the audit entry says more.
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # The browser's own description, so that people can tell their sessions apart.
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
