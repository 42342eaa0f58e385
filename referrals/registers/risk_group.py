"""The regional risk-group register (WKO plan item 8): children with risk-group flags, counted
per flag and per district, and listed, within what the policy lets each reader see.

Counting never decrypts: ``GROUP BY (district, key, mask)`` returns a few hundred distinct
masks at most, decoded here with the keyed bits (core/crypto/flag_bits.py). Only the page of
children shown is decrypted, and only identities for readers who may see them.

A child is counted once per child record: intake makes one record per case (a follow-up keeps
the case's child), so the same child in two unrelated cases is counted twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from core.api import decode_cursor, encode_cursor
from core.extensions import db
from core.models import User
from core.permissions import RegisterView
from intake.models import RISK_FLAGS, Case, Child, Correction, RoutingDecision

FLAGS = Child.__dict__["risk_flags"]  # the EncryptedCodes descriptor (its query side)


@dataclass(frozen=True)
class Counts:
    per_flag: dict[str, int]                 # every visible flag, zero included
    per_district: dict[str | None, int]      # children with at least one visible flag
    total: int


@dataclass(frozen=True)
class Entry:
    child: Child
    flags: list[str]
    case_id: str | None
    case_number: str | None


def visible_flags(view: RegisterView) -> list[str]:
    return view.flags(RISK_FLAGS)


def _scoped(query: Select[Any], region: str, district: str | None) -> Select[Any]:
    query = query.where(Child.region == region, Child.risk_flags_mask != 0)
    return query.where(Child.district == district) if district else query


def counts(view: RegisterView, region: str, district: str | None,
           flags: Sequence[str] = ()) -> Counts:
    """Children per visible flag and per district; with ``flags``, only children holding one
    of them (the same filter as the list)."""
    query: Select[Any] = select(  # type: ignore[assignment]
        Child.district, Child.risk_flags_key, Child.risk_flags_mask,
        func.count())
    query = _scoped(query, region, district)
    query = query.group_by(Child.district, Child.risk_flags_key, Child.risk_flags_mask)
    wanted = set(flags)
    per_flag: Counter[str] = Counter({flag: 0 for flag in visible_flags(view)})
    per_district: Counter[str | None] = Counter()
    decoded: dict[tuple[int | None, int], list[str]] = {}  # a mask recurs in every district
    for place, key_id, mask, number in db.session.execute(query):
        held = decoded.get((key_id, mask))
        if held is None:
            held = decoded[(key_id, mask)] = view.flags(FLAGS.decode_mask(key_id, mask))
        if not held or (wanted and wanted.isdisjoint(held)):
            continue
        per_flag.update({flag: number for flag in held})
        per_district[place] += number
    return Counts(dict(per_flag), dict(per_district), sum(per_district.values()))


PAGE_KEYS = (Child.updated_at, Child.id)


def entries(view: RegisterView, region: str, district: str | None, flags: Sequence[str],
            limit: int, cursor: str | None) -> tuple[list[Entry], str | None]:
    """One page of children, newest first (keyset pagination: stable while rows are added)."""
    wanted = [flag for flag in (flags or visible_flags(view)) if flag not in view.hidden_flags]
    query = _scoped(select(Child), region, district).where(FLAGS.mask_filter(Child, wanted))
    if cursor:
        at, child_id = decode_cursor(cursor, 2)
        moment = datetime.fromisoformat(at)
        query = query.where(or_(Child.updated_at < moment,
                                and_(Child.updated_at == moment, Child.id < child_id)))
    rows = list(db.session.scalars(
        query.order_by(Child.updated_at.desc(), Child.id.desc()).limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    cases = _latest_cases([child.id for child in page])
    found = [Entry(child, view.flags(child.risk_flags), *cases.get(child.id, (None, None)))
             for child in page]
    next_cursor = encode_cursor([page[-1].updated_at, page[-1].id]) if more and page else None
    return found, next_cursor


def _latest_cases(child_ids: list[str]) -> dict[str, tuple[str, str]]:
    if not child_ids:
        return {}
    rows = db.session.execute(select(Case.child_id, Case.id, Case.number)
                              .where(Case.child_id.in_(child_ids)).order_by(Case.opened_at))
    return {str(child_id): (case_id, number) for child_id, case_id, number in rows}


def child_in_register(view: RegisterView, child_id: str) -> Child | None:
    """The child, if this reader may see them in the register (else None: a 404)."""
    child = db.session.get(Child, child_id)
    if child is None or child.region is None or not view.items:
        return None
    if view.district and child.district != view.district:
        return None
    return child if view.flags(child.risk_flags) else None


@dataclass(frozen=True)
class FlagChange:
    at: datetime
    kind: str  # "recorded" (at intake or a follow-up) or "corrected"
    added: list[str]
    removed: list[str]
    actor_role: str | None


def history(view: RegisterView, child: Child) -> list[FlagChange]:
    """How the child's flags came to be: as recorded with each routed contact (the routing
    facts) and as changed by each correction, showing only the flags this reader may see."""
    case_ids = list(db.session.scalars(select(Case.id).where(Case.child_id == child.id)))
    changes: list[FlagChange] = []
    held: list[str] = []
    decisions = db.session.execute(
        select(RoutingDecision.made_at, RoutingDecision.facts)
        .where(RoutingDecision.case_id.in_(case_ids)).order_by(RoutingDecision.made_at))
    for at, facts in decisions:
        given = view.flags(((facts or {}).get("child") or {}).get("flags") or [])
        added = [flag for flag in given if flag not in held]
        if added:
            changes.append(FlagChange(at, "recorded", added, [], None))
            held += added
    corrections = db.session.scalars(select(Correction).where(Correction.case_id.in_(case_ids))
                                     .order_by(Correction.at, Correction.version))
    for correction in corrections:
        if "child.flags" not in (correction.changed_fields or []):
            continue
        change = json.loads(correction.changes or "{}").get("child.flags") or {}
        old, new = view.flags(change.get("old") or []), view.flags(change.get("new") or [])
        added = [flag for flag in new if flag not in old]
        removed = [flag for flag in old if flag not in new]
        if added or removed:
            changes.append(FlagChange(correction.at, "corrected", added, removed,
                                      _author_role(correction.author_id)))
    return sorted(changes, key=lambda change: change.at)


def _author_role(user_id: str) -> str | None:
    user = db.session.get(User, user_id)
    return user.role if user else None
