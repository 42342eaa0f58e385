"""In-app notifications: one row per recipient, carrying codes and ids only (no text), so the
message is written in the reader's language when shown and nothing personal is stored here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.models import User
from core.models.base import IdMixin, UTCDateTime
from referrals.handoffs.models import Referral

# What happened, from the reader's side (templates/referrals/handoffs/_notification.html).
NEW_REFERRAL = "new_referral"
ESCALATION_ACK = "escalation_ack"
ESCALATION_ACTION = "escalation_action"
DECLINED = "declined"
COMPLETED = "completed"
NOTE = "note"
URGENT_TEXT_REPORT = "urgent_text_report"  # an anonymous school report signals risk (issue 12)
KINDS = (NEW_REFERRAL, ESCALATION_ACK, ESCALATION_ACTION, DECLINED, COMPLETED, NOTE,
         URGENT_TEXT_REPORT)


class Notification(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    referral_id: Mapped[str | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Declared so that the unit of work inserts a new referral before its notifications.
    user: Mapped[User] = relationship()
    referral: Mapped[Referral | None] = relationship()
