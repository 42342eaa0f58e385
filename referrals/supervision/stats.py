"""The supervisor's figures (issue 8 item 6): live queues, handoff timing and SLA breach rates.

Every figure comes from a handful of aggregate statements, never a query per row, so the
dashboard stays within its budget (300 ms) on a million contacts and three million referrals
(benchmarks/bench_supervision.py). The indexes they lean on are declared in ``indexes``.

Percentiles are ``percentile_cont`` (linear interpolation between the two nearest values):
computed by PostgreSQL in SQL, and by :func:`percentile_cont` in Python on SQLite, which has no
ordered-set aggregates. The two paths are tested against each other on PostgreSQL.

Definitions (routing.md §8):

- *awaiting acknowledgement*: ``sent`` or ``unassigned``.
- *acknowledged at*: ``acknowledged_at``, else ``accepted_at`` (accepting acknowledges).
- *acted at*: ``first_action_at``, else ``closed_at`` of a completed referral.
- *acknowledgement breached*: acknowledged after ``ack_due_at``; or not acknowledged and the
  deadline passed before the referral closed (or before now, while open). A referral counts
  towards the rate once its deadline has passed or it was acknowledged or closed.
- *action breached*: the same with ``action_due_at`` and the acted-at moment; declined
  referrals are left out (the declining unit owes no action; a re-route makes them ``sent``).
- *overdue* (live): awaiting acknowledgement past ``ack_due_at``, or open without an action
  past ``action_due_at``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    exists,
    extract,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from core.audit.models import AuditEntry
from core.extensions import db
from core.models import User
from intake.models import Case, RoutingDecision
from referrals.handoffs.models import (
    COMPLETED,
    DECLINED,
    OPEN_STATES,
    OVERRIDDEN,
    SENT,
    UNASSIGNED,
    Referral,
)
from referrals.supervision.indexes import OPEN_CASE_WHERE, OPEN_QUEUE_WHERE

AWAITING: Final = (SENT, UNASSIGNED)
URGENCIES: Final = ("P1", "P2", "P3", "P4")
OLDEST_WAITING_LIMIT: Final = 10
BREAK_GLASS_ACTION: Final = "btg.opened"
RECENT_BREAK_GLASS: Final = timedelta(days=7)
RECENT_BREAK_GLASS_LIMIT: Final = 20
FRACTIONS: Final = (0.5, 0.9)
REPORT_WORK_MEM: Final = "64MB"
# The partial indexes' predicates, with inline constants (see referrals/supervision/indexes.py).
# Unqualified: each is used in a statement over its table alone.
OPEN_QUEUE: Final = text(f"({OPEN_QUEUE_WHERE})")
CASE_IS_OPEN: Final = text(f"({OPEN_CASE_WHERE})")


@dataclass(frozen=True)
class Scope:
    """What a supervisor's figures cover: every region, or theirs (cases without a region are
    the helpline's own and count everywhere, as in ``intake.queries.case_scope``)."""

    region: str | None = None

    @classmethod
    def of(cls, user: User) -> Scope:
        return cls(user.region)

    def cases(self) -> ColumnElement[bool]:
        if self.region is None:
            return true()
        return or_(Case.region == self.region, Case.region.is_(None))

    def referrals(self) -> ColumnElement[bool]:
        if self.region is None:
            return true()
        return or_(Referral.region == self.region, Referral.region.is_(None))


@dataclass(frozen=True)
class Period:
    """Referrals created in ``[start, end)``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period needs aware datetimes")
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")


def prepare_for_reports() -> None:
    """PostgreSQL, for the rest of this transaction: no JIT (compiling these aggregates costs
    more than it saves at this size) and room to sort a period's referrals in memory."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))


# ---- live queues ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyQueue:
    agency: str
    awaiting: int
    ack_overdue: int
    action_overdue: int
    to_reroute: int  # declined mandatory referrals (routing.md §8: "to re-route" at once)


@dataclass(frozen=True)
class DistrictOverdue:
    agency: str
    district: str | None
    overdue: int


@dataclass(frozen=True)
class WaitingReferral:
    referral: Referral
    case_number: str


@dataclass(frozen=True)
class Queues:
    open_by_urgency: Mapping[str, int]  # urgency code ("" when none) -> open cases
    agencies: Sequence[AgencyQueue]
    overdue_by_district: Sequence[DistrictOverdue]  # most overdue first
    oldest_waiting: Sequence[WaitingReferral]

    @property
    def open_cases(self) -> int:
        return sum(self.open_by_urgency.values())

    @property
    def overdue(self) -> int:
        return sum(row.overdue for row in self.overdue_by_district)


