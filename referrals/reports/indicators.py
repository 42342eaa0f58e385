"""The indicators of a report upward (decree §2–3): one region or the whole country, a month or
a year, beside the same figures of the previous period. Read from the monthly cells
(``aggregate``); nothing here names a person, so every report is de-identified."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from core import reference
from referrals.reports import aggregate as agg
from referrals.reports.models import NATIONAL, NO_REGION

PERIOD_PATTERN: Final = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")
REGION_DUE_DAY: Final = 10  # regions report by the 10th of the month after the period
NATIONAL_DUE_DAY: Final = 25  # the ministry reports to the Government by the 25th


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True, order=True)
class ReportPeriod:
    """A calendar month ("2026-11") or year ("2026"), in the deployment's time zone."""

    year: int
    month: int | None = None

    @classmethod
    def parse(cls, text: str) -> ReportPeriod:
        match = PERIOD_PATTERN.match(text or "")
        if match is None or not 2000 <= int(match.group(1)) <= 2100:
            raise BadPeriod(text)
        month = match.group(2)
        return cls(int(match.group(1)), int(month) if month else None)

    @property
    def code(self) -> str:
        return f"{self.year}" if self.month is None else f"{self.year}-{self.month:02d}"

    @property
    def annual(self) -> bool:
        return self.month is None

    @property
    def first_month(self) -> date:
        return date(self.year, self.month or 1, 1)

    @property
    def last_month(self) -> date:
        return date(self.year, self.month or 12, 1)

    @property
    def months(self) -> list[date]:
        return agg.months_between(self.first_month, self.last_month)

    @property
    def end_date(self) -> date:
        """The first day after the period."""
        return agg.next_month(self.last_month)

    def previous(self) -> ReportPeriod:
        if self.month is None:
            return ReportPeriod(self.year - 1)
        return ReportPeriod(self.year - (self.month == 1), 12 if self.month == 1 else self.month - 1)

    def due(self, national: bool = False) -> date:
        """When the report is due: the 10th of the month after the period for a region, the
        25th for the ministry's report to the Government."""
        return self.end_date.replace(day=NATIONAL_DUE_DAY if national else REGION_DUE_DAY)

    def is_over(self, today: date) -> bool:
        return today >= self.end_date


def latest_closed_month(today: date) -> ReportPeriod:
    first = today.replace(day=1) - timedelta(days=1)
    return ReportPeriod(first.year, first.month)


@dataclass(frozen=True)
class Timing:
    agency: str
    acknowledge_p50: float | None
    acknowledge_p90: float | None
    complete_p50: float | None
    complete_p90: float | None
    acknowledged: int
    completed: int


@dataclass
class Figures:
    """One period's indicators. Counts by code are plain dicts (code -> count)."""

    contacts: int = 0
    repeat_contacts: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    referrals: dict[str, int] = field(default_factory=dict)  # by agency
    services: dict[tuple[str, str], int] = field(default_factory=dict)  # (agency, service)
    statuses: dict[tuple[str, str], int] = field(default_factory=dict)
    outcomes: dict[tuple[str, str], int] = field(default_factory=dict)
    breaches: dict[str, dict[str, int]] = field(default_factory=dict)  # agency -> name -> count
    timing: dict[str, Timing] = field(default_factory=dict)

    @property
    def referral_total(self) -> int:
        return sum(self.referrals.values())

    @property
    def agencies(self) -> list[str]:
        return sorted(set(self.referrals) | set(self.breaches))

    def breach_total(self, name: str) -> int:
        return sum(row.get(name, 0) for row in self.breaches.values())

    def as_json(self) -> dict[str, Any]:
        """The figures as plain JSON (kept with a submission)."""
        return {
            "contacts": self.contacts, "repeat_contacts": self.repeat_contacts,
            "channels": self.channels, "types": self.types, "categories": self.categories,
            "referrals": self.referrals,
            "services": {f"{a}|{s}": v for (a, s), v in self.services.items()},
            "statuses": {f"{a}|{s}": v for (a, s), v in self.statuses.items()},
            "outcomes": {f"{a}|{o}": v for (a, o), v in self.outcomes.items()},
            "breaches": self.breaches,
            "timing": {agency: vars(row) for agency, row in self.timing.items()},
        }


