"""The monthly pre-aggregates behind the reports upward: computing a month's cells, and when.

A month's cells (``ReportCell``) are additive figures per region: counts of contacts by
channel, type and main category, repeat contacts, referrals by agency and service, by status and
outcome, deadlines due and missed, and histograms of the times to acknowledge and to complete
(seconds, in buckets). Any report, a month of one region or a year of the whole country, is a
sum of cells, which the database answers from a few thousand rows instead of millions.

The price is freshness, handled so:

- a month is computed for every region at once, by a handful of grouped statements over the
  month's contacts and referrals (no query per row);
- a month whose cells were computed at least ``SETTLED_AFTER`` after its end is *settled*: its
  referrals have long passed their deadlines, so its figures no longer move and are reused;
- a more recent month is reused for ``FRESH_FOR`` after its computation; after that a read
  still shows its cells (the report states the moment its figures stand at) and asks the job
  queue to compute the month again, so no reader waits for a national month's statements;
  only a month never computed is computed during the read;
- ``senim reports refresh [--from YYYY-MM]`` recomputes months on purpose, e.g. after
  corrections of old contacts (cron it nightly for the last months).

Each month also has cells for every region together (``ALL_REGIONS``), so the country's report
reads a few thousand rows a year instead of one set per region.

Percentiles from histograms: each time falls in a bucket (whole minutes under two hours, ten
minutes under two days, two hours beyond) and counts as the bucket's lower bound, so a median
is exact to the bucket's width. The percentile is ``percentile_cont`` (linear interpolation) over
those values, as the supervisor's dashboard computes it from the raw times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.orm import aliased

from core.clock import utcnow
from core.extensions import db
from core.models import User
from intake.models import Case, Child, Contact
from referrals.handoffs.models import COMPLETED, Referral
from referrals.reports import jobs
from referrals.reports.models import ALL_REGIONS, NO_REGION, ReportCell, ReportMonth
from referrals.supervision import stats

SETTLED_AFTER: Final = timedelta(days=62)
FRESH_FOR: Final = timedelta(minutes=15)
# Buckets: (upper limit in seconds, width in seconds); beyond the last limit, the last width.
BUCKETS: Final = ((7200, 60), (172800, 600), (None, 7200))
MONTH_LOCK_KEY: Final = 0x53454E49  # with the month's ordinal: one computation of a month at once

# Metric names (ReportCell.metric); keys are codes, "agency|code" where two codes are needed.
CONTACTS, CHANNEL, TYPE, CATEGORY, REPEAT = "contacts", "channel", "type", "category", "repeat"
REFERRALS, SERVICE, STATUS, OUTCOME = "referrals", "service", "status", "outcome"
ACK_TIME, COMPLETE_TIME = "ack_time", "complete_time"
BREACH_COUNTS: Final = stats.COUNTS  # ack_due, ack_breached, action_due, action_breached


def month_start(month: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(month.replace(day=1), time.min, tz).astimezone(UTC)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from ``first``'s to ``last``'s, both included."""
    found, month = [], first.replace(day=1)
    while month <= last:
        found.append(month)
        month = next_month(month)
    return found


# ---- when -------------------------------------------------------------------------------------


def stale_months(months: Sequence[date], now: datetime, tz: ZoneInfo) -> list[date]:
    """The months (of those given, up to the current one) whose cells must be computed first."""
    computed = dict(db.session.execute(
        select(ReportMonth.month, ReportMonth.computed_at).where(ReportMonth.month.in_(months))).all())
    stale = []
    for month in months:
        if month_start(month, tz) > now:
            continue  # a month that has not begun has nothing to count
        at = computed.get(month)
        settled = at is not None and at >= month_start(next_month(month), tz) + SETTLED_AFTER
        if at is None or not (settled or now - at < FRESH_FOR):
            stale.append(month)
    return stale


def ensure(months: Sequence[date], now: datetime, tz: ZoneInfo) -> int:
    """Compute the missing months among ``months`` now (in the caller's transaction: a page
    view's request commits them where it ends) and hand the stale ones to the job queue (in
    tests, which run jobs inline, they are computed now as well). Returns how many were
    computed or queued."""
    stale = stale_months(months, now, tz)
    if not stale:
        return 0
    computed = set(db.session.scalars(select(ReportMonth.month).where(ReportMonth.month.in_(stale))))
    for month in stale:
        if month not in computed:
            compute_month(month, now, tz)
    later = [month for month in stale if month in computed]
    if later:
        jobs.refresh_months([month.isoformat() for month in later], now)
    return len(stale)


