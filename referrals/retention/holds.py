"""Setting and lifting a legal hold on a case (the policy: ``can_manage_legal_hold``)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.extensions import db
from core.models import User
from intake.models import Case
from referrals.retention.models import LegalHold

REASON_MIN: Final = 10
REASON_MAX: Final = 1000


class HoldRefused(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem  # "short", "long", "already", "none"


def active_hold(case_id: str) -> LegalHold | None:
    return db.session.scalar(select(LegalHold).where(LegalHold.case_id == case_id,
                                                     LegalHold.lifted_at.is_(None)))


def history(case_id: str) -> list[LegalHold]:
    return list(db.session.scalars(select(LegalHold).where(LegalHold.case_id == case_id)
                                   .order_by(LegalHold.set_at.desc())))


def _reason(text: str) -> str:
    text = (text or "").strip()
    if len(text) < REASON_MIN:
        raise HoldRefused("short")
    if len(text) > REASON_MAX:
        raise HoldRefused("long")
    return text


def set_hold(user: User, case: Case, reason: str, now: datetime) -> LegalHold:
    text = _reason(reason)
    if active_hold(case.id) is not None:
        raise HoldRefused("already")
    hold = LegalHold(case_id=case.id, reason=text, set_by=user.id, set_at=now)
    db.session.add(hold)
    try:
        db.session.flush()
    except IntegrityError:  # another supervisor set one at the same moment
        db.session.rollback()
        raise HoldRefused("already") from None
    audit.record("legal_hold.set", object_type="case", object_id=case.id,
                 fields=["legal_holds.reason"], details={"hold": hold.id})
    return hold


def lift_hold(user: User, case: Case, reason: str, now: datetime) -> LegalHold:
    text = _reason(reason)
    hold = active_hold(case.id)
    if hold is None:
        raise HoldRefused("none")
    hold.lifted_at, hold.lifted_by, hold.lift_reason = now, user.id, text
    db.session.flush()
    audit.record("legal_hold.lifted", object_type="case", object_id=case.id,
                 fields=["legal_holds.lift_reason"], details={"hold": hold.id})
    return hold


def active_holds(region: str | None, limit: int, offset: int) -> list[tuple[LegalHold, str]]:
    """Active holds on the cases of a supervisor's scope (``region``: theirs, None: all)."""
    statement = (select(LegalHold, Case.number).join(Case, Case.id == LegalHold.case_id)
                 .where(LegalHold.lifted_at.is_(None)))
    if region is not None:
        statement = statement.where(or_(Case.region == region, Case.region.is_(None)))
    return [(hold, number) for hold, number in db.session.execute(
        statement.order_by(LegalHold.set_at.desc(), LegalHold.id).offset(offset).limit(limit))]
