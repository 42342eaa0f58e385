"""Corrections of a submitted case (issue: "each correction is a new version").

A correction never edits history silently: it stores which fields changed with their old and
new values (encrypted), the author, the time and the reason. When the routing facts change,
the new decision is shown beside the referrals the case already has; applying it creates the
missing referrals and withdraws nothing (withdrawing is a supervisor's override, per referral).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from core import audit
from core.extensions import db
from core.models import User
from core.validation import InvalidIIN, validate_iin
from intake.models import Case, CaseEvent, Contact, Correction, RoutingDecision
from intake.ports import routing
from intake.service import facts_of
from intake.signals import referrals_requested
from referrals.routing import Decision, FactsError

CHILD_FIELDS = ("name", "iin", "sex", "age", "region", "district", "address", "school", "flags")
CONTACT_FIELDS = ("categories", "urgency", "perpetrator", "flags", "place", "summary")
# Fields whose change can change the routing decision (routing.md §2).
ROUTING_FIELDS = frozenset({"child.age", "child.region", "child.district", "child.flags",
                            "categories", "urgency", "perpetrator", "flags", "place"})


class CorrectionInvalid(ValueError):
    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = dict(fields)


@dataclass(frozen=True)
class RoutingDifference:
    decision: Decision
    missing: tuple[str, ...]  # proposed services with no open or completed referral on the case


def latest_contact(case: Case) -> Contact | None:
    routed = [c for c in case.contacts if c.contact_type in ("child_self", "third_party", "follow_up")]
    return routed[-1] if routed else None


def current_values(case: Case) -> dict[str, Any]:
    """The case as a contact dictionary (the shape the form and the API use)."""
    child = case.child
    contact = latest_contact(case)
    values: dict[str, Any] = {"contact_type": contact.contact_type if contact else "third_party"}
    values["child"] = {name: (child.risk_flags if name == "flags" else getattr(child, name))
                       for name in CHILD_FIELDS} if child else {}
    if contact is not None:
        values.update({"categories": list(contact.categories), "urgency": contact.urgency,
                       "perpetrator": {"relation": contact.perpetrator_relation},
                       "flags": list(contact.flags), "place": contact.place,
                       "summary": contact.summary})
    return values


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name in CHILD_FIELDS:
        before, after = (old.get("child") or {}).get(name), (new.get("child") or {}).get(name)
        if after != before:
            changes[f"child.{name}"] = (before, after)
    for name in CONTACT_FIELDS:
        if name in new and new.get(name) != old.get(name):
            changes[name] = (old.get(name), new.get(name))
    return changes


def _check(new: Mapping[str, Any], now: datetime) -> Decision:
    errors: dict[str, str] = {}
    iin = (new.get("child") or {}).get("iin")
    if iin:
        try:
            validate_iin(iin)
        except InvalidIIN as error:
            errors["child.iin"] = str(error)
    try:
        decision = routing().decide(facts_of(new, now), now)
    except FactsError as error:
        errors.update(error.fields)
        raise CorrectionInvalid(errors) from None
    if errors:
        raise CorrectionInvalid(errors)
    return decision


def correct(case: Case, new: Mapping[str, Any], reason: str, actor: User,
            now: datetime) -> tuple[Correction | None, RoutingDifference | None]:
    """Apply a correction; returns it and, when routing facts changed, the new decision."""
    if not reason.strip():
        raise CorrectionInvalid({"reason": "a correction needs a reason"})
    old = current_values(case)
    merged = {**old, **{k: v for k, v in new.items() if k != "child"},
              "child": {**(old.get("child") or {}), **(new.get("child") or {})}}
    changes = _changed(old, merged)
    if not changes:
        return None, None
    decision = _check(merged, now)
    version = (db.session.scalar(select(func.max(Correction.version))
                                 .where(Correction.case_id == case.id)) or 0) + 1
    contact = latest_contact(case)
    correction = Correction(case_id=case.id, contact_id=contact.id if contact else None,
                            version=version, at=now, author_id=actor.id,
                            changed_fields=sorted(changes))
    correction.reason = reason.strip()
    correction.changes = json.dumps({k: {"old": o, "new": n} for k, (o, n) in changes.items()},
                                    ensure_ascii=False, default=str)
    db.session.add(correction)
    _apply(case, merged)
    event = CaseEvent(case_id=case.id, at=now, type="corrected", actor_id=actor.id, actor_role=actor.role)
    event.reason = reason.strip()
    db.session.add(event)
    audit.record("case.corrected", object_type="case", object_id=case.id, actor=actor,
                 fields=sorted(changes), details={"version": version})
    difference = None
    if ROUTING_FIELDS & set(changes):
        difference = RoutingDifference(decision, _missing(case, decision))
    return correction, difference


def _apply(case: Case, values: Mapping[str, Any]) -> None:
    child = case.child
    given = values.get("child") or {}
    if child is not None:
        for name in ("name", "iin", "address", "school"):
            setattr(child, name, given.get(name) or None)
        child.sex = given.get("sex") or "unknown"
        child.age = given.get("age")
        child.region, child.district = given.get("region"), given.get("district")
        child.risk_flags = list(given.get("flags") or [])
        case.region, case.district = child.region, child.district
    contact = latest_contact(case)
    if contact is not None:
        contact.categories = list(values.get("categories") or [])
        contact.urgency = values.get("urgency")
        contact.perpetrator_relation = (values.get("perpetrator") or {}).get("relation")
        contact.flags = list(values.get("flags") or [])
        contact.place = values.get("place")
        contact.summary = values.get("summary") or None


def _missing(case: Case, decision: Decision) -> tuple[str, ...]:
    present = {r.service for r in case.referrals if r.status not in ("declined", "overridden")}
    return tuple(p.service for p in decision.referrals if p.service not in present)


def apply_difference(case: Case, services: list[str], actor: User, now: datetime) -> int:
    """Create the referrals the corrected decision adds (only those still missing)."""
    values = current_values(case)
    decision = routing().decide(facts_of(values, now), now)
    wanted = [s for s in _missing(case, decision) if s in services]
    if not wanted:
        return 0
    row = RoutingDecision(contact_id=latest_contact(case).id, case_id=case.id,  # type: ignore[union-attr]
                          algorithm_version=decision.algorithm_version,
                          facts=facts_of(values, now), decision=routing().decision_json(decision),
                          changes={"applied_after_correction": wanted}, made_at=now, made_by=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record("routing.decided", object_type="routing_decision", object_id=row.id, actor=actor,
                 details={"case": case.id, "version": decision.algorithm_version, "correction": True})
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    referrals_requested.send(app, case=case, decision=decision,
                             decision_row=row, services=wanted, actor=actor, now=now)
    if decision.urgency and (case.urgency is None or decision.urgency < case.urgency):
        case.urgency = decision.urgency
    return len(wanted)


def history(case: Case) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Correction).where(Correction.case_id == case.id)
                              .order_by(Correction.version))
    return [{"version": c.version, "at": c.at, "author_id": c.author_id, "reason": c.reason,
             "changes": json.loads(c.changes or "{}")} for c in rows]