def refresh(month_codes: Sequence[str], now: datetime | None = None, *,
            commit_each: bool = True) -> None:
    """The job: recompute these months (ISO dates of their first days) if still stale, as of
    ``now`` (default: the clock's now, when the job runs). A job commits each month (a long
    batch: an interruption loses one month, and each month's figures show as soon as they are
    done); run inline inside a request (tests), ``commit_each=False`` leaves them to the
    request's own commit."""
    tz = current_app.config["SENIM"].tz
    moment = now or utcnow()
    for month in stale_months([date.fromisoformat(code) for code in month_codes], moment, tz):
        compute_month(month, moment, tz)
        if commit_each:
            db.session.commit()


def computed_at(months: Sequence[date]) -> datetime | None:
    """The oldest computation among the months: the moment a report's figures stand at."""
    value: datetime | None = db.session.scalar(
        select(func.min(ReportMonth.computed_at)).where(ReportMonth.month.in_(list(months))))
    return value


# ---- what -------------------------------------------------------------------------------------


def compute_month(month: date, now: datetime, tz: ZoneInfo) -> None:
    """Replace the month's cells for every region (in the caller's transaction)."""
    month = month.replace(day=1)
    _lock(month)
    start, end = month_start(month, tz), month_start(next_month(month), tz)
    cells: Counter[tuple[str, str, str]] = Counter()
    _contact_cells(cells, start, end)
    _referral_cells(cells, start, end, now)
    for (_region, metric, key), value in list(cells.items()):
        cells[(ALL_REGIONS, metric, key)] += value
    db.session.execute(delete(ReportCell).where(ReportCell.month == month))
    rows = [{"month": month, "region": region, "metric": metric, "key": key, "value": value}
            for (region, metric, key), value in cells.items() if value]
    for first in range(0, len(rows), 5000):
        db.session.execute(insert(ReportCell), rows[first:first + 5000])
    found = db.session.get(ReportMonth, month)
    if found is None:
        db.session.add(ReportMonth(month=month, computed_at=now))
    else:
        found.computed_at = now
    db.session.flush()


