"""The monthly reconciliation act (WKO plan item 30): health, police and education compare
their lists of pregnancies of minor girls and facts of sexual abuse, and each signs.

The act of a region and month lists every case in the ``reconciliation`` register (any routing
decision of the case named it) submitted that month in the deployment's time zone, with its
health, police and education referrals and the discrepancies of interfaces.md:

- ``no_police_referral``: a sexual-violence case, or a pregnancy of a girl under 16 or of
  unknown age, without a police referral (an overridden one does not count);
- ``referral_overdue``: a referral of the three agencies awaiting acknowledgement past its
  deadline, or open without an action past its action deadline (the dashboard's "overdue");
- ``referral_declined_not_rerouted``: one still declined (a re-route makes it ``sent``);
- ``referral_not_completed``: one still open.

Everything here is codes, case numbers and statuses: no personal field is decrypted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import String, and_, cast, exists, or_, select
from sqlalchemy import case as when

from core.extensions import db
from core.permissions import RECONCILING_AGENCIES
from intake.models import Case, Child, Contact, RoutingDecision
from referrals.handoffs.models import DECLINED, OPEN_STATES, OVERRIDDEN, Referral
from referrals.registers.models import ReconciliationSignoff

REGISTER = "reconciliation"
SEXUAL_VIOLENCE = frozenset({"violence.sexual", "violence.sexual_exploitation",
                             "violence.online_sexual_abuse"})
PREGNANCY_CATEGORY = "physical_health.pregnancy"
POLICE_AGE_LIMIT = 16  # interfaces.md: a pregnancy under 16 (or of unknown age) needs police
DISCREPANCIES = ("no_police_referral", "referral_overdue", "referral_declined_not_rerouted",
                 "referral_not_completed")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class BadMonth(ValueError):
    pass


def parse_month(text: str | None) -> date:
    """The first day of a ``YYYY-MM`` month (years 2000-2099)."""
    found = MONTH.match(text or "")
    if not found or not 2000 <= int(found.group(1)) <= 2099:
        raise BadMonth("must be a month written YYYY-MM")
    return date(int(found.group(1)), int(found.group(2)), 1)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_bounds(first: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The month as an interval of instants, in the deployment's time zone."""
    start = datetime.combine(first, time(0), tz)
    return start, datetime.combine(next_month(first), time(0), tz)


def month_is_over(first: date, now: datetime, tz: tzinfo) -> bool:
    return now >= month_bounds(first, tz)[1]


@dataclass
class ActReferral:
    id: str
    agency: str
    service: str
    status: str
    outcome: str | None
    overdue: bool

    def json(self) -> dict[str, Any]:
        return {"service": self.service, "status": self.status, "outcome": self.outcome}


@dataclass
class ActCase:
    case_id: str
    number: str
    submitted_at: datetime
    categories: list[str]
    age: int | None
    referrals: dict[str, list[ActReferral]]
    discrepancies: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "number": self.number,
                "submitted_at": self.submitted_at.isoformat(), "categories": self.categories,
                "referrals": {agency: [r.json() for r in self.referrals[agency]]
                              for agency in RECONCILING_AGENCIES},
                "discrepancies": self.discrepancies}


@dataclass
class Signoff:
    agency: str
    by: str
    user_id: str
    at: datetime
    changes: list[dict[str, str]]  # what changed in the act since this signature

    @property
    def amended(self) -> bool:
        return bool(self.changes)


@dataclass
class Act:
    region: str
    month: str
    cases: list[ActCase]
    signoffs: list[Signoff]

    @property
    def digest(self) -> str:
        return digest_of(self.content())

    def content(self) -> list[dict[str, Any]]:
        """What is signed: the cases with their referrals and discrepancies."""
        return [case.json() for case in self.cases]

    def discrepancy_count(self) -> int:
        return sum(1 for case in self.cases if case.discrepancies)

    def signoff(self, agency: str) -> Signoff | None:
        return next((s for s in self.signoffs if s.agency == agency), None)


def digest_of(content: list[dict[str, Any]]) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build(region: str, first: date, tz: tzinfo, now: datetime) -> Act:
    start, end = month_bounds(first, tz)
    cases, pregnant = _cases(region, start, end, tz)
    by_case = {case.case_id: case for case in cases}
    _add_categories(by_case)
    _add_referrals(by_case, now)
    for case in cases:
        case.discrepancies = discrepancies(case, pregnant=case.case_id in pregnant)
    act = Act(region, first.strftime("%Y-%m"), cases, [])
    act.signoffs = signoffs(region, act.month, act.content())
    return act


def in_register() -> Any:
    """Cases a routing decision put in the reconciliation register. Matched on the JSON text
    of the decision's ``registers`` list, which both dialects write as ``"reconciliation"``
    with its quotes (so ``risk_group`` or a longer code never matches)."""
    registers = cast(RoutingDecision.decision["registers"], String)
    return exists().where(RoutingDecision.case_id == Case.id,
                          registers.like(f'%"{REGISTER}"%'))


