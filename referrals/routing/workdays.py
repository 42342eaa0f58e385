"""The working-day and working-time clocks of routing.md §4 and issue 14 (algorithm 2026.2).

A working day is a weekday that the calendar does not list as a day off, or a Saturday (or
Sunday) that a government transfer decree made a working day. For a year the calendar does not
cover (no entry dated in that year) only Saturdays and Sundays are skipped: the engine must never
refuse a case for want of calendar data, so it counts on and reports the year instead
(``WorkingDaysResult.uncovered_years``), for callers to log and show administrators.

Working time (``add_working_time``) is what an office-hours body counts a P1/P2 duration in: only
the hours between ``WorkingHours.start`` and ``.end`` (local) of working days run the clock.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

StrPath = str | os.PathLike[str]

_DAY = timedelta(days=1)
_SATURDAY = 5
_KINDS = frozenset({"holiday", "transfer", "working_day"})
WORKING_DAY = "working_day"  # a weekend day a transfer decree made a working day
# Bounded memo of date arithmetic; a server only ever asks about a few weeks of dates at a time.
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class WorkingDaysResult:
    """A working-day deadline and the years it was counted through without calendar data."""

    at: datetime
    uncovered_years: tuple[int, ...] = ()


def _since_midnight(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second,
                     microseconds=moment.microsecond)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """An office-hours body's working time on each working day, local to the deployment.

    Default 09:00-18:00 (issue 14); an administrator sets a unit's own hours.
    """

    start: time = time(9, 0)
    end: time = time(18, 0)
    # ``start`` and ``end`` as time since midnight, the form the working-time count uses.
    opening: timedelta = field(init=False, repr=False, compare=False)
    closing: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working hours are local wall-clock times, without a time zone")
        if not self.start < self.end:
            raise ValueError("working hours must end after they start, on the same day")
        object.__setattr__(self, "opening", _since_midnight(self.start))
        object.__setattr__(self, "closing", _since_midnight(self.end))

    @classmethod
    def from_minutes(cls, start: int, end: int) -> WorkingHours:
        """From minutes after midnight (the database's columns)."""
        return cls(time(start // 60, start % 60), time(end // 60, end % 60))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}\u2013{self.end:%H:%M}"


DEFAULT_WORKING_HOURS = WorkingHours()


@dataclass(frozen=True)
class WorkingCalendar:
    """Weekdays off (holidays and transferred days off) and the years that data covers.

    ``covered_years`` is derived: a year is covered when at least one entry is dated in it.
    """

    days_off: frozenset[date]
    working_weekend_days: frozenset[date] = frozenset()
    covered_years: frozenset[int] = field(init=False)
    _memo: dict[tuple[date, int], tuple[date, tuple[int, ...]]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _offsets: dict[ZoneInfo, dict[date, timedelta | None]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        days = frozenset(self.days_off)
        working = frozenset(self.working_weekend_days)
        object.__setattr__(self, "days_off", days)
        object.__setattr__(self, "working_weekend_days", working)
        object.__setattr__(self, "covered_years", frozenset(d.year for d in days | working))
        object.__setattr__(self, "_memo", {})
        object.__setattr__(self, "_offsets", {})

    @classmethod
    def from_csv(cls, path: StrPath, extra_days_off: Iterable[date] = (),
                 extra_working_days: Iterable[date] = ()) -> WorkingCalendar:
        """Load ``holidays-KZ.csv`` (columns ``date``, ``kind``) plus decree transfers.

        Rows of kind ``working_day`` are weekend days made working days by a decree.
        """
        off, working = set(extra_days_off), set(extra_working_days)
        for day, kind in _read_days(path):
            (working if kind == WORKING_DAY else off).add(day)
        return cls(frozenset(off), frozenset(working))

    def covers(self, year: int) -> bool:
        return year in self.covered_years

    def missing_years(self, years: Iterable[int]) -> tuple[int, ...]:
        """The given years the calendar has no entry for, sorted (for the admin's warning)."""
        return tuple(sorted({y for y in years if y not in self.covered_years}))

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= _SATURDAY:
            return day in self.working_weekend_days
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
        day, uncovered = self.nth_working_date(local.date(), n)
        due = datetime.combine(day, local.time(), tzinfo=tz)
        return WorkingDaysResult(due.astimezone(UTC), uncovered)

    def stable_offset(self, day: date, tz: ZoneInfo) -> timedelta | None:
        """``tz``'s UTC offset on ``day`` when it holds from that midnight to the next, else
        None (a transition day). Between two moments on stable days a local difference is a
        real one, plus the change of offset: the engine counts its deadlines that way, in
        ``timedelta`` arithmetic, instead of converting every deadline through the zone."""
        table = self._offsets.get(tz)
        if table is None:
            table = self._offsets[tz] = {}
        if day in table:
            return table[day]
        midnight = datetime.combine(day, time.min)
        offset = tz.utcoffset(midnight)
        if offset != tz.utcoffset(midnight + _DAY) or offset != tz.utcoffset(
                datetime.combine(day, time.max)):
            offset = None
        if len(table) >= _CACHE_LIMIT:
            table.clear()
        table[day] = offset
        return offset

    def nth_working_date(self, start: date, n: int) -> tuple[date, tuple[int, ...]]:
        """The ``n``-th working date after ``start`` and the uncovered years counted through
        (remembered: a server asks about the same few weeks all day)."""
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

    def add_working_time(self, moment: datetime, duration: timedelta, hours: WorkingHours,
                         tz: ZoneInfo) -> WorkingDaysResult:
        """``duration`` of working time after ``moment`` (UTC), counting only ``hours`` of
        working days: 4 h from 17:00 on a Tuesday is Wednesday 12:00 with 09:00-18:00.

        A moment outside working time starts at the next opening; a deadline that uses up a day
        exactly ends at its closing time (17:00 + 1 h is 18:00 the same day, not 09:00 the next).
        """
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("working time counts from an aware datetime")
        if duration < timedelta(0):
            raise ValueError("a working-time duration must not be negative")
        local = moment.astimezone(tz).replace(tzinfo=None)
        day = local.date()
        midnight = datetime.combine(day, time.min)
        target, due, years = self.working_time_on(day, local - midnight, duration, hours)
        local_due = datetime.combine(target, time.min) + due
        return WorkingDaysResult(local_due.replace(tzinfo=tz).astimezone(UTC), years)

    def working_time_on(self, day: date, since_midnight: timedelta, duration: timedelta,
                        hours: WorkingHours) -> tuple[date, timedelta, tuple[int, ...]]:
        """:meth:`add_working_time` in local terms, unchecked: from ``since_midnight`` on
        ``day``, the date the deadline falls on, its time since that midnight, and the years
        counted through without calendar data."""
        opening, closing = hours.opening, hours.closing
        uncovered = () if day.year in self.covered_years else (day.year,)
        left = duration
        if since_midnight < closing and self.is_working_day(day):
            cursor = since_midnight if since_midnight > opening else opening
            if left <= closing - cursor:  # the common case: due the same day
                return day, cursor + left, uncovered
            left -= closing - cursor
        # Whole working days follow, each ``span`` long: the deadline falls on the k-th working
        # day after this one (found in the memoised day count, not by walking the days), at
        # what is left after k - 1 full days; a remainder of exactly a day ends at closing.
        span = closing - opening
        k = max(1, -(-left // span))
        target, counted = self.nth_working_date(day, k)
        years = tuple(sorted({*uncovered, *counted})) if uncovered else counted
        return target, opening + (left - (k - 1) * span), years


def _read_days(path: StrPath) -> list[tuple[date, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"date", "kind"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{os.fspath(path)}: needs the columns 'date' and 'kind'")
        return [_day(row, path, reader.line_num) for row in reader]


def _day(row: dict[str, str], path: StrPath, line: int) -> tuple[date, str]:
    where = f"{os.fspath(path)}, line {line}"
    kind = (row.get("kind") or "").strip()
    if kind not in _KINDS:
        raise ValueError(f"{where}: kind must be 'holiday', 'transfer' or 'working_day'")
    try:
        day = date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        raise ValueError(f"{where}: date must be YYYY-MM-DD") from None
    if kind == WORKING_DAY and day.weekday() < _SATURDAY:
        raise ValueError(f"{where}: a working day by decree must be a Saturday or Sunday")
    return day, kind