def _lock(month: date) -> None:
    """PostgreSQL: two requests computing one month wait for each other (the second then
    replaces the first's cells with the same figures) instead of colliding on the key."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key, :month)"),
                           {"key": MONTH_LOCK_KEY, "month": month.toordinal()})


def contact_region() -> ColumnElement[Any]:
    """A contact's region: its case's, else its child's, else the region of the helpline desk
    that took it (as ``intake.api`` places caseless contacts)."""
    return func.coalesce(Case.region, Child.region, User.region, literal(NO_REGION))


def _contacts_of_month(start: datetime, end: datetime, *columns: Any) -> Any:
    return (select(*columns).select_from(Contact)
            .outerjoin(Case, Case.id == Contact.case_id)
            .outerjoin(Child, Child.id == Contact.child_id)
            .outerjoin(User, User.id == Contact.submitted_by)
            .where(Contact.received_at >= start, Contact.received_at < end))


def _contact_cells(cells: Counter[tuple[str, str, str]], start: datetime, end: datetime) -> None:
    region = contact_region().label("region")
    earlier = aliased(Contact)
    repeat = exists().where(earlier.case_id == Contact.case_id,
                            earlier.received_at < Contact.received_at)
    grouped = _contacts_of_month(
        start, end, region, Contact.channel, Contact.contact_type, func.count(),
        func.count().filter(and_(Contact.case_id.is_not(None), repeat)),
    ).group_by(region, Contact.channel, Contact.contact_type)
    for place, channel, kind, count, repeats in db.session.execute(grouped):
        cells[(place, CONTACTS, "")] += count
        cells[(place, CHANNEL, channel)] += count
        cells[(place, TYPE, kind)] += count
        cells[(place, REPEAT, "")] += repeats
    # Categories: a contact counts once per main category ("violence" for "violence.sexual").
    for place, categories in db.session.execute(
            _contacts_of_month(start, end, region, Contact.categories)
            .where(Contact.categories.is_not(None))):
        for main in {code.split(".", 1)[0] for code in categories or ()}:
            cells[(place, CATEGORY, main)] += 1


def seconds_since_creation(later: Any) -> ColumnElement[Any]:
    if db.session.get_bind().dialect.name == "postgresql":
        value: ColumnElement[Any] = func.extract("epoch", later - Referral.created_at)
        return value
    # julianday's floating point makes 119 minutes 7139.99… seconds: rounded to whole seconds
    # before bucketing, or the time would fall into the bucket below.
    return func.round((func.julianday(later) - func.julianday(Referral.created_at)) * 86400.0)


def bucket(seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """The lower bound of the bucket of a time in seconds (see the module docstring)."""
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
    for limit, width in BUCKETS:
        lower = cast(seconds / width, Integer) * width
        if limit is None:
            return case(*whens, else_=lower)
        whens.append((seconds < limit, lower))
    raise AssertionError("BUCKETS ends with an open bucket")  # pragma: no cover


def _referral_cells(cells: Counter[tuple[str, str, str]], start: datetime, end: datetime,
                    now: datetime) -> None:
    region = func.coalesce(Referral.region, literal(NO_REGION)).label("region")
    in_month = and_(Referral.created_at >= start, Referral.created_at < end)
    terms = stats._breach_terms(now)
    grouped = (select(region, Referral.agency, Referral.service, Referral.status, Referral.outcome,
                      func.count(), *(func.count().filter(term) for term in terms.values()))
               .where(in_month)
               .group_by(region, Referral.agency, Referral.service, Referral.status, Referral.outcome))
    for place, agency, service, status, outcome, count, *breaches in db.session.execute(grouped):
        cells[(place, REFERRALS, agency)] += count
        cells[(place, SERVICE, f"{agency}|{service}")] += count
        cells[(place, STATUS, f"{agency}|{status}")] += count
        if outcome:
            cells[(place, OUTCOME, f"{agency}|{outcome}")] += count
        for name, value in zip(terms, breaches, strict=True):
            cells[(place, name, agency)] += value
    completed_at = case((Referral.status == COMPLETED, Referral.closed_at))
    for metric, moment in ((ACK_TIME, stats.acknowledged_at()), (COMPLETE_TIME, completed_at)):
        slot = bucket(seconds_since_creation(moment)).label("slot")
        for place, agency, lower, count in db.session.execute(
                select(region, Referral.agency, slot, func.count())
                .where(in_month, moment.is_not(None)).group_by(region, Referral.agency, slot)):
            cells[(place, metric, f"{agency}|{int(lower)}")] += count


# ---- reading ----------------------------------------------------------------------------------


def sums(months: Iterable[date], region: str | None) -> dict[tuple[str, str], int]:
    """(metric, key) -> the sum over the months, for one region or (None) all of them."""
    statement = (select(ReportCell.metric, ReportCell.key, func.sum(ReportCell.value))
                 .where(ReportCell.month.in_(list(months)),
                        ReportCell.region == (ALL_REGIONS if region is None else region))
                 .group_by(ReportCell.metric, ReportCell.key))
    return {(metric, key): int(value) for metric, key, value in db.session.execute(statement)}


def by_region(months: Iterable[date], metrics: Sequence[str]) -> dict[tuple[str, str], int]:
    """(region, metric) -> the sum over the months of the metrics' cells (every key)."""
    statement = (select(ReportCell.region, ReportCell.metric, func.sum(ReportCell.value))
                 .where(ReportCell.month.in_(list(months)), ReportCell.metric.in_(metrics),
                        ReportCell.region != ALL_REGIONS)
                 .group_by(ReportCell.region, ReportCell.metric))
    return {(region, metric): int(value) for region, metric, value in db.session.execute(statement)}


def percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """``percentile_cont`` over the histogram's values (bucket lower bound -> count)."""
    total = sum(histogram.values())
    if total == 0:
        return None
    position = fraction * (total - 1)
    below, above = int(position), min(int(position) + 1, total - 1)
    low = high = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if low is None and seen > below:
            low = value
        if seen > above:
            high = value
            break
    if low is None or high is None:  # pragma: no cover - the counts reach ``total``
        raise AssertionError("histogram walk ended early")
    return low + (high - low) * (position - below)
