"""Running the escalation sweep at a chosen moment, and what it raised."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.clock import FrozenClock
from core.extensions import db
from referrals.handoffs import escalation
from referrals.handoffs.models import ReferralEscalation

POLICE = "police.juvenile_inspector"


def levels(referral_id: str) -> list[int]:
    return sorted(db.session.scalars(select(ReferralEscalation.level).where(
        ReferralEscalation.referral_id == referral_id)))


def sweep_at(clock: FrozenClock, moment: datetime) -> escalation.SweepResult:
    clock.set(moment)
    result = escalation.sweep()
    db.session.expire_all()
    return result
