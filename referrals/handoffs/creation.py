"""Referrals are born here: from a submitted case's routing decision, inside the submitting
transaction (intake signals ``case_submitted``; see intake/signals.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core import audit
from core.extensions import db
from core.models import AgencyUnit, User
from intake.models import Case
from intake.ports import routing
from intake.service import Submission
from referrals.handoffs.models import OPEN_STATES, SENT, UNASSIGNED, Referral, ReferralEvent
from referrals.routing import Decision, ReferralProposal


def on_case_submitted(sender: Any, submission: Submission, **_: Any) -> None:
    contact, decision = submission.contact, submission.decision
    if decision is None or contact.case is None or submission.actor is None:
        return
    case, actor, now = contact.case, submission.actor, submission.now or contact.received_at
    already_open = set() if submission.opened_case else _open_services(case)
    decision_id = _decision_id(submission)
    wanted: list[tuple[ReferralProposal, str | None]] = []
    for proposal in decision.referrals:
        removed = submission.changes.removed(proposal.service)
        if removed is not None:
            # the reason is kept with the routing decision; free text stays out of the audit
            audit.record("referral.removed_at_intake", object_type="case", object_id=case.id,
                         actor=actor,
                         details={"service": proposal.service, "mandatory": proposal.mandatory,
                                  "decision": decision_id})
            continue
        if proposal.service in already_open:
            continue  # a follow-up never duplicates a referral that is still open (§3)
        wanted.append((proposal, None))
    for added in submission.changes.add:
        if added.service in already_open:
            continue
        unit = routing().unit_for(added.service, case.region, case.district)
        ack, act = routing().deadlines(added.service, decision.urgency or "P3", now, unit)
        manual = ReferralProposal(agency=added.service.split(".", 1)[0], service=added.service,
                                  mandatory=False, rules=(), ack_due_at=ack, action_due_at=act)
        wanted.append((manual, added.reason))
    units = routing().units_for([p.service for p, _ in wanted], case.region, case.district)
    for proposal, manual_reason in wanted:
        referral = _create(case, proposal, units[proposal.service], actor, now, contact.id,
                           decision_id)
        if manual_reason is not None:
            referral.manual = True
            referral.manual_reason = manual_reason


def on_referrals_requested(sender: Any, case: Case, decision: Decision, decision_row: Any,
                           services: list[str], actor: User, now: datetime, **_: Any) -> None:
    """A correction changed the routing facts and the helpline applied the difference."""
    already_open = _open_services(case)
    wanted = [p for p in decision.referrals
              if p.service in services and p.service not in already_open]
    units = routing().units_for([p.service for p in wanted], case.region, case.district)
    for proposal in wanted:
        _create(case, proposal, units[proposal.service], actor, now, decision_row.contact_id,
                decision_row.id)


def _decision_id(submission: Submission) -> str | None:
    return submission.decision_row.id if submission.decision_row else None


def _open_services(case: Case) -> set[str]:
    return set(db.session.scalars(select(Referral.service).where(
        Referral.case_id == case.id, Referral.status.in_(OPEN_STATES))))


def _create(case: Case, proposal: ReferralProposal, unit: AgencyUnit | None, actor: User,
            now: datetime, contact_id: str | None, decision_id: str | None) -> Referral:
    # Relationships, not only keys: the case's referrals, the unit and the first event are then
    # in memory for the notifications and the response, without reading them back.
    referral = Referral(
        case=case, case_id=case.id, contact_id=contact_id, decision_id=decision_id,
        agency=proposal.agency, service=proposal.service, unit=unit,
        unit_id=unit.id if unit else None,
        mandatory=proposal.mandatory, rules=list(proposal.rules),
        status=SENT if unit else UNASSIGNED, region=case.region, district=case.district,
        created_at=now, ack_due_at=proposal.ack_due_at, action_due_at=proposal.action_due_at,
        manual=False, escalation_level=0,
    )
    db.session.add(referral)
    db.session.add(ReferralEvent(
        referral=referral, referral_id=referral.id, at=now, action="created", actor_id=actor.id,
        actor_role=actor.role, to_status=referral.status, to_unit_id=unit.id if unit else None))
    audit.record("referral.created", object_type="referral", object_id=referral.id, actor=actor,
                 details={"case": case.id, "service": proposal.service,
                          "unit": unit.id if unit else None, "status": referral.status})
    return referral
