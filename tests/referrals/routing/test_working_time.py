"""``WorkingCalendar.add_working_time`` counts whole days arithmetically (issue 13: routing
throughput); it must agree with the plain reading of issue 14, walking the days one by one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.routing.workdays import WorkingCalendar, WorkingDaysResult, WorkingHours

TZ = ZoneInfo("Asia/Almaty")
DAY = timedelta(days=1)


def walked(calendar: WorkingCalendar, moment: datetime, duration: timedelta,
           hours: WorkingHours, tz: ZoneInfo) -> WorkingDaysResult:
    """The reference: walk day by day, spending each working day's hours in turn."""
    local = moment.astimezone(tz).replace(tzinfo=None)
    day, left, uncovered = local.date(), duration, set()
    cursor = max(local, datetime.combine(day, hours.start))
    while True:
        if day.year not in calendar.covered_years:
            uncovered.add(day.year)
        closing = datetime.combine(day, hours.end)
        if calendar.is_working_day(day) and cursor < closing:
            if left <= closing - cursor:
                due = (cursor + left).replace(tzinfo=tz)
                return WorkingDaysResult(due.astimezone(UTC), tuple(sorted(uncovered)))
            left -= closing - cursor
        day += DAY
        cursor = datetime.combine(day, hours.start)


# Holidays around a new year, a transferred working Saturday, and 2028 left uncovered.
CALENDAR = WorkingCalendar(
    days_off=frozenset({date(2026, 12, 16), date(2026, 12, 17), date(2027, 1, 1),
                        date(2027, 1, 2), date(2027, 3, 8), date(2027, 12, 31)}),
    working_weekend_days=frozenset({date(2027, 1, 9)}),
)

moments = st.datetimes(min_value=datetime(2026, 12, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(UTC))
durations = st.one_of(
    st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(hours=9), timedelta(hours=18),
                     timedelta(hours=4, minutes=30)]),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=120)))
hours_of = st.tuples(st.integers(0, 22), st.integers(1, 24)).filter(lambda t: t[0] < t[1]).map(
    lambda t: WorkingHours(time(t[0]), time(t[1] - 1, 59) if t[1] == 24 else time(t[1])))


@settings(max_examples=600, deadline=None)
@given(moments, durations, hours_of)
def test_counting_whole_days_agrees_with_walking_them(moment: datetime, duration: timedelta,
                                                       hours: WorkingHours) -> None:
    assert CALENDAR.add_working_time(moment, duration, hours, TZ) == walked(
        CALENDAR, moment, duration, hours, TZ)


def test_a_deadline_that_uses_up_a_day_ends_at_its_closing() -> None:
    # Tuesday 2026-12-15 17:00 Almaty + 10 h of 09:00-18:00: 1 h that day, then Wednesday and
    # Thursday are holidays, so Friday gives 9 h and the deadline is Friday's closing time.
    start = datetime(2026, 12, 15, 17, 0, tzinfo=TZ)
    due = CALENDAR.add_working_time(start, timedelta(hours=10), WorkingHours(), TZ)
    assert due.at == datetime(2026, 12, 18, 18, 0, tzinfo=TZ).astimezone(UTC)


def test_years_counted_through_without_data_are_named() -> None:
    start = datetime(2027, 12, 30, 17, 0, tzinfo=TZ)
    due = CALENDAR.add_working_time(start, timedelta(hours=20), WorkingHours(), TZ)
    assert due.uncovered_years == (2028,)
    # 1 h on Thursday; Friday the 31st is off, then a weekend; 9 h + 9 h, then 1 h on Wednesday
    assert due.at.astimezone(TZ) == datetime(2028, 1, 5, 10, 0, tzinfo=TZ)
