"""A referral as JSON (interfaces.md), trimmed to what the viewer may see (security.md §2):
another agency's referral shows only its agency, status and outcome (never its service, unit
or notes)."""

from __future__ import annotations

from typing import Any

from core.models import User
from core.permissions import OTHER_AGENCY_REFERRAL_FIELDS, can_read_note, sees_referral_in_full
from intake.serialize import iso
from referrals.handoffs.models import Referral, ReferralEvent


def event_json(event: ReferralEvent, with_note: bool) -> dict[str, Any]:
    body = {"at": iso(event.at), "action": event.action, "actor_role": event.actor_role,
            "from": event.from_status, "to": event.to_status,
            "reason": event.stated_reason if with_note else event.reason}
    if with_note:
        body["note"] = event.note
    return body


def referral_json(referral: Referral, viewer: User) -> dict[str, Any]:
    if not sees_referral_in_full(viewer, referral):
        trimmed = {"id": referral.id, "case_id": referral.case_id, "agency": referral.agency,
                   "status": referral.status, "outcome": referral.outcome}
        return {name: value for name, value in trimmed.items()
                if name in OTHER_AGENCY_REFERRAL_FIELDS}
    unit = referral.unit
    return {
        "id": referral.id, "case_id": referral.case_id, "agency": referral.agency,
        "service": referral.service,
        "unit": {"id": unit.id, "name": unit.name(viewer.language or "kk")} if unit else None,
        "mandatory": referral.mandatory, "manual": referral.manual, "status": referral.status,
        "ack_due_at": iso(referral.ack_due_at), "action_due_at": iso(referral.action_due_at),
        "escalation_level": referral.escalation_level, "rules": referral.rules,
        "outcome": referral.outcome, "decline_reason": referral.decline_reason,
        "events": [event_json(e, with_note=note_visible_to(e, viewer)) for e in referral.events],
    }


def note_visible_to(event: ReferralEvent, viewer: User) -> bool:
    return can_read_note(viewer, viewer.agency, event.actor_agency)
