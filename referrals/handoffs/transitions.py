"""The handoff state machine of routing.md §8, as data.

``TABLE`` is the normative table: for each action, the states it may start from, who may take
it, the state it leads to and what it does to the clocks. ``apply`` checks a move against the
policy module (who may act at all: 403, or 404 for what the actor may not see) and against the
table (whether the state allows it: 409), then changes the referral and returns the event that
records it. It touches no database and no Flask: the service layer adds, audits and notifies.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core import permissions
from referrals.handoffs.models import (
    ACCEPTED,
    ACKNOWLEDGED,
    COMPLETED,
    DECLINED,
    OPEN_STATES,
    OVERRIDDEN,
    SENT,
    STATES,
    UNASSIGNED,
    Referral,
    ReferralEvent,
)

ACKNOWLEDGE, ACCEPT, DECLINE, TRANSFER = "acknowledge", "accept", "decline", "transfer"
RECORD_ACTION, COMPLETE, REROUTE, OVERRIDE, NOTE = (
    "record_action", "complete", "reroute", "override", "note")
ACTIONS = (ACKNOWLEDGE, ACCEPT, DECLINE, TRANSFER, RECORD_ACTION, COMPLETE, REROUTE, OVERRIDE,
           NOTE)
# The audit trail's name for each action, spelled out so that grep finds every one.
AUDIT_ACTIONS = {
    ACKNOWLEDGE: "referral.acknowledge", ACCEPT: "referral.accept", DECLINE: "referral.decline",
    TRANSFER: "referral.transfer", RECORD_ACTION: "referral.record_action",
    COMPLETE: "referral.complete", REROUTE: "referral.reroute", OVERRIDE: "referral.override",
    NOTE: "referral.note",
}
# Actions a person confirms on a second screen before they happen.
CONFIRMED_ACTIONS = frozenset({DECLINE, TRANSFER, COMPLETE, OVERRIDE})

DECLINE_REASONS = ("wrong_district", "not_competent", "duplicate", "insufficient_information")
ACTION_CODES = ("child_seen", "home_visit", "medical_exam", "investigation_opened",
                "meeting_held", "rehabilitation_plan", "other")
OUTCOMES = ("child_seen", "investigation_opened", "support_provided", "no_concern_found",
            "referred_further", "unable_to_contact", "pregnancy_terminated")
# Outcomes only a health referral records: the termination of a minor's pregnancy is a medical
# fact the monthly reconciliation act reports (WKO plan item 30).
AGENCY_OUTCOMES = {"pregnancy_terminated": "health"}


def outcomes_for(agency: str) -> tuple[str, ...]:
    """The outcomes a referral of ``agency`` may be completed with."""
    return tuple(code for code in OUTCOMES if AGENCY_OUTCOMES.get(code, agency) == agency)
NOTE_MAX_LENGTH = 4000
REASON_MAX_LENGTH = 1000


class Actor(StrEnum):
    """The "who" column: unit staff of the referral's current unit, or helpline roles. The
    policy module decides which column a user acts in (``permissions.actor_kind``)."""

    UNIT_STAFF = permissions.UNIT_STAFF_ACTOR
    SUPERVISOR = permissions.SUPERVISOR_ACTOR
    OPERATOR = permissions.OPERATOR_ACTOR


class ClockEffect(StrEnum):
    ACK_MET = "ack_met"              # acknowledged_at := now, unless already met
    ACCEPTED = "accepted"            # accepted_at := now
    ACK_DUE_AGAIN = "ack_due_again"  # a new unit must acknowledge, by the original deadline
    ACTION_MET = "action_met"        # first_action_at := now, unless already met
    CLOSED = "closed"                # closed_at := now


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    action: str
    who: frozenset[Actor]
    target: str | None  # None: the state is unchanged
    clocks: tuple[ClockEffect, ...] = ()


def _t(sources: Collection[str], action: str, who: Collection[Actor], target: str | None,
       *clocks: ClockEffect) -> Transition:
    return Transition(frozenset(sources), action, frozenset(who), target, clocks)


UNIT, SUP, OPER = Actor.UNIT_STAFF, Actor.SUPERVISOR, Actor.OPERATOR
C = ClockEffect
# routing.md §8 exactly. Override starts from the open states only: a declined referral is
# re-routed first (the child must reach some office), and may be overridden from there.
TABLE: tuple[Transition, ...] = (
    _t({UNASSIGNED, DECLINED}, REROUTE, {SUP}, SENT, C.ACK_DUE_AGAIN),
    _t({SENT}, ACKNOWLEDGE, {UNIT}, ACKNOWLEDGED, C.ACK_MET),
    _t({SENT, ACKNOWLEDGED}, ACCEPT, {UNIT}, ACCEPTED, C.ACK_MET, C.ACCEPTED),
    _t({SENT, ACKNOWLEDGED}, DECLINE, {UNIT}, DECLINED, C.ACK_MET),
    _t({SENT, ACKNOWLEDGED, ACCEPTED}, TRANSFER, {UNIT, SUP}, SENT, C.ACK_DUE_AGAIN),
    _t({ACCEPTED}, RECORD_ACTION, {UNIT}, ACCEPTED, C.ACTION_MET),
    _t({ACCEPTED}, COMPLETE, {UNIT}, COMPLETED, C.ACTION_MET, C.CLOSED),
    _t(OPEN_STATES, OVERRIDE, {SUP}, OVERRIDDEN, C.CLOSED),
    _t(STATES, NOTE, {UNIT, OPER, SUP}, None),
)
BY_ACTION = {t.action: t for t in TABLE}


# ---- refusals ----------------------------------------------------------------------------------


class Refused(Exception):
    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotAllowed(Refused):
    """The actor may not do this: 404 when they may not even see the referral, else 403."""

    def __init__(self, message: str, *, hidden: bool = False) -> None:
        super().__init__(message)
        self.hidden = hidden
        self.status = 404 if hidden else 403


class TransitionRefused(Refused):
    """The referral's state does not allow the action (409)."""

    status = 409


