"""Break-the-glass (security.md §2): a supervisor's time-limited access to one case outside their
scope, granted only with a written reason.

A grant is written, with its audit entry, before anything of the case is decrypted; it opens
the case to that supervisor alone until ``expires_at`` (read through ``core.clock``, so tests
move a ``FrozenClock`` instead of sleeping). Grants are never extended or deleted: a new need is
a new grant with its own reason, and the history stays readable for the access log.

``case_id`` names the case without a foreign key: core never depends on the feature packages
(architecture.md), and a grant is only ever created for a case looked up a moment before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.encryption import EncryptedText
from core.extensions import db
from core.models.base import IdMixin, UTCDateTime
from core.permissions import CaseLike, UserLike, can_view_case, needs_break_glass

GRANT_DURATION: Final = timedelta(minutes=30)
REASON_MIN_LENGTH: Final = 10  # "checking" is not a reason; a sentence is
REASON_MAX_LENGTH: Final = 1000


class BreakGlassGrant(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "break_glass_grants"
    __table_args__ = (
        # "Which grants does this user hold now?": asked on every case page a supervisor opens.
        Index("ix_break_glass_grants_user_expires", "user_id", "expires_at"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    # Free text a supervisor writes (it may name people), so encrypted like any other.
    reason = EncryptedText()
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<BreakGlassGrant {self.id} case={self.case_id} until={self.expires_at:%H:%M}>"


def active_grants(user_id: str, now: datetime) -> Sequence[BreakGlassGrant]:
    """The grants ``user_id`` holds at ``now`` (usually none: one indexed look-up)."""
    return db.session.scalars(
        select(BreakGlassGrant).where(BreakGlassGrant.user_id == user_id,
                                      BreakGlassGrant.expires_at > now,
                                      BreakGlassGrant.granted_at <= now)).all()


def reason_problem(reason: str | None) -> str | None:
    """Why a written reason is refused ("missing", "short" or "long"), or None when it will do.
    Runs of white space count as one space: a reason must say something."""
    text = " ".join((reason or "").split())
    if not text:
        return "missing"
    if len(text) < REASON_MIN_LENGTH:
        return "short"
    if len(text) > REASON_MAX_LENGTH:
        return "long"
    return None


def grants_for(user: UserLike, case: CaseLike, now: datetime) -> Sequence[BreakGlassGrant]:
    """What to pass to ``permissions.can_view_case``: the user's active grants when the case
    lies outside their scope, else none (and no query: most views never need one)."""
    if not needs_break_glass(user, case):
        return ()
    return active_grants(user.id, now)


def can_read_case(user: UserLike, case: CaseLike) -> bool:
    """``permissions.can_view_case`` with the user's break-the-glass grants, now: the question
    every page and endpoint that *reads* a case asks (acting asks without grants)."""
    now = utcnow()
    return can_view_case(user, case, grants_for(user, case, now), now)
