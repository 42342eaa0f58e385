"""The handoff services: ``perform``, one entry point for every action of routing.md §8, and
closing and reopening a case. Each works in the caller's transaction: lock the referral, move it
through the state machine, add the event, audit, notify; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core import audit, permissions
from core.access import note_denied
from core.audit import DetailValue
from core.clock import utcnow
from core.extensions import db
from core.models import AgencyUnit, UnitService, User
from core.models.break_glass import grants_for
from intake.models import CASE_CLOSED, CASE_OPEN, Case, CaseEvent
from intake.ports import routing
from referrals.handoffs import notify, transitions
from referrals.handoffs.models import COMPLETED, OVERRIDDEN, Referral
from referrals.handoffs.transitions import (
    COMPLETE,
    DECLINE,
    OVERRIDE,
    RECORD_ACTION,
    InvalidParameters,
    NotAllowed,
    Params,
    Refused,
    TransitionRefused,
)

CLOSE_TEXT_MAX_LENGTH = 4000


@dataclass(frozen=True)
class ActionInput:
    """An action's parameters as they arrive from a form or a JSON body (not yet checked)."""

    code: str | None = None
    note: str | None = None
    reason: str | None = None
    unit_id: str | None = None
    service: str | None = None

    @classmethod
    def from_mapping(cls, action: str, data: Any) -> ActionInput:
        """The API's and the forms' field names: ``reason`` is the decline code, but the
        override's text; ``action`` and ``outcome`` carry the other codes."""
        def get(name: str) -> str | None:
            value = data.get(name)
            return str(value) if value not in (None, "") else None

        code = {DECLINE: get("reason"), RECORD_ACTION: get("action"),
                COMPLETE: get("outcome")}.get(action)
        return cls(code=code, note=get("note"), reason=get("reason") if action == OVERRIDE else None,
                   unit_id=get("unit_id"), service=get("service"))


# ---- loading ----------------------------------------------------------------------------------


def visible_referral(referral_id: str, user: User, *, lock: bool = False) -> Referral:
    """The referral, or ``NotAllowed(hidden)`` (404) for absent and not yours alike."""
    query = select(Referral).where(Referral.id == referral_id)
    if lock:
        # Two people acting at once (or a sweep) queue here; FOR UPDATE OF keeps the lock on
        # the referral row alone (its unit is joined in).
        query = query.with_for_update(of=Referral)
    referral = db.session.scalar(query)
    if referral is None:
        raise NotAllowed("not found", hidden=True)
    if not _may_read(user, referral):
        note_denied("referral", referral.id)
        raise NotAllowed("not found", hidden=True)
    return referral


def _may_read(user: User, referral: Referral) -> bool:
    """Reading honours a supervisor's break-the-glass grant on the case; acting never does
    (``transitions`` asks without grants)."""
    now = utcnow()
    grants = grants_for(user, referral.case, now)
    return permissions.can_view_referral(user, referral, referral.case, grants, now)


def _unit(unit_id: str | None) -> AgencyUnit | None:
    return db.session.get(AgencyUnit, unit_id) if unit_id else None


# ---- the actions ----------------------------------------------------------------------------------


def perform(referral_id: str, action: str, actor: User, data: ActionInput,
            now: datetime | None = None) -> Referral:
    """Any action by name (the API's and the pages' single entry point)."""
    if action not in transitions.BY_ACTION:
        raise NotAllowed(f"unknown action {action!r}", hidden=True)
    now = now or utcnow()
    referral = visible_referral(referral_id, actor, lock=True)
    params = Params(code=data.code, note=data.note, reason=data.reason, unit=_unit(data.unit_id),
                    service=data.service,
                    known_services=frozenset(routing().algorithm().services))
    event = transitions.apply(referral, action, actor, now, params)
    db.session.add(event)
    db.session.flush()
    # an override's free-text reason may name people: it stays encrypted on the event, and
    # the append-only audit entry (never anonymised) names that event instead
    audit.record(transitions.AUDIT_ACTIONS[action], object_type="referral", object_id=referral.id,
                 actor=actor, details=_audit_details(referral, event))
    notify.after_transition(referral, event, actor)
    return referral