class InvalidParameters(Refused):
    """A code, unit or text the action needs is missing or wrong (422), named by field."""

    status = 422


# ---- what apply needs to know about its arguments ----------------------------------------------


class UserLike(permissions.UserLike, Protocol):
    """The policy's user, plus the agency that signs the events it writes."""

    @property
    def agency(self) -> str | None: ...


class UnitLike(permissions.UnitLike, Protocol):
    """The policy's unit, plus what a transfer checks about the receiving one."""

    @property
    def active(self) -> bool: ...
    @property
    def services(self) -> list[str]: ...


@dataclass(frozen=True)
class Params:
    """Everything an action may carry; each action reads what it needs."""

    code: str | None = None          # decline reason, action code or outcome
    note: str | None = None
    reason: str | None = None        # the override's free-text justification
    unit: UnitLike | None = None     # transfer and reroute: the receiving unit
    service: str | None = None       # reroute to another service
    known_services: frozenset[str] = field(default_factory=frozenset)


def allowed_actions(user: UserLike, referral: Referral) -> list[str]:
    """The actions the user could take now (the page shows these forms and no others)."""
    return [t.action for t in TABLE
            if referral.status in t.sources and _may(user, referral, t)]


def _may(user: UserLike, referral: Referral, transition: Transition) -> bool:
    return permissions.can_transition(user, referral, referral.case, transition.who)


# ---- apply --------------------------------------------------------------------------------------


def check(referral: Referral, action: str, actor: UserLike) -> Transition:
    """Whether ``actor`` may take ``action`` now: 404, then 403 (the policy), then 409 (the
    table). Changes nothing."""
    transition = BY_ACTION.get(action)
    if transition is None:
        raise NotAllowed(f"unknown action {action!r}", hidden=True)
    if not permissions.can_view_referral(actor, referral, referral.case):
        raise NotAllowed("not found", hidden=True)
    if not _may(actor, referral, transition):
        raise NotAllowed(f"your role may not {action} this referral")
    if referral.status not in transition.sources:
        raise TransitionRefused(f"a referral that is {referral.status} cannot be {_past(action)}")
    return transition


def apply(referral: Referral, action: str, actor: UserLike, now: datetime,
          params: Params | None = None) -> ReferralEvent:
    """Move ``referral`` by ``action`` and return the (unsaved) event recording the move."""
    params = params or Params()
    transition = check(referral, action, actor)
    _check_params(action, referral, params)
    event = _event(referral, action, actor, now, params)
    _move(referral, transition, now, params)
    event.to_status, event.to_unit_id = referral.status, referral.unit_id
    return event


def _past(action: str) -> str:
    return {ACKNOWLEDGE: "acknowledged", ACCEPT: "accepted", DECLINE: "declined",
            TRANSFER: "transferred", RECORD_ACTION: "acted on", COMPLETE: "completed",
            REROUTE: "re-routed", OVERRIDE: "overridden", NOTE: "annotated"}[action]


