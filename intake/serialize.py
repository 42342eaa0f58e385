"""Cases and contacts as JSON, showing each viewer only the fields the policy lets them see
(security.md §2). Reading an encrypted attribute decrypts it and is noted for the audit entry,
so fields the viewer may not see are never even decrypted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from core.models import User
from core.permissions import HELPLINE_VIEW, FieldView, field_view, sees_referral_in_full
from intake.models import Case, Child, Contact
from intake.ports import routing
from referrals.routing import format_time


def iso(moment: datetime | None) -> str | None:
    return format_time(moment, current_app.config["SENIM"].tz) if moment else None


def viewer_field_view(user: User, case: Case | None) -> FieldView:
    """What ``user`` sees of ``case``; helpline staff see all of it."""
    consented = any(c.callback_consent for c in case.contacts) if case else False
    view = field_view(user, user.unit, consented)
    return view or FieldView(frozenset(), frozenset(), "none", False)


def child_json(child: Child | None, view: FieldView) -> dict[str, Any] | None:
    if child is None:
        return None
    shown: dict[str, Any] = {"region": child.region, "district": child.district}
    for name in ("name", "iin", "address", "school"):
        if view.shows(f"child.{name}"):
            shown[name] = getattr(child, name)
    if view.shows("child.sex"):
        shown["sex"] = child.sex
    if view.shows("child.age"):
        shown["age"] = child.age
    shown["flags"] = view.risk_flags(child.risk_flags or [])
    return shown


def contact_json(contact: Contact, view: FieldView) -> dict[str, Any]:
    caller: dict[str, Any] = {"callback_consent": contact.callback_consent}
    if view.shows("caller.name") and (view is HELPLINE_VIEW or contact.callback_consent):
        # who called comes with how to reach them: an agency sees neither without consent
        caller.update(relation=contact.caller_relation, name=contact.caller_name,
                      phone=contact.caller_phone)
    body: dict[str, Any] = {
        "id": contact.id, "case_id": contact.case_id, "channel": contact.channel,
        "contact_type": contact.contact_type, "language": contact.language,
        "started_at": iso(contact.started_at), "ended_at": iso(contact.ended_at),
        "received_at": iso(contact.received_at), "caller": caller,
        "child": child_json(contact.child, view),
        "categories": contact.categories, "urgency": contact.urgency,
        "flags": contact.flags, "place": contact.place,
    }
    if view.shows("perpetrator.relation"):
        body["perpetrator"] = {"relation": contact.perpetrator_relation,
                               "lives_with_child": contact.perpetrator_lives_with_child}
    if view.shows("summary"):
        body["summary"] = contact.summary
    return body


def case_events(case: Case, viewer: User) -> list[dict[str, Any]]:
    """The case's own events and the events of the referrals the viewer sees in full (not
    another agency's: security.md §2), in time order (interfaces.md)."""
    timed: list[tuple[datetime, dict[str, Any]]] = [
        (e.at, {"type": e.type, "actor_role": e.actor_role, "referral_id": None,
                "from": None, "to": None, "reason": None}) for e in case.events]
    for referral in case.referrals:
        if not sees_referral_in_full(viewer, referral):
            continue
        timed += [(e.at, {"type": e.action, "actor_role": e.actor_role,
                          "referral_id": referral.id, "from": e.from_status, "to": e.to_status,
                          "reason": e.stated_reason}) for e in referral.events]
    timed.sort(key=lambda item: item[0])
    return [{"at": iso(at), **event} for at, event in timed]


def case_json(case: Case, viewer: User) -> dict[str, Any]:
    view = viewer_field_view(viewer, case)
    return {
        "id": case.id, "number": case.number, "status": case.status, "urgency": case.urgency,
        "lead": case.lead_agency, "region": case.region, "district": case.district,
        "opened_at": iso(case.opened_at), "closed_at": iso(case.closed_at),
        "child": child_json(case.child, view),
        "contacts": [contact_json(c, view) for c in case.contacts],
        "referrals": [routing().referral_json(r, viewer) for r in case.referrals],
        "events": case_events(case, viewer),
    }