def _audit_details(referral: Referral, event: Any) -> dict[str, DetailValue]:
    details: dict[str, DetailValue] = {
        "case": referral.case_id, "from": event.from_status, "to": event.to_status}
    if event.reason:
        details["code"] = event.reason
    if event.from_unit_id != event.to_unit_id:
        details.update(from_unit=event.from_unit_id, to_unit=event.to_unit_id)
    if event.details.get("to_service"):
        details.update(from_service=event.details["from_service"],
                       to_service=event.details["to_service"])
    if event.note:
        details["note"] = True  # that a note (or an override's reason) was written; never its text
        details["event"] = event.id
    return details


# ---- choices for the forms ------------------------------------------------------------------------


def transfer_units(referral: Referral) -> list[AgencyUnit]:
    """Active units of the same agency, other than the current one."""
    return list(db.session.scalars(select(AgencyUnit).where(
        AgencyUnit.agency == referral.agency, AgencyUnit.active.is_(True),
        AgencyUnit.id != (referral.unit_id or "")).order_by(
        AgencyUnit.region, AgencyUnit.district.is_not(None), AgencyUnit.district)))


def reroute_units(service: str, region: str | None) -> list[AgencyUnit]:
    """Active units offering ``service``, the child's region first."""
    units = list(db.session.scalars(select(AgencyUnit).join(
        UnitService, UnitService.unit_id == AgencyUnit.id).where(
        UnitService.service == service, AgencyUnit.active.is_(True)).order_by(
        AgencyUnit.region, AgencyUnit.district.is_not(None), AgencyUnit.district)))
    return sorted(units, key=lambda u: u.region != region)


def suggested_unit(referral: Referral, service: str | None = None) -> AgencyUnit | None:
    """What the directory would choose for the child's area (routing.md §5)."""
    return routing().unit_for(service or referral.service, referral.region, referral.district)


# ---- closing the loop: the case -------------------------------------------------------------


class CaseNotClosable(TransitionRefused):
    def __init__(self, blocking: list[Referral]) -> None:
        super().__init__("every mandatory referral must be completed or overridden first")
        self.blocking = blocking


def blocking_referrals(case: Case) -> list[Referral]:
    """Mandatory referrals that are neither completed nor overridden."""
    return [r for r in case.referrals if r.mandatory and r.status not in (COMPLETED, OVERRIDDEN)]


def close_case(case: Case, actor: User, summary: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    if not permissions.can_edit_case(actor, case):
        raise NotAllowed("only the helpline closes a case",
                         hidden=not permissions.can_view_case(actor, case))
    if case.status != CASE_OPEN:
        raise TransitionRefused("the case is not open")
    _require_text(summary, "summary")
    blocking = blocking_referrals(case)
    if blocking:
        raise CaseNotClosable(blocking)
    case.status, case.closed_at, case.close_summary = CASE_CLOSED, now, summary.strip()
    db.session.add(CaseEvent(case_id=case.id, at=now, type="closed", actor_id=actor.id,
                             actor_role=actor.role))
    audit.record("case.closed", object_type="case", object_id=case.id, actor=actor,
                 details={"referrals": len(case.referrals)})


def reopen_case(case: Case, actor: User, reason: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    if not permissions.can_reopen_case(actor, case):
        raise NotAllowed("only a supervisor reopens a case",
                         hidden=not permissions.can_view_case(actor, case))
    if case.status != CASE_CLOSED:
        raise TransitionRefused("the case is not closed")
    _require_text(reason, "reason")
    case.status, case.closed_at = CASE_OPEN, None
    event = CaseEvent(case_id=case.id, at=now, type="reopened", actor_id=actor.id,
                      actor_role=actor.role, reason=reason.strip())
    db.session.add(event)
    db.session.flush()
    # the reason stays encrypted on the case event; the audit entry points to it
    audit.record("case.reopened", object_type="case", object_id=case.id, actor=actor,
                 details={"event": event.id})


def _require_text(value: str | None, name: str) -> None:
    text = (value or "").strip()
    if not text:
        raise InvalidParameters(f"{name} is required", {name: "required"})
    if len(text) > CLOSE_TEXT_MAX_LENGTH:
        raise InvalidParameters(f"{name} is too long", {name: f"at most {CLOSE_TEXT_MAX_LENGTH} characters"})


__all__ = ["ActionInput", "CaseNotClosable", "InvalidParameters", "NotAllowed", "Refused",
           "TransitionRefused", "close_case", "perform", "reopen_case"]