def _event(referral: Referral, action: str, actor: UserLike, now: datetime,
           params: Params) -> ReferralEvent:
    details: dict[str, str] = {}
    if action == REROUTE and params.service and params.service != referral.service:
        details = {"from_service": referral.service, "to_service": params.service}
    note = params.reason if action == OVERRIDE else params.note
    return ReferralEvent(
        referral_id=referral.id, at=now, action=action, actor_id=actor.id,
        actor_role=actor.role, actor_agency=actor.agency, from_status=referral.status,
        from_unit_id=referral.unit_id, reason=params.code if action in _CODED else None,
        note=(note or "").strip() or None, details=details)


_CODED = {DECLINE: DECLINE_REASONS, RECORD_ACTION: ACTION_CODES, COMPLETE: OUTCOMES}
_CODE_FIELDS = {DECLINE: "reason", RECORD_ACTION: "action", COMPLETE: "outcome"}


def _check_params(action: str, referral: Referral, params: Params) -> None:
    errors: dict[str, str] = {}
    if action in _CODED and params.code not in _CODED[action]:
        errors[_CODE_FIELDS[action]] = "must be one of: " + ", ".join(_CODED[action])
    elif action == COMPLETE and params.code not in outcomes_for(referral.agency):
        errors["outcome"] = "must be one of: " + ", ".join(outcomes_for(referral.agency))
    if params.note is not None and len(params.note) > NOTE_MAX_LENGTH:
        errors["note"] = f"at most {NOTE_MAX_LENGTH} characters"
    if action == NOTE and not (params.note or "").strip():
        errors["note"] = "required"
    if action == OVERRIDE and not (params.reason or "").strip():
        errors["reason"] = "required"
    elif action == OVERRIDE and len(params.reason or "") > REASON_MAX_LENGTH:
        errors["reason"] = f"at most {REASON_MAX_LENGTH} characters"
    if action == TRANSFER:
        errors.update(_transfer_problems(referral, params.unit))
    if action == REROUTE:
        errors.update(_reroute_problems(referral, params))
    if errors:
        raise InvalidParameters("some fields are invalid", errors)


def _transfer_problems(referral: Referral, unit: UnitLike | None) -> dict[str, str]:
    """routing.md §8: a transfer goes to another active unit of the same agency."""
    if unit is None or not unit.active:
        return {"unit_id": "no such active unit"}
    if unit.agency != referral.agency:
        return {"unit_id": "a transfer stays within the agency"}
    if unit.id == referral.unit_id:
        return {"unit_id": "the referral is already with this unit"}
    return {}


def _reroute_problems(referral: Referral, params: Params) -> dict[str, str]:
    """Any active unit offering the service; or another service, with a unit offering it."""
    service = params.service or referral.service
    if params.known_services and service not in params.known_services:
        return {"service": "unknown service"}
    unit = params.unit
    if unit is None or not unit.active:
        return {"unit_id": "no such active unit"}
    if service not in unit.services or unit.agency != service.split(".", 1)[0]:
        return {"unit_id": "this unit does not offer the service"}
    return {}


def _move(referral: Referral, transition: Transition, now: datetime, params: Params) -> None:
    action = transition.action
    if transition.target is not None:
        referral.status = transition.target
    for effect in transition.clocks:
        _clock(referral, effect, now)
    if action == DECLINE:
        referral.decline_reason = params.code
    elif action == COMPLETE:
        referral.outcome = params.code
    elif action in (TRANSFER, REROUTE) and params.unit is not None:
        _hand_to(referral, params.unit, params.service if action == REROUTE else None)


def _clock(referral: Referral, effect: ClockEffect, now: datetime) -> None:
    # Deadlines stored on the referral are never recomputed: only the "met" moments move.
    if effect is ClockEffect.ACK_MET and referral.acknowledged_at is None:
        referral.acknowledged_at = now
    elif effect is ClockEffect.ACCEPTED:
        referral.accepted_at = now
    elif effect is ClockEffect.ACK_DUE_AGAIN:
        referral.acknowledged_at = None
        referral.accepted_at = None
    elif effect is ClockEffect.ACTION_MET and referral.first_action_at is None:
        referral.first_action_at = now
    elif effect is ClockEffect.CLOSED:
        referral.closed_at = now


def _hand_to(referral: Referral, unit: UnitLike, service: str | None) -> None:
    referral.unit_id = unit.id
    referral.unit = unit  # type: ignore[assignment]
    referral.decline_reason = None
    if service and service != referral.service:
        referral.service = service
        referral.agency = service.split(".", 1)[0]
