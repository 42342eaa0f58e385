"""The working-day clock of routing.md §4.

A working day is a weekday that the calendar does not list as a day off. For a year the
calendar does not cover (no entry dated in that year) only Saturdays and Sundays are skipped:
the engine must never refuse a case for want of calendar data, so it counts on and reports the
year instead (``WorkingDaysResult.uncovered_years``), for callers to log and show administrators.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

StrPath = str | os.PathLike[str]

_DAY = timedelta(days=1)
_SATURDAY = 5
_KINDS = frozenset({"holiday", "transfer"})
# Bounded memo of date arithmetic; a server only ever asks about a few weeks of dates at a time.
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class WorkingDaysResult:
    """A working-day deadline and the years it was counted through without calendar data."""

    at: datetime
    uncovered_years: tuple[int, ...] = ()


@dataclass(frozen=True)
class WorkingCalendar:
    """Weekdays off (holidays and transferred days off) and the years that data covers.

    ``covered_years`` is derived: a year is covered when at least one entry is dated in it.
    """

    days_off: frozenset[date]
    covered_years: frozenset[int] = field(init=False)
    _memo: dict[tuple[date, int], tuple[date, tuple[int, ...]]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        days = frozenset(self.days_off)
        object.__setattr__(self, "days_off", days)
        object.__setattr__(self, "covered_years", frozenset(d.year for d in days))
        object.__setattr__(self, "_memo", {})

    @classmethod
    def from_csv(cls, path: StrPath, extra_days_off: Iterable[date] = ()) -> WorkingCalendar:
        """Load ``holidays-KZ.csv`` (columns ``date``, ``kind``) plus decree transfers."""
        return cls(frozenset(_read_days_off(path)) | frozenset(extra_days_off))

    def covers(self, year: int) -> bool:
        return year in self.covered_years

    def missing_years(self, years: Iterable[int]) -> tuple[int, ...]:
        """The given years the calendar has no entry for, sorted (for the admin's warning)."""
        return tuple(sorted({y for y in years if y not in self.covered_years}))

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= _SATURDAY:
            return False
        return day not in self.days_off

    def add_working_days(self, moment: datetime, n: int, tz: ZoneInfo) -> datetime:
        """The same local time on the ``n``-th working day after ``moment``'s local date (UTC)."""
        return self.add_working_days_checked(moment, n, tz).at

    def add_working_days_checked(
        self, moment: datetime, n: int, tz: ZoneInfo
    ) -> WorkingDaysResult:
        """Like :meth:`add_working_days`, also naming the uncovered years it counted through."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("working days count from an aware datetime")
        if n < 0:
            raise ValueError("the number of working days must not be negative")
        local = moment.astimezone(tz)
        day, uncovered = self._nth_working_date(local.date(), n)
        due = datetime.combine(day, local.time(), tzinfo=tz)
        return WorkingDaysResult(due.astimezone(UTC), uncovered)

    def _nth_working_date(self, start: date, n: int) -> tuple[date, tuple[int, ...]]:
        key = (start, n)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._count(start, n)
            if len(self._memo) >= _CACHE_LIMIT:
                self._memo.clear()
            self._memo[key] = hit
        return hit

    def _count(self, start: date, n: int) -> tuple[date, tuple[int, ...]]:
        day, found, uncovered = start, 0, set()
        while found < n:
            day += _DAY
            if day.year not in self.covered_years:
                uncovered.add(day.year)
            if self.is_working_day(day):
                found += 1
        return day, tuple(sorted(uncovered))


def _read_days_off(path: StrPath) -> list[date]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"date", "kind"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{os.fspath(path)}: needs the columns 'date' and 'kind'")
        return [_day_off(row, path, reader.line_num) for row in reader]


def _day_off(row: dict[str, str], path: StrPath, line: int) -> date:
    where = f"{os.fspath(path)}, line {line}"
    if (row.get("kind") or "").strip() not in _KINDS:
        raise ValueError(f"{where}: kind must be 'holiday' or 'transfer'")
    try:
        return date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        raise ValueError(f"{where}: date must be YYYY-MM-DD") from None
