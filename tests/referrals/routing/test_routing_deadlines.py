"""Deadlines of routing.md §4: per urgency, service caps, and the working-day calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from referrals.routing import (
    Algorithm,
    ChildFacts,
    Decision,
    Facts,
    ReferralProposal,
    WorkingCalendar,
    format_time,
    load_algorithm,
    route,
)
from tests.referrals.routing.engine_inputs import ALGORITHM, CALENDAR, DATA, TZ


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
          second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=TZ)


def decide(*categories: str, at: datetime, urgency: str = "P3",
           flags: tuple[str, ...] = (), algorithm: Algorithm = ALGORITHM,
           calendar: WorkingCalendar = CALENDAR) -> Decision:
    facts = Facts(contact_type="third_party", urgency=urgency, categories=categories,
                  child=ChildFacts(age=10, region="KZ-27"), flags=flags, submitted_at=at)
    return route(facts, algorithm, calendar, TZ)


def referral(decision: Decision, service: str) -> ReferralProposal:
    return next(r for r in decision.referrals if r.service == service)


def variant(change: Any) -> Algorithm:
    """The default algorithm with ``change(data)`` applied, loaded as a new version."""
    data = yaml.load(ALGORITHM.source_text, Loader=yaml.CSafeLoader)
    data["version"] = "test"
    change(data)
    return load_algorithm(yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False))


# Per urgency --------------------------------------------------------------------------------

def test_p1_acknowledge_in_15_minutes_act_in_2_hours() -> None:
    at = local(2026, 11, 21, 23, 50)  # a Saturday night: P1 runs on the clock
    decision = decide("mental_health.suicide_attempt", flags=("ongoing",), at=at)
    for r in decision.referrals:
        assert (r.ack_due_at, r.action_due_at) == (at + timedelta(minutes=15),
                                                   at + timedelta(hours=2))


def test_p2_acknowledge_in_4_hours_act_in_24_hours_on_the_clock() -> None:
    at = local(2026, 12, 15, 22, 0)  # the night before a holiday
    decision = decide("mental_health.self_harm", at=at)
    for r in decision.referrals:
        assert (r.ack_due_at, r.action_due_at) == (local(2026, 12, 16, 2, 0),
                                                   local(2026, 12, 16, 22, 0))


def test_p3_counts_working_days_across_a_weekend() -> None:
    at = local(2026, 11, 20, 16, 30)  # Friday
    decision = decide("violence.bullying", at=at)
    for r in decision.referrals:
        assert r.ack_due_at == local(2026, 11, 23, 16, 30)  # Monday
        assert r.action_due_at == local(2026, 11, 25, 16, 30)  # Wednesday


def test_p3_across_independence_day_is_the_example_of_section_4() -> None:
    at = local(2026, 12, 15, 10, 0)  # Tuesday; 16 December is a holiday
    decision = decide("education.truancy", at=at)
    school = referral(decision, "education.school")
    assert school.ack_due_at == local(2026, 12, 17, 10, 0)  # Thursday
    assert school.action_due_at == local(2026, 12, 21, 10, 0)  # Monday
    assert decision.calendar_warnings == ()


def test_p3_across_a_transferred_day_off() -> None:
    at = local(2026, 5, 8, 9, 15)  # Friday; Monday 11 May is Victory Day transferred
    decision = decide("violence.bullying", at=at)
    school = referral(decision, "education.school")
    assert school.ack_due_at == local(2026, 5, 12, 9, 15)
    assert school.action_due_at == local(2026, 5, 14, 9, 15)


def test_deadlines_are_stored_in_utc() -> None:
    decision = decide("violence.bullying", at=local(2026, 12, 15, 10, 0))
    for r in decision.referrals:
        assert r.ack_due_at.utcoffset() == timedelta(0)
        assert r.action_due_at.tzinfo is UTC


def test_deadlines_count_from_submitted_at_given_in_any_offset() -> None:
    utc = datetime(2026, 12, 15, 5, 0, tzinfo=UTC)  # 10:00 in Almaty
    decision = decide("violence.bullying", at=utc)
    assert referral(decision, "education.school").ack_due_at == local(2026, 12, 17, 10, 0)


# Service caps --------------------------------------------------------------------------------

def test_police_emergency_acts_within_1_hour_at_p1() -> None:
    at = local(2026, 11, 20, 10, 2)
    emergency = referral(decide("missing.lost", at=at), "police.emergency")
    assert emergency.ack_due_at == at + timedelta(minutes=15)
    assert emergency.action_due_at == at + timedelta(hours=1)
    guardianship = referral(decide("missing.lost", at=at), "education.guardianship")
    assert guardianship.action_due_at == at + timedelta(hours=2)


def test_police_emergency_caps_hold_at_any_urgency() -> None:
    def missing_child_at_p3(data: dict[str, Any]) -> None:
        rule = next(r for r in data["rules"] if r["id"] == "missing-child")
        rule["min_urgency"] = "P3"

    at = local(2026, 11, 20, 10, 2)
    decision = decide("missing.runaway", at=at, algorithm=variant(missing_child_at_p3))
    assert decision.urgency == "P3"
    emergency = referral(decision, "police.emergency")
    assert emergency.ack_due_at == at + timedelta(minutes=15)
    assert emergency.action_due_at == at + timedelta(hours=1)
    assert referral(decision, "education.guardianship").ack_due_at == local(2026, 11, 23, 10, 2)


def test_forensic_exam_acts_within_24_hours_and_guardianship_within_3_working_days() -> None:
    def slow_p2(data: dict[str, Any]) -> None:
        p2 = next(u for u in data["urgencies"] if u["code"] == "P2")
        p2["acknowledge"], p2["act"] = {"working_days": 2}, {"working_days": 5}

    at = local(2026, 12, 14, 11, 0)  # Monday; 16 December is a holiday
    decision = decide("violence.sexual", at=at, algorithm=variant(slow_p2))
    assert referral(decision, "police.juvenile_inspector").action_due_at == local(
        2026, 12, 22, 11, 0)
    forensic = referral(decision, "health.forensic_exam")
    assert forensic.action_due_at == at + timedelta(hours=24)
    # An acknowledgement is never due after the first action.
    assert forensic.ack_due_at == forensic.action_due_at
    guardianship = referral(decision, "education.guardianship")
    assert guardianship.action_due_at == local(2026, 12, 18, 11, 0)
    assert guardianship.ack_due_at == local(2026, 12, 17, 11, 0)


def test_acknowledgement_is_never_due_after_the_action() -> None:
    def quick_act_cap(data: dict[str, Any]) -> None:
        data["service_caps"]["education.school"] = {"act": {"minutes": 30}}

    at = local(2026, 11, 20, 10, 0)
    school = referral(decide("violence.bullying", at=at, algorithm=variant(quick_act_cap)),
                      "education.school")
    assert school.action_due_at == at + timedelta(minutes=30)
    assert school.ack_due_at == school.action_due_at


# The calendar ---------------------------------------------------------------------------------

def test_calendar_knows_holidays_transfers_and_weekends() -> None:
    assert not CALENDAR.is_working_day(date(2026, 12, 16))  # holiday
    assert not CALENDAR.is_working_day(date(2026, 5, 11))  # transfer
    assert not CALENDAR.is_working_day(date(2026, 12, 19))  # Saturday
    assert CALENDAR.is_working_day(date(2026, 12, 17))


def test_add_working_days_keeps_the_local_time() -> None:
    due = CALENDAR.add_working_days(local(2026, 12, 15, 23, 59, 30), 1, TZ)
    assert due == local(2026, 12, 17, 23, 59, 30)
    assert CALENDAR.add_working_days(local(2026, 12, 15, 10), 0, TZ) == local(2026, 12, 15, 10)


def test_working_days_count_from_the_local_date_not_the_utc_date() -> None:
    # 02:00 on Thursday in Almaty is still Wednesday in UTC.
    due = CALENDAR.add_working_days(local(2026, 12, 17, 2, 0), 1, TZ)
    assert due == local(2026, 12, 18, 2, 0)


def test_a_year_missing_from_the_calendar_counts_weekends_only_and_says_so() -> None:
    assert CALENDAR.missing_years(range(2024, 2032)) == (2031,)
    assert not CALENDAR.covers(2031)
    # 1 January 2031 is a Wednesday; without data it counts as a working day.
    result = CALENDAR.add_working_days_checked(local(2030, 12, 31, 10, 0), 1, TZ)
    assert result.at == local(2031, 1, 1, 10, 0)
    assert result.uncovered_years == (2031,)
    friday = CALENDAR.add_working_days_checked(local(2031, 1, 3, 10, 0), 3, TZ)
    assert friday.at == local(2031, 1, 8, 10, 0)
    assert CALENDAR.add_working_days_checked(local(2030, 12, 16, 10), 1, TZ).uncovered_years == ()


def test_a_decision_in_an_uncovered_year_is_made_and_warns() -> None:
    decision = decide("violence.bullying", at=local(2031, 12, 12, 10, 0))  # Friday
    assert referral(decision, "education.school").ack_due_at == local(2031, 12, 15, 10, 0)
    assert referral(decision, "education.school").action_due_at == local(2031, 12, 17, 10, 0)
    assert decision.calendar_warnings == (2031,)


def test_p2_in_an_uncovered_year_does_not_warn_when_no_working_day_counted() -> None:
    decision = decide("mental_health.self_harm", at=local(2031, 12, 12, 10, 0))
    assert decision.calendar_warnings == ()


def test_extra_days_off_from_a_decree() -> None:
    calendar = WorkingCalendar.from_csv(DATA / "holidays-KZ.csv",
                                        extra_days_off=[date(2026, 12, 17)])
    due = calendar.add_working_days(local(2026, 12, 15, 10), 1, TZ)
    assert due == local(2026, 12, 18, 10)


def test_calendar_refuses_naive_moments_and_negative_counts() -> None:
    with pytest.raises(ValueError, match="aware"):
        CALENDAR.add_working_days(datetime(2026, 12, 15, 10), 1, TZ)
    with pytest.raises(ValueError, match="negative"):
        CALENDAR.add_working_days(local(2026, 12, 15, 10), -1, TZ)


def test_calendar_csv_with_a_bad_row_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text("date,kind,name_en\n2026-01-01,holiday,New Year\n2026-13-01,holiday,X\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        WorkingCalendar.from_csv(path)
    path.write_text("date,kind\n2026-01-01,festival\n", encoding="utf-8")
    with pytest.raises(ValueError, match="kind"):
        WorkingCalendar.from_csv(path)


# Output times ---------------------------------------------------------------------------------

def test_times_show_the_offset_of_the_deployment_at_that_instant() -> None:
    assert format_time(datetime(2026, 11, 20, 9, 2, 59, 999999, tzinfo=UTC), TZ) == (
        "2026-11-20T14:02:59+05:00")
    # Almaty was UTC+6 before March 2024: the time-zone database decides.
    assert format_time(datetime(2023, 6, 1, 4, 0, tzinfo=UTC), TZ) == "2023-06-01T10:00:00+06:00"
