"""Referral queries: the policy's scope in SQL (a list never shows what the referral page would
refuse) and the order of the inbox and the API, nearest running deadline first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, case, false, literal, or_, select

from core.models import User
from core.models.base import UTCDateTime
from core.roles import HELPLINE_ROLES, UNIT_ROLES, Role
from intake.models import Case
from referrals.handoffs.models import (
    ACCEPTED,
    ACKNOWLEDGED,
    DECLINED,
    OPEN_STATES,
    SENT,
    UNASSIGNED,
    Referral,
)

OPEN = "open"
# Referrals with no running deadline sort after every real one.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


def referral_scope(user: User) -> Select[Any]:
    """Referrals ``user`` may see: the SQL twin of ``permissions.can_view_referral``."""
    query = select(Referral)
    role = Role(user.role)
    if not user.active:
        return query.where(false())
    if role in UNIT_ROLES:
        if user.unit_id is None:
            return query.where(false())
        return query.where(Referral.unit_id == user.unit_id)
    if role in HELPLINE_ROLES:
        query = query.join(Case, Case.id == Referral.case_id)
        if user.region:
            query = query.where(or_(Case.region == user.region, Case.region.is_(None)))
        return query
    return query.where(false())


def with_status(query: Select[Any], status: str | None) -> Select[Any]:
    if status == OPEN:
        return query.where(Referral.status.in_(sorted(OPEN_STATES)))
    if status:
        return query.where(Referral.status == status)
    return query


def next_due() -> Any:
    """The deadline now running: acknowledgement while nobody has acknowledged, then the first
    action while none is recorded; none once acted on or closed."""
    return case(
        (Referral.status.in_([SENT, UNASSIGNED]), Referral.ack_due_at),
        (and_(Referral.status.in_([ACKNOWLEDGED, ACCEPTED]), Referral.first_action_at.is_(None)),
         Referral.action_due_at),
        else_=literal(NO_DEADLINE, UTCDateTime()),
    )


def next_due_of(referral: Referral) -> datetime:
    if referral.status in (SENT, UNASSIGNED):
        return referral.ack_due_at
    if referral.status in (ACKNOWLEDGED, ACCEPTED) and referral.first_action_at is None:
        return referral.action_due_at
    return NO_DEADLINE


def to_reroute(user: User) -> Select[Any]:
    """The supervisors' list: declined (to re-route or override) and unassigned (unrouted),
    mandatory first, then the nearest deadline."""
    return (referral_scope(user).where(Referral.status.in_([DECLINED, UNASSIGNED]))
            .order_by(Referral.mandatory.desc(), Referral.ack_due_at, Referral.id))
