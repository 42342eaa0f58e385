"""One case's routing audit (issue 8 item 3): every decision as it was made, every change made
by hand with its reason and author, and the handoff timeline of every referral.

Read in four statements whatever the case's size: decisions, referrals with their events,
then the people and the units those name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db
from core.models import AgencyUnit, User
from intake.models import Case, RoutingDecision
from referrals.handoffs.models import Referral, ReferralEvent
from referrals.routing import parse_rfc3339


@dataclass(frozen=True)
class Proposal:
    """A referral the decision proposed, with the deadlines it computed."""

    service: str
    agency: str
    mandatory: bool
    rules: tuple[str, ...]
    ack_due_at: datetime | None
    action_due_at: datetime | None


@dataclass(frozen=True)
class Change:
    """A change made by hand to a decision's proposals (at intake or after a correction)."""

    kind: str  # "remove", "add" or "applied_after_correction"
    service: str
    reason: str | None


@dataclass(frozen=True)
class DecisionView:
    row: RoutingDecision
    author: User | None
    proposals: tuple[Proposal, ...]
    changes: tuple[Change, ...]

    @property
    def decision(self) -> Mapping[str, Any]:
        return self.row.decision or {}

    @property
    def facts(self) -> Mapping[str, Any]:
        return self.row.facts or {}


@dataclass(frozen=True)
class Milestone:
    """A deadline and the moment it was met (or not yet)."""

    due: datetime
    met: datetime | None
    now: datetime

    @property
    def late(self) -> bool:
        return (self.met or self.now) > self.due

    @property
    def lateness_seconds(self) -> float:
        return max(0.0, ((self.met or self.now) - self.due).total_seconds())


@dataclass(frozen=True)
class ReferralView:
    referral: Referral
    acknowledgement: Milestone
    action: Milestone


@dataclass(frozen=True)
class TimelineEvent:
    event: ReferralEvent
    referral: Referral
    actor: User | None
    from_unit: AgencyUnit | None
    to_unit: AgencyUnit | None


@dataclass
class RoutingAudit:
    case: Case
    decisions: list[DecisionView]
    referrals: list[ReferralView]
    timeline: list[TimelineEvent]
    manual: list[Referral] = field(default_factory=list)

    @property
    def overridden(self) -> list[TimelineEvent]:
        """Overrides and re-routes (supervisors) and transfers (units or supervisors): the
        routing changed after the decision."""
        return [item for item in self.timeline
                if item.event.action in ("override", "reroute", "transfer")]


def routing_audit(case: Case, now: datetime) -> RoutingAudit:
    decisions = list(db.session.scalars(
        select(RoutingDecision).where(RoutingDecision.case_id == case.id)
        .order_by(RoutingDecision.made_at, RoutingDecision.id)))
    referrals = list(db.session.scalars(
        select(Referral).where(Referral.case_id == case.id)
        .options(selectinload(Referral.events)).order_by(Referral.created_at, Referral.id)))
    events = [event for referral in referrals for event in referral.events]
    users = _by_id(User, {d.made_by for d in decisions} | {e.actor_id for e in events})
    units = _by_id(AgencyUnit, {e.from_unit_id for e in events} | {e.to_unit_id for e in events})
    by_referral = {referral.id: referral for referral in referrals}
    timeline = sorted(
        (TimelineEvent(e, by_referral[e.referral_id], users.get(e.actor_id or ""),
                       units.get(e.from_unit_id or ""), units.get(e.to_unit_id or ""))
         for e in events),
        key=lambda item: (item.event.at, item.event.id))
    return RoutingAudit(
        case=case,
        decisions=[_decision_view(d, users.get(d.made_by or "")) for d in decisions],
        referrals=[_referral_view(r, now) for r in referrals],
        timeline=timeline,
        manual=[r for r in referrals if r.manual],
    )


def _by_id(model: Any, ids: Iterable[str | None]) -> dict[str, Any]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(wanted)))}


def _decision_view(row: RoutingDecision, author: User | None) -> DecisionView:
    decision = row.decision or {}
    return DecisionView(row, author, tuple(_proposal(p) for p in decision.get("referrals") or []),
                        _changes(row.referral_changes))


def _proposal(data: Mapping[str, Any]) -> Proposal:
    return Proposal(service=str(data.get("service", "")), agency=str(data.get("agency", "")),
                    mandatory=bool(data.get("mandatory")), rules=tuple(data.get("rules") or ()),
                    ack_due_at=_moment(data.get("ack_due_at")),
                    action_due_at=_moment(data.get("action_due_at")))


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None


def _changes(changes: Mapping[str, Any]) -> tuple[Change, ...]:
    found: list[Change] = []
    for kind in ("remove", "add"):
        for item in changes.get(kind) or []:
            if isinstance(item, Mapping):
                found.append(Change(kind, str(item.get("service", "")), item.get("reason")))
    for service in changes.get("applied_after_correction") or []:
        found.append(Change("applied_after_correction", str(service), None))
    return tuple(found)


def _referral_view(referral: Referral, now: datetime) -> ReferralView:
    acknowledged = referral.acknowledged_at or referral.accepted_at
    acted = referral.first_action_at or (referral.closed_at if referral.status == "completed" else None)
    end = referral.closed_at or now  # a closed referral's clock stopped when it closed
    return ReferralView(referral, Milestone(referral.ack_due_at, acknowledged, end),
                        Milestone(referral.action_due_at, acted, end))


def changed_by_hand(decisions: Sequence[DecisionView]) -> list[tuple[DecisionView, Change]]:
    return [(view, change) for view in decisions for change in view.changes]