def awaiting_ack() -> ColumnElement[bool]:
    return Referral.status.in_(AWAITING)


def ack_overdue(now: datetime) -> ColumnElement[bool]:
    return and_(awaiting_ack(), Referral.ack_due_at < now)


def action_overdue(now: datetime) -> ColumnElement[bool]:
    return and_(Referral.status.in_(OPEN_STATES), Referral.first_action_at.is_(None),
                Referral.action_due_at < now)


def overdue(now: datetime) -> ColumnElement[bool]:
    return or_(ack_overdue(now), action_overdue(now))


def queues(scope: Scope, now: datetime) -> Queues:
    """Three statements: open cases by urgency, the referral queues by agency and district,
    and the referrals waiting longest for an acknowledgement."""
    return Queues(open_by_urgency=_open_by_urgency(scope), **_referral_queues(scope, now),
                  oldest_waiting=_oldest_waiting(scope, now))


def _open_by_urgency(scope: Scope) -> dict[str, int]:
    rows = db.session.execute(
        select(Case.urgency, func.count()).where(CASE_IS_OPEN, scope.cases())
        .group_by(Case.urgency))
    counts = {urgency or "": int(count) for urgency, count in rows}
    return {code: counts.pop(code, 0) for code in URGENCIES} | counts


def _referral_queues(scope: Scope, now: datetime) -> dict[str, Any]:
    reroute = and_(Referral.status == DECLINED, Referral.mandatory)
    rows = db.session.execute(
        select(Referral.agency, Referral.district,
               func.count().filter(awaiting_ack()), func.count().filter(ack_overdue(now)),
               func.count().filter(action_overdue(now)), func.count().filter(reroute),
               func.count().filter(overdue(now)))
        .where(OPEN_QUEUE, scope.referrals())
        .group_by(Referral.agency, Referral.district)).all()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    districts = []
    for agency, district, awaiting, ack_late, action_late, to_reroute, late in rows:
        for index, value in enumerate((awaiting, ack_late, action_late, to_reroute)):
            totals[agency][index] += int(value)
        if late:
            districts.append(DistrictOverdue(agency, district, int(late)))
    districts.sort(key=lambda row: (-row.overdue, row.agency, row.district or ""))
    agencies = [AgencyQueue(agency, *values) for agency, values in sorted(totals.items())]
    return {"agencies": agencies, "overdue_by_district": districts}


def _oldest_waiting(scope: Scope, now: datetime) -> list[WaitingReferral]:
    """The first few of each awaiting state in deadline order (each read from the index on
    (status, ack_due_at) and stopped early), merged; then their cases' numbers."""
    firsts = [
        select(Referral.id).where(Referral.status == status, Referral.ack_due_at < now,
                                  scope.referrals())
        .order_by(Referral.ack_due_at, Referral.id).limit(OLDEST_WAITING_LIMIT).subquery()
        for status in AWAITING
    ]
    ids = union_all(*(select(first.c.id) for first in firsts)).subquery()
    rows = db.session.execute(
        select(Referral, Case.number).join(ids, ids.c.id == Referral.id)
        .join(Case, Case.id == Referral.case_id)
        .order_by(Referral.ack_due_at, Referral.id).limit(OLDEST_WAITING_LIMIT))
    return [WaitingReferral(referral, number) for referral, number in rows]


# ---- handoff timing and SLA breaches ----------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    p50: float | None  # seconds
    p90: float | None


MEASURES: Final = ("acknowledge", "accept", "complete")
COUNTS: Final = ("ack_due", "ack_breached", "action_due", "action_breached")


@dataclass(frozen=True)
class Timing:
    """One agency's figures over the period: all regions (``total``) or one region.

    ``durations`` (seconds from the referral's creation) by measure: "acknowledge", "accept",
    "complete"; ``counts`` by name: "ack_due", "ack_breached", "action_due", "action_breached".
    """

    agency: str
    region: str | None
    total: bool
    referrals: int
    durations: Mapping[str, Percentiles]
    counts: Mapping[str, int]

    @property
    def acknowledge(self) -> Percentiles:
        return self.durations["acknowledge"]

    @property
    def accept(self) -> Percentiles:
        return self.durations["accept"]

    @property
    def complete(self) -> Percentiles:
        return self.durations["complete"]

    @property
    def ack_breach_rate(self) -> float | None:
        due = self.counts["ack_due"]
        return self.counts["ack_breached"] / due if due else None

    @property
    def action_breach_rate(self) -> float | None:
        due = self.counts["action_due"]
        return self.counts["action_breached"] / due if due else None


