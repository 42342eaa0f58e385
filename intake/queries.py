"""Case queries: scope (the policy's rules in SQL) and search through blind indexes."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, false, select

from core.crypto import normalize_name
from core.encryption import index_candidates
from core.models import User
from core.roles import HELPLINE_ROLES, Role
from core.validation import InvalidIIN, InvalidPhone, normalize_phone, validate_iin
from intake.models import Case, Child, Contact
from referrals.routing import parse_rfc3339

CASE_NUMBER = re.compile(r"^\s*(\d{4})-(\d{1,6})\s*$")


def case_scope(user: User) -> Select[Any]:
    """Cases ``user`` may see, as a query: the SQL twin of ``permissions.can_view_case``."""
    query = select(Case)
    role = Role(user.role)
    if not user.active or role not in HELPLINE_ROLES:
        return query.where(false())  # agency staff reach cases through their referrals only
    if user.region:
        query = query.where((Case.region == user.region) | Case.region.is_(None))
    return query


def search_kind(q: str) -> str:
    if CASE_NUMBER.match(q):
        return "number"
    digits = re.sub(r"\D", "", q)
    if len(digits) == 12 and digits == q.strip():
        try:
            validate_iin(digits)
            return "iin"
        except InvalidIIN:
            pass
    if len(digits) >= 10 and re.fullmatch(r"[\d\s()+\-]+", q.strip()):
        return "phone"
    return "name"


def apply_search(query: Select[Any], q: str) -> tuple[Select[Any], str]:
    """Narrow ``query`` to candidates for ``q``; the caller filters decrypted candidates with
    ``matches`` (a truncated blind index is deliberately ambiguous)."""
    kind = search_kind(q)
    if kind == "number":
        year, serial = CASE_NUMBER.match(q).groups()  # type: ignore[union-attr]
        return query.where(Case.number == f"{year}-{int(serial):06d}"), kind
    if kind == "phone":
        ids = select(Contact.case_id).where(Contact.caller_phone_bidx.in_(index_candidates("phone", q)))
        return query.where(Case.id.in_(ids)), kind
    field = "iin" if kind == "iin" else "child_name"
    column = Child.iin_bidx if kind == "iin" else Child.name_bidx
    children = select(Child.id).where(column.in_(index_candidates(field, q)))
    return query.where(Case.child_id.in_(children)), kind


def matches(case: Case, q: str, kind: str) -> bool:
    if kind == "number":
        return True
    child = case.child
    if kind == "iin":
        return bool(child and child.iin == re.sub(r"\D", "", q))
    if kind == "name":
        return bool(child and child.name and normalize_name(child.name) == normalize_name(q))
    try:
        wanted = normalize_phone(q)
    except InvalidPhone:
        return False
    return any(c.caller_phone == wanted for c in case.contacts)


def period_bound(raw: str, tz: tzinfo, *, end: bool) -> datetime:
    """``from``/``to`` of a case search. A date is a whole day in the deployment's time zone,
    both ends included (``to=2026-11-29`` reaches midnight that night); an RFC 3339 time is
    taken as given. ValueError when it is neither."""
    if "T" in raw:
        return parse_rfc3339(raw)
    day = date.fromisoformat(raw) + timedelta(days=1 if end else 0)
    return datetime.combine(day, time.min, tzinfo=tz)


def apply_filters(query: Select[Any], *, status: str | None, region: str | None,
                  start: datetime | None, end: datetime | None) -> Select[Any]:
    if status:
        query = query.where(Case.status == status)
    if region:
        query = query.where(Case.region == region)
    if start:
        query = query.where(Case.opened_at >= start)
    if end:
        query = query.where(Case.opened_at < end)
    return query
