"""SLA clocks and escalation (routing.md §8).

Level 1: the acknowledgement deadline passed with the referral still ``sent`` or ``unassigned``.
Level 2: the action deadline passed with no action recorded and the referral still open.
Each level is raised once per referral, ever: a ``ReferralEscalation`` row (unique on referral
and level) is inserted in a SAVEPOINT, and a unique violation means another sweep raised it.
On PostgreSQL, candidates are also taken ``FOR UPDATE SKIP LOCKED`` so that sweeps running at
the same minute on several hosts share the work instead of queueing behind each other; on
SQLite the sweep takes the write lock first (``BEGIN IMMEDIATE``), which serialises sweeps.

"Past" means strictly after the deadline. Deadlines were computed at submission (working days
included) and stored; a sweep never recomputes them.

An office-hours referral (a service the current algorithm counts in working time: education,
commission in 2026.2) is escalated only during its unit's working time on a working day (issue
14): a P3 deadline falls at the submission's local time, which may be at night, and a sweep may
run late; either way the heads hear of it when the office opens, never at night.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, or_, select, text, true
from sqlalchemy.exc import IntegrityError

from core import audit
from core.clock import utcnow
from core.extensions import db
from core.models import AgencyUnit, User
from core.models.directory import DEFAULT_WORK_END, DEFAULT_WORK_START
from core.roles import Role
from referrals.handoffs import notify
from referrals.handoffs.models import (
    ACK_ESCALATION_DUE_WHERE,
    ACTION_ESCALATION_DUE_WHERE,
    OPEN_STATES,
    SENT,
    UNASSIGNED,
    Referral,
    ReferralEscalation,
    ReferralEvent,
)
from referrals.routing_app import service as routing_service

ACKNOWLEDGEMENT, ACTION = 1, 2
KINDS = {ACKNOWLEDGEMENT: "acknowledgement", ACTION: "action"}
BATCH_SIZE = 200
COMMISSION = "commission"


@dataclass
class SweepResult:
    escalated: dict[int, int] = field(default_factory=lambda: {ACKNOWLEDGEMENT: 0, ACTION: 0})
    skipped: int = 0  # candidates another sweep escalated first
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.escalated.values())


@dataclass(frozen=True)
class Recipients:
    users: list[User]
    units: list[AgencyUnit]  # mailboxes that get the email


# ---- which referrals ----------------------------------------------------------------------------


def _not_yet(level: int) -> Any:
    return ~select(ReferralEscalation.id).where(
        ReferralEscalation.referral_id == Referral.id, ReferralEscalation.level == level,
    ).exists()


def overdue_condition(level: int, now: datetime) -> Any:
    """The SQL test for "this level is due and not raised yet".

    The referral's own flag (``ack_escalated``/``action_escalated``) keeps the query within a
    partial index of the referrals still to escalate, written as the index's predicate (see
    ``models.ACK_ESCALATION_DUE_WHERE``) so that PostgreSQL uses it; the escalation row, set in
    the same transaction, stays the test that counts (several hosts may sweep at once).
    """
    if level == ACKNOWLEDGEMENT:
        late = and_(text(ACK_ESCALATION_DUE_WHERE), Referral.ack_due_at < now)
    else:
        late = and_(text(ACTION_ESCALATION_DUE_WHERE), Referral.action_due_at < now)
    return and_(late, _not_yet(level))


@dataclass(frozen=True)
class _WorkingNow:
    """What "now" is for office-hours bodies: which services count working time, whether
    today is a working day and the local minute of the day."""

    office_services: frozenset[str]
    working_day: bool
    minute: int

    @classmethod
    def at(cls, now: datetime) -> _WorkingNow:
        local = now.astimezone(routing_service.timezone())
        return cls(routing_service.current_algorithm().office_hours_services,
                   routing_service.working_calendar().is_working_day(local.date()),
                   local.hour * 60 + local.minute)

    def open(self, start: int, end: int) -> bool:
        # The closing minute counts: a deadline that ends the working day escalates at once.
        return self.working_day and start <= self.minute <= end

    def allows(self, referral: Referral) -> bool:
        if referral.service not in self.office_services:
            return True
        unit = referral.unit
        if unit is None:
            return self.open(DEFAULT_WORK_START, DEFAULT_WORK_END)
        return self.open(unit.work_start_minute, unit.work_end_minute)

    def condition(self) -> Any:
        """The SQL form of :meth:`allows`."""
        if not self.office_services:
            return true()
        office = sorted(self.office_services)
        if not self.working_day:
            return Referral.service.not_in(office)
        unit_open = select(AgencyUnit.id).where(
            AgencyUnit.id == Referral.unit_id, AgencyUnit.work_start_minute <= self.minute,
            AgencyUnit.work_end_minute >= self.minute).exists()
        unassigned_open = (Referral.unit_id.is_(None)
                           if self.open(DEFAULT_WORK_START, DEFAULT_WORK_END) else false())
        return or_(Referral.service.not_in(office), unit_open, unassigned_open)


def _candidates(level: int, now: datetime, limit: int, done: set[str],
                working: _WorkingNow) -> list[str]:
    due = Referral.ack_due_at if level == ACKNOWLEDGEMENT else Referral.action_due_at
    query: Select[Any] = select(Referral.id).where(overdue_condition(level, now),
                                                    working.condition())
    if done:
        query = query.where(Referral.id.not_in(done))
    query = query.order_by(due, Referral.id).limit(limit).with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


# ---- who hears of it ----------------------------------------------------------------------------


def recipients(referral: Referral, level: int) -> Recipients:
    supervisors = notify.supervisors_for(notify.area_of(referral)[0])
    if level == ACKNOWLEDGEMENT:
        heads = notify.unit_users(referral.unit_id, [Role.AGENCY_HEAD])
        units = [referral.unit] if referral.unit else []
        return Recipients(heads + supervisors, units)
    commission = commission_unit(referral)
    heads = notify.unit_users(commission.id, [Role.AGENCY_HEAD]) if commission else []
    units = [u for u in (referral.unit, commission) if u is not None]
    return Recipients(heads + supervisors, units)


def commission_unit(referral: Referral) -> AgencyUnit | None:
    """The commission for the child's district, else the region's; when the late unit is
    itself a commission, the region-level commission above it."""
    region, district = notify.area_of(referral)
    if region is None:
        return None
    late_is_commission = referral.unit is not None and referral.unit.agency == COMMISSION
    if district and not late_is_commission:
        found = _commission(region, district)
        if found is not None:
            return found
    return _commission(region, None)


def _commission(region: str, district: str | None) -> AgencyUnit | None:
    place = AgencyUnit.district == district if district else AgencyUnit.district.is_(None)
    return db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == COMMISSION, AgencyUnit.active.is_(True),
        AgencyUnit.region == region, place).order_by(AgencyUnit.created_at, AgencyUnit.id).limit(1))


# ---- the sweep ------------------------------------------------------------------------------------


def sweep(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepResult:
    """Escalate everything overdue, level by level, one committed batch at a time."""
    now = now or utcnow()
    result = SweepResult()
    working = _WorkingNow.at(now)
    for level in (ACKNOWLEDGEMENT, ACTION):
        done: set[str] = set()
        while _sweep_batch(level, now, batch_size, done, result, working):
            pass
    return result


def _sweep_batch(level: int, now: datetime, batch_size: int, done: set[str],
                 result: SweepResult, working: _WorkingNow) -> bool:
    """One batch in one transaction with one audit entry; False when nothing was left."""
    _take_write_lock_on_sqlite()
    ids = _candidates(level, now, batch_size, done, working)
    if not ids:
        db.session.rollback()
        return False
    done.update(ids)
    raised = sum(1 for referral_id in ids if escalate(referral_id, level, now, working))
    result.escalated[level] += raised
    result.skipped += len(ids) - raised
    result.batches += 1
    audit.record("referral.escalation_sweep", object_type="referral",
                 details={"level": level, "kind": KINDS[level], "candidates": len(ids),
                          "escalated": raised})
    db.session.commit()
    return True


def _take_write_lock_on_sqlite() -> None:
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not getattr(raw, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def escalate(referral_id: str, level: int, now: datetime,
             working: _WorkingNow | None = None) -> bool:
    """Raise ``level`` on one referral unless it is raised already, or its office is closed
    (an office-hours referral waits for the unit's working time); True when this call did."""
    referral = db.session.get(Referral, referral_id)
    if referral is None or not _still_due(referral, level, now):
        return False
    if not (working or _WorkingNow.at(now)).allows(referral):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(ReferralEscalation(referral_id=referral.id, level=level,
                                              kind=KINDS[level], at=now))
    except IntegrityError:
        return False  # another sweep raised this level first
    referral.escalation_level = max(referral.escalation_level or 0, level)
    if level == ACKNOWLEDGEMENT:
        referral.ack_escalated = True
    else:
        referral.action_escalated = True
    db.session.add(ReferralEvent(
        referral_id=referral.id, at=now, action="escalated", from_status=referral.status,
        to_status=referral.status, from_unit_id=referral.unit_id, to_unit_id=referral.unit_id,
        reason=KINDS[level], details={"level": level}))
    found = recipients(referral, level)
    notify.escalated(referral, level, found.users, found.units)
    return True


def _still_due(referral: Referral, level: int, now: datetime) -> bool:
    if level == ACKNOWLEDGEMENT:
        return referral.status in (SENT, UNASSIGNED) and referral.ack_due_at < now
    return (referral.status in OPEN_STATES and referral.first_action_at is None
            and referral.action_due_at < now)


def overdue_filter(now: datetime) -> Any:
    """Referrals with a running deadline already past (the inbox's "overdue only")."""
    return or_(and_(Referral.status.in_([SENT, UNASSIGNED]), Referral.ack_due_at < now),
               and_(Referral.status.in_(sorted(OPEN_STATES)), Referral.first_action_at.is_(None),
                    Referral.action_due_at < now))