def timing(scope: Scope, period: Period, now: datetime) -> list[Timing]:
    """Per agency (``total``) and per agency and region, ordered by agency, totals first."""
    if db.session.get_bind().dialect.name == "postgresql":
        rows = timing_in_sql(scope, period, now)
    else:
        rows = timing_in_python(scope, period, now)
    return sorted(rows, key=lambda row: (row.agency, not row.total, row.region or ""))


def acknowledged_at() -> ColumnElement[datetime]:
    return func.coalesce(Referral.acknowledged_at, Referral.accepted_at)


def acted_at() -> ColumnElement[datetime]:
    return func.coalesce(Referral.first_action_at,
                         case((Referral.status == COMPLETED, Referral.closed_at)))


def _breach_terms(now: datetime) -> dict[str, ColumnElement[bool]]:
    ack, act = acknowledged_at(), acted_at()
    settled_ack = func.coalesce(ack, Referral.closed_at, literal(now))
    settled_act = func.coalesce(act, Referral.closed_at, literal(now))
    counted_action = Referral.status != DECLINED
    return {
        "ack_due": or_(ack.is_not(None), Referral.closed_at.is_not(None), Referral.ack_due_at < now),
        "ack_breached": settled_ack > Referral.ack_due_at,
        "action_due": and_(counted_action, or_(act.is_not(None), Referral.closed_at.is_not(None),
                                               Referral.action_due_at < now)),
        "action_breached": and_(counted_action, settled_act > Referral.action_due_at),
    }


def _seconds(later: Any) -> ColumnElement[Any]:
    seconds: ColumnElement[Any] = extract("epoch", later - Referral.created_at)
    return seconds


def timing_in_sql(scope: Scope, period: Period, now: datetime) -> list[Timing]:
    """PostgreSQL: one statement, grouping sets for the agency totals and the regions."""
    fractions = literal(list(FRACTIONS), ARRAY(Float))
    completed_at = case((Referral.status == COMPLETED, Referral.closed_at))
    moments: dict[str, Any] = {
        "acknowledge": acknowledged_at(), "accept": Referral.accepted_at, "complete": completed_at}
    measures = {name: func.percentile_cont(fractions).within_group(_seconds(moments[name]))
                for name in MEASURES}
    terms = _breach_terms(now)
    statement = (
        select(Referral.agency, Referral.region, func.grouping(Referral.region).label("rolled"),
               func.count().label("referrals"),
               *(value.label(name) for name, value in measures.items()),
               *(func.count().filter(term).label(name) for name, term in terms.items()))
        .where(_in_period(period), scope.referrals())
        .group_by(func.grouping_sets(tuple_(Referral.agency),
                                     tuple_(Referral.agency, Referral.region)))
    )
    return [
        Timing(agency=row.agency, region=None if row.rolled else row.region, total=bool(row.rolled),
               referrals=row.referrals,
               durations={name: _percentiles(row._mapping[name]) for name in MEASURES},
               counts={name: int(row._mapping[name]) for name in COUNTS})
        for row in db.session.execute(statement)
    ]


def _in_period(period: Period) -> ColumnElement[bool]:
    return and_(Referral.created_at >= period.start, Referral.created_at < period.end)


def _percentiles(values: Sequence[float | None] | None) -> Percentiles:
    if not values:
        return Percentiles(None, None)
    p50, p90 = (None if value is None else float(value) for value in values)
    return Percentiles(p50, p90)


# -- the same figures in Python (SQLite; and the check of the SQL on PostgreSQL) --


@dataclass
class _Accumulator:
    referrals: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    durations: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in MEASURES})


def timing_in_python(scope: Scope, period: Period, now: datetime) -> list[Timing]:
    """The referrals of the period fetched once (a few columns each), then grouped here."""
    terms = _breach_terms(now)
    statement = (
        select(Referral.agency, Referral.region, Referral.created_at,
               acknowledged_at().label("acknowledged"), Referral.accepted_at,
               case((Referral.status == COMPLETED, Referral.closed_at)).label("completed"),
               *(term.label(name) for name, term in terms.items()))
        .where(_in_period(period), scope.referrals())
    )
    groups: dict[tuple[str, str | None, bool], _Accumulator] = defaultdict(_Accumulator)
    for row in db.session.execute(statement):
        for key in ((row.agency, None, True), (row.agency, row.region, False)):
            _accumulate(groups[key], row._mapping)
    return [_timing_of(key, accumulator) for key, accumulator in groups.items()]