def _cases(region: str, start: datetime, end: datetime,
           tz: tzinfo) -> tuple[list[ActCase], set[str]]:
    """The month's register cases in one statement (through ``ix_cases_region_opened``), with
    the child's age and whether the child carries the ``pregnancy`` flag, read from the keyed
    mask: nothing is decrypted."""
    rows = db.session.execute(
        select(Case.id, Case.number, Case.opened_at, Child.age, Child.risk_flags_key,
               Child.risk_flags_mask)
        .outerjoin(Child, Child.id == Case.child_id)
        .where(Case.region == region, Case.opened_at >= start, Case.opened_at < end,
               in_register())
        .order_by(Case.opened_at, Case.number))
    flags = Child.__dict__["risk_flags"]
    cases, pregnant = [], set()
    for case_id, number, opened, age, key_id, mask in rows:
        cases.append(ActCase(case_id, number, opened.astimezone(tz), [], age,
                             {agency: [] for agency in RECONCILING_AGENCIES}))
        if "pregnancy" in flags.decode_mask(key_id, mask or 0):
            pregnant.add(case_id)
    return cases, pregnant


def _add_categories(by_case: dict[str, ActCase]) -> None:
    if not by_case:
        return
    rows = db.session.execute(select(Contact.case_id, Contact.categories)
                              .where(Contact.case_id.in_(list(by_case)))
                              .order_by(Contact.received_at))
    for case_id, categories in rows:
        case = by_case[str(case_id)]
        case.categories += [c for c in categories or [] if c not in case.categories]


def _add_referrals(by_case: dict[str, ActCase], now: datetime) -> None:
    """The cases' health, police and education referrals. Only the columns the act shows,
    and "overdue" worked out in SQL: a region's month has hundreds of referrals, and loading
    them as objects with their units and four converted times each was most of the act's time."""
    if not by_case:
        return
    overdue = and_(Referral.status.in_(OPEN_STATES), or_(
        and_(Referral.acknowledged_at.is_(None), Referral.ack_due_at < now),
        and_(Referral.first_action_at.is_(None), Referral.action_due_at < now)))
    rows = db.session.execute(
        select(Referral.id, Referral.case_id, Referral.agency, Referral.service, Referral.status,
               Referral.outcome, when((overdue, True), else_=False))
        .where(Referral.case_id.in_(list(by_case)), Referral.agency.in_(RECONCILING_AGENCIES))
        .order_by(Referral.created_at, Referral.id))
    for rid, case_id, agency, service, status, outcome, late in rows:
        by_case[str(case_id)].referrals[agency].append(
            ActReferral(rid, agency, service, status, outcome, bool(late)))


def discrepancies(case: ActCase, pregnant: bool = False) -> list[str]:
    """The discrepancy codes of one case, in the order of ``DISCREPANCIES``."""
    found: set[str] = set()
    pregnancy = pregnant or PREGNANCY_CATEGORY in case.categories
    needs_police = bool(SEXUAL_VIOLENCE & set(case.categories)) or (
        pregnancy and (case.age is None or case.age < POLICE_AGE_LIMIT))
    if needs_police and not [r for r in case.referrals["police"] if r.status != OVERRIDDEN]:
        found.add("no_police_referral")
    for referral in (r for rs in case.referrals.values() for r in rs):
        if referral.overdue:
            found.add("referral_overdue")
        if referral.status == DECLINED:
            found.add("referral_declined_not_rerouted")
        if referral.status in OPEN_STATES:
            found.add("referral_not_completed")
    return [code for code in DISCREPANCIES if code in found]


def signoffs(region: str, month: str, content: list[dict[str, Any]]) -> list[Signoff]:
    rows = db.session.scalars(select(ReconciliationSignoff)
                              .where(ReconciliationSignoff.region == region,
                                     ReconciliationSignoff.month == month)
                              .order_by(ReconciliationSignoff.at))
    current = digest_of(content)
    return [Signoff(row.agency, row.user.display_name, row.user_id, row.at,
                    [] if row.digest == current else amendments(row.snapshot.get("cases", []),
                                                                content))
            for row in rows]


def amendments(signed: list[dict[str, Any]], now: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Cases added, removed or changed since a signature, by case number."""
    before = {case["case_id"]: case for case in signed}
    after = {case["case_id"]: case for case in now}
    changes: list[dict[str, str]] = []
    for case_id, case in after.items():
        if case_id not in before:
            changes.append({"case_id": case_id, "number": case.get("number", ""),
                            "change": "added"})
        elif digest_of([before[case_id]]) != digest_of([case]):
            changes.append({"case_id": case_id, "number": case.get("number", ""),
                            "change": "changed"})
    changes += [{"case_id": case_id, "number": case.get("number", ""), "change": "removed"}
                for case_id, case in before.items() if case_id not in after]
    return changes


def counts_by_discrepancy(act: Act) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for case in act.cases:
        for code in case.discrepancies:
            found[code] += 1
    return {code: found[code] for code in DISCREPANCIES}
