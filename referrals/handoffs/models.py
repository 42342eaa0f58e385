"""A referral keeps one id for its whole life; every transition is a ``ReferralEvent``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.encryption import EncryptedText
from core.extensions import db
from core.models import AgencyUnit
from core.models.base import IdMixin, UTCDateTime
from intake.models import Case, JsonList

UNASSIGNED, SENT, ACKNOWLEDGED, ACCEPTED = "unassigned", "sent", "acknowledged", "accepted"
DECLINED, COMPLETED, OVERRIDDEN = "declined", "completed", "overridden"
OPEN_STATES = frozenset({UNASSIGNED, SENT, ACKNOWLEDGED, ACCEPTED})
STATES = (UNASSIGNED, SENT, ACKNOWLEDGED, ACCEPTED, DECLINED, COMPLETED, OVERRIDDEN)

# What the escalation sweep looks for (referrals/handoffs/escalation.py), exactly as the partial
# indexes below and the migration write them: on three million referrals the sweep then reads
# only the few not escalated yet, not the backlog of overdue ones escalated long ago. Written
# with OR, not IN: PostgreSQL 15 cannot prove a query implies an IN list over a varchar column.
ACK_ESCALATION_DUE_WHERE = "(status = 'sent' OR status = 'unassigned') AND NOT ack_escalated"
ACTION_ESCALATION_DUE_WHERE = ("(status = 'accepted' OR status = 'acknowledged' OR status = 'sent' "
                               "OR status = 'unassigned') "
                               "AND first_action_at IS NULL AND NOT action_escalated")


class Referral(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "referrals"
    __table_args__ = (
        # The inbox counts its open, new and overdue referrals from this index alone.
        Index("ix_referrals_unit_deadlines", "unit_id", "status", "ack_due_at", "action_due_at",
              "first_action_at"),
        Index("ix_referrals_status_ack_due", "status", "ack_due_at"),
        Index("ix_referrals_status_action_due", "status", "action_due_at"),
        Index("ix_referrals_ack_escalation_due", "ack_due_at", "id",
              postgresql_where=text(ACK_ESCALATION_DUE_WHERE),
              sqlite_where=text(ACK_ESCALATION_DUE_WHERE)),
        Index("ix_referrals_action_escalation_due", "action_due_at", "id",
              postgresql_where=text(ACTION_ESCALATION_DUE_WHERE),
              sqlite_where=text(ACTION_ESCALATION_DUE_WHERE)),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("routing_decisions.id"))
    agency: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(80))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("agency_units.id"))
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    # Added by hand (no rule proposed it); the reason is personal-free but kept encrypted
    # because operators write free text.
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    manual_reason = EncryptedText()
    rules: Mapped[list[str]] = mapped_column(JsonList, default=list)
    status: Mapped[str] = mapped_column(String(14), default=SENT)
    region: Mapped[str | None] = mapped_column(String(8), index=True)
    district: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    action_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(30))
    decline_reason: Mapped[str | None] = mapped_column(String(30))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # Which levels were raised (a ReferralEscalation row each); escalation_level, the highest,
    # cannot tell whether level 1 was raised once level 2 was. Set with the escalation row.
    ack_escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    action_escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    case: Mapped[Case] = relationship(back_populates="referrals")
    unit: Mapped[AgencyUnit | None] = relationship(lazy="joined")
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", order_by="ReferralEvent.at", cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES


class ReferralEvent(IdMixin, db.Model):  # type: ignore[name-defined]
    """Who, when, from, to, reason, note (notes encrypted: agencies write free text)."""

    __tablename__ = "referral_events"

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    actor_agency: Mapped[str | None] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(14))
    to_status: Mapped[str | None] = mapped_column(String(14))
    from_unit_id: Mapped[str | None] = mapped_column(String(36))
    to_unit_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str | None] = mapped_column(String(40))  # a code (decline reason, outcome...)
    note = EncryptedText()
    details: Mapped[dict[str, Any]] = mapped_column(JsonList, default=dict)

    referral: Mapped[Referral] = relationship(back_populates="events")

    @property
    def stated_reason(self) -> str | None:
        """The event's ``reason`` in the API (interfaces.md): the code of a decline, action or
        outcome, or an override's written justification (kept encrypted, in ``note``)."""
        return self.note if self.action == "override" else self.reason


class ReferralEscalation(IdMixin, db.Model):  # type: ignore[name-defined]
    """One row per (referral, level): the unique constraint makes escalation happen exactly
    once per level even when several hosts sweep at the same minute."""

    __tablename__ = "referral_escalations"
    __table_args__ = (UniqueConstraint("referral_id", "level"),)

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # acknowledgement or action
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