def _accumulate(group: _Accumulator, row: Any) -> None:
    group.referrals += 1
    for name in COUNTS:
        group.counts[name] += bool(row[name])
    for name, column in zip(MEASURES, ("acknowledged", "accepted_at", "completed"), strict=True):
        if row[column] is not None:
            group.durations[name].append(_elapsed(row["created_at"], row[column]))


def _elapsed(start: datetime, end: Any) -> float:
    # A label on an expression (coalesce, case) loses the UTC type on SQLite: naive text back.
    if isinstance(end, str):
        end = datetime.fromisoformat(end)
    if end.tzinfo is None:
        end = end.replace(tzinfo=start.tzinfo)
    return float((end - start).total_seconds())


def _timing_of(key: tuple[str, str | None, bool], group: _Accumulator) -> Timing:
    agency, region, total = key
    durations = {name: Percentiles(*(percentile_cont(group.durations[name], fraction)
                                     for fraction in FRACTIONS)) for name in MEASURES}
    return Timing(agency=agency, region=region, total=total, referrals=group.referrals,
                  durations=durations, counts=dict(group.counts))


def percentile_cont(values: Iterable[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ---- break-the-glass --------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakGlassEntry:
    entry: AuditEntry
    case_number: str | None

    @property
    def expires_at(self) -> datetime:
        minutes = self.entry.details_map.get("minutes", 0)
        return self.entry.occurred_at + timedelta(minutes=int(minutes))


def recent_break_glass(now: datetime) -> list[BreakGlassEntry]:
    """Every supervisor sees every opening of the last week: that is how they are told."""
    rows = db.session.execute(
        select(AuditEntry, Case.number).outerjoin(Case, Case.id == AuditEntry.object_id)
        .where(AuditEntry.action == BREAK_GLASS_ACTION,
               AuditEntry.occurred_at >= now - RECENT_BREAK_GLASS)
        .order_by(AuditEntry.sequence.desc()).limit(RECENT_BREAK_GLASS_LIMIT))
    return [BreakGlassEntry(entry, number) for entry, number in rows]


# ---- the routing filters across cases ---------------------------------------------------------

ROUTING_FILTERS: Final = ("overridden", "manual", "unrouted", "declined", "overdue")


def _referral_exists(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(Referral.case_id == Case.id, *conditions)


def _removed_at_intake() -> ColumnElement[bool]:
    """A decision whose proposals someone removed by hand (``changes.remove`` not empty)."""
    if db.session.get_bind().dialect.name == "postgresql":
        removed = func.jsonb_array_length(RoutingDecision.changes["remove"]) > 0
    else:
        removed = func.json_array_length(RoutingDecision.changes, "$.remove") > 0
    return exists().where(RoutingDecision.case_id == Case.id, removed)


def routing_filter(kind: str, now: datetime) -> ColumnElement[bool]:
    """The condition on ``Case`` of one filter of the routing audit (``ROUTING_FILTERS``):

    - ``overridden``: a person overrode the algorithm: removed a proposed referral at intake
      (with a reason), or a supervisor closed a referral by override;
    - ``manual``: a referral was added by hand;
    - ``unrouted``: no referral at all, or one that reached no unit (``unassigned``);
    - ``declined``: a referral was declined and waits for a supervisor;
    - ``overdue``: an open referral is past its acknowledgement or action deadline now.
    """
    if kind == "overridden":
        return or_(_referral_exists(Referral.status == OVERRIDDEN), _removed_at_intake())
    if kind == "manual":
        return _referral_exists(Referral.manual.is_(True))
    if kind == "unrouted":
        return or_(not_(_referral_exists()), _referral_exists(Referral.status == UNASSIGNED))
    if kind == "declined":
        return _referral_exists(Referral.status == DECLINED)
    if kind == "overdue":
        return _referral_exists(overdue(now))
    raise ValueError(f"unknown routing filter {kind!r}")


def referrals_of(case_ids: Sequence[str]) -> dict[str, list[Referral]]:
    """The referrals of a page of cases, in one statement."""
    found: dict[str, list[Referral]] = defaultdict(list)
    if case_ids:
        for referral in db.session.scalars(
                select(Referral).where(Referral.case_id.in_(case_ids)).order_by(Referral.created_at)):
            found[referral.case_id].append(referral)
    return found


def filtered_cases(base: Select[Any], kind: str, now: datetime) -> Select[Any]:
    return base.where(routing_filter(kind, now))