def figures_from(sums: dict[tuple[str, str], int]) -> Figures:
    figures = Figures()
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    pairs = {agg.SERVICE: figures.services, agg.STATUS: figures.statuses, agg.OUTCOME: figures.outcomes}
    singles = {agg.CHANNEL: figures.channels, agg.TYPE: figures.types,
               agg.CATEGORY: figures.categories, agg.REFERRALS: figures.referrals}
    for (metric, key), value in sums.items():
        if metric == agg.CONTACTS:
            figures.contacts = value
        elif metric == agg.REPEAT:
            figures.repeat_contacts = value
        elif metric in singles:
            singles[metric][key] = value
        elif metric in pairs:
            agency, code = key.split("|", 1)
            pairs[metric][(agency, code)] = value
        elif metric in agg.BREACH_COUNTS:
            figures.breaches.setdefault(key, dict.fromkeys(agg.BREACH_COUNTS, 0))[metric] = value
        elif metric in (agg.ACK_TIME, agg.COMPLETE_TIME):
            agency, lower = key.split("|", 1)
            histograms[(metric, agency)][int(lower)] = value
    for agency in sorted({agency for _, agency in histograms} | set(figures.referrals)):
        ack = histograms.get((agg.ACK_TIME, agency), {})
        done = histograms.get((agg.COMPLETE_TIME, agency), {})
        figures.timing[agency] = Timing(
            agency, agg.percentile(ack, 0.5), agg.percentile(ack, 0.9),
            agg.percentile(done, 0.5), agg.percentile(done, 0.9),
            sum(ack.values()), sum(done.values()))
    return figures


@dataclass(frozen=True)
class RegionRow:
    region: str  # a code, or NO_REGION
    contacts: int
    referrals: int
    previous_contacts: int
    previous_referrals: int


@dataclass(frozen=True)
class Report:
    region: str | None  # None: the whole country
    period: ReportPeriod
    current: Figures
    previous: Figures
    regions: list[RegionRow]  # the whole country only: each region's totals
    as_of: datetime

    @property
    def scope_code(self) -> str:
        return self.region or NATIONAL


def months_to_compute(period: ReportPeriod) -> list[date]:
    """The months a report reads: its own and the previous period's."""
    return period.previous().months + period.months


def build(region: str | None, period: ReportPeriod, now: datetime, tz: ZoneInfo,
          *, ensure: bool = True) -> Report:
    """``ensure=False``: the caller computed the stale months already (a job, with progress)."""
    if ensure:
        agg.ensure(months_to_compute(period), now, tz)
    previous = period.previous()
    regions: list[RegionRow] = []
    if region is None:
        regions = region_rows(period.months, previous.months)
    return Report(region=region, period=period,
                  current=figures_from(agg.sums(period.months, region)),
                  previous=figures_from(agg.sums(previous.months, region)),
                  regions=regions, as_of=agg.computed_at(months_to_compute(period)) or now)


def region_rows(months: list[date], previous_months: list[date]) -> list[RegionRow]:
    metrics = (agg.CONTACTS, agg.REFERRALS)
    now_sums, before = agg.by_region(months, metrics), agg.by_region(previous_months, metrics)
    codes = list(reference.regions())
    extra = sorted({region for region, _ in now_sums | before} - set(codes))
    return [RegionRow(code, now_sums.get((code, agg.CONTACTS), 0), now_sums.get((code, agg.REFERRALS), 0),
                      before.get((code, agg.CONTACTS), 0), before.get((code, agg.REFERRALS), 0))
            for code in codes + [code for code in extra if code != NO_REGION]
            + ([NO_REGION] if NO_REGION in extra else [])]


def change(current: float, previous: float) -> float | None:
    """The relative change from the previous period (None when it had nothing)."""
    if not previous:
        return None
    return (current - previous) / previous
