"""Algorithm 2026.2 (issue 14): each of its seven changes at its boundaries, and the diff from
2026.1 read as the issue's list."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
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
    WorkingHours,
    bundled_algorithm,
    default_algorithm,
    diff_algorithms,
    load_algorithm,
    route,
    service_deadlines,
)
from tests.referrals.routing.engine_inputs import CALENDAR, TZ

ALGORITHM = bundled_algorithm("2026.2")
OLD = bundled_algorithm("2026.1")
# A normal week: Monday 16 November 2026 to Friday 20 November, no holiday.
TUESDAY = date(2026, 11, 17)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def decide(*categories: str, when: datetime | None = None, urgency: str = "P3",
           flags: tuple[str, ...] = (), relation: str = "none", place: str = "other",
           age: int | None = 12, algorithm: Algorithm = ALGORITHM,
           calendar: WorkingCalendar = CALENDAR, hours: Any = None) -> Decision:
    facts = Facts(contact_type="child_self", urgency=urgency, categories=categories,
                  child=ChildFacts(age=age, region="KZ-27"), perpetrator_relation=relation,
                  flags=flags, place=place, submitted_at=when or at(TUESDAY, 10))
    return route(facts, algorithm, calendar, TZ, hours=hours)


def by_service(decision: Decision) -> dict[str, ReferralProposal]:
    return {r.service: r for r in decision.referrals}


def mandatory_map(decision: Decision) -> dict[str, bool]:
    return {r.service: r.mandatory for r in decision.referrals}


def variant(change: Any) -> Algorithm:
    data = yaml.safe_load(ALGORITHM.source_text)
    data["version"] = "test"
    change(data)
    return load_algorithm(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_2026_2_is_the_bundled_default_and_2026_1_stays_bundled() -> None:
    assert default_algorithm() is ALGORITHM
    assert ALGORITHM.version == "2026.2" and OLD.version == "2026.1"
    assert [r.id for r in ALGORITHM.rules][-2:] == ["offending-substances-truancy", "truancy"]
    assert [r.number for r in ALGORITHM.rules] == list(range(1, 15))


# 1. Sexual violence: medical care, not a forensic examination --------------------------------

@pytest.mark.parametrize("category", ["violence.sexual", "violence.sexual_exploitation",
                                      "violence.online_sexual_abuse"])
def test_sexual_violence_asks_for_medical_care_not_a_forensic_exam(category: str) -> None:
    decision = decide(category)
    assert mandatory_map(decision) == {
        "police.juvenile_inspector": True, "education.guardianship": True,
        "health.medical_care": True, "commission.case_control": True}
    assert decision.instructions == ("do_not_interview_child", "police_orders_forensic_exam")
    assert decision.lead == "police"
    # 2026.1 asked for the examination and has no such instruction
    old = decide(category, algorithm=OLD)
    assert "health.forensic_exam" in mandatory_map(old)
    assert old.instructions == ("do_not_interview_child",)


def test_no_rule_of_2026_2_asks_for_a_forensic_exam_but_its_label_stays() -> None:
    services = {ref.service for rule in ALGORITHM.rules for ref in rule.referrals}
    assert "health.forensic_exam" not in services
    assert ALGORITHM.label("service", "health.forensic_exam", "ru")  # old referrals keep it


def test_the_forensic_instruction_comes_only_with_sexual_violence() -> None:
    decision = decide("violence.physical", relation="parent", flags=("injury",))
    assert "health.medical_care" in mandatory_map(decision)
    assert "police_orders_forensic_exam" not in decision.instructions


def test_the_24_hour_cap_moves_to_medical_care_when_rule_2_produced_it() -> None:
    # P2 acts within 24 hours anyway: with P2 at 48 hours the cap becomes visible.
    def slower_p2(data: dict[str, Any]) -> None:
        data["urgencies"][1]["act"] = {"hours": 48}

    algorithm = variant(slower_p2)
    start = at(TUESDAY, 10)
    sexual = by_service(decide("violence.sexual", when=start, algorithm=algorithm))
    assert sexual["health.medical_care"].action_due_at == start + timedelta(hours=24)
    assert sexual["police.juvenile_inspector"].action_due_at == start + timedelta(hours=48)
    family = by_service(decide("violence.physical", relation="parent", flags=("injury",),
                               when=start, algorithm=algorithm))
    assert family["health.medical_care"].action_due_at == start + timedelta(hours=48)
    assert "health.forensic_exam" not in ALGORITHM.service_caps


# 2. Ongoing or with injury: P1 ------------------------------------------------------------------

@pytest.mark.parametrize("flags, urgency", [((), "P2"), (("ongoing",), "P1"),
                                            (("injury",), "P1"), (("child_alone",), "P2")])
def test_sexual_violence_is_p1_when_ongoing_or_with_injury(flags: tuple[str, ...],
                                                           urgency: str) -> None:
    decision = decide("violence.sexual", flags=flags)
    assert decision.urgency == urgency
    assert ("call_102_now" in decision.instructions) is (urgency == "P1")
    assert decide("violence.sexual", flags=flags, algorithm=OLD).urgency == "P2"


# 3. The domestic-violence law's circle -----------------------------------------------------------

@pytest.mark.parametrize("relation", ["relative", "partner"])
@pytest.mark.parametrize("category", ["violence.physical", "violence.emotional",
                                      "violence.domestic", "violence.neglect"])
def test_relatives_and_partners_are_family_in_2026_2(category: str, relation: str) -> None:
    decision = decide(category, relation=relation)
    assert "family-violence" in decision.matched_rules
    assert "physical-violence-outside-family" not in decision.matched_rules
    assert decision.lead == "education"
    assert "family-violence" not in decide(category, relation=relation,
                                           algorithm=OLD).matched_rules


@pytest.mark.parametrize("relation", ["school_staff", "peer", "stranger", "online_contact",
                                      "unknown", "none"])
def test_others_stay_outside_the_family(relation: str) -> None:
    decision = decide("violence.physical", relation=relation)
    assert "family-violence" not in decision.matched_rules
    assert "physical-violence-outside-family" in decision.matched_rules


# 4. Working-time clocks for office-hours bodies ----------------------------------------------------

def test_which_services_count_working_time() -> None:
    assert ALGORITHM.office_hours_services == {
        "education.guardianship", "education.school", "education.psychological_support",
        "education.department", "commission.case_control"}
    assert not OLD.office_hours_services


def test_the_issue_example_p2_to_guardianship_at_17_on_a_tuesday() -> None:
    decision = decide("violence.domestic", relation="parent", urgency="P2",
                      when=at(TUESDAY, 17))
    guardianship = by_service(decision)["education.guardianship"]
    assert guardianship.ack_due_at == at(TUESDAY + timedelta(days=1), 12)  # 1 h + 3 h
    # 24 working hours: 1 + 9 + 9 + 5 -> Friday 14:00, before the 3-working-day cap (17:00)
    assert guardianship.action_due_at == at(TUESDAY + timedelta(days=3), 14)
    police = by_service(decision)["police.juvenile_inspector"]  # round the clock: unchanged
    assert police.ack_due_at == at(TUESDAY, 21)
    assert police.action_due_at == at(TUESDAY + timedelta(days=1), 17)
    old = by_service(decide("violence.domestic", relation="parent", urgency="P2",
                            when=at(TUESDAY, 17), algorithm=OLD))
    assert old["education.guardianship"].ack_due_at == at(TUESDAY, 21)


@pytest.mark.parametrize("submitted, ack", [
    (at(TUESDAY, 8, 0), at(TUESDAY, 13)),             # before opening: counts from 09:00
    (at(TUESDAY, 9, 0), at(TUESDAY, 13)),
    (at(TUESDAY, 14, 0), at(TUESDAY, 18)),            # uses the day up: 18:00, not 09:00
    (at(TUESDAY, 14, 1), at(TUESDAY + timedelta(days=1), 9, 1)),
    (at(TUESDAY, 18, 0), at(TUESDAY + timedelta(days=1), 13)),
    (at(TUESDAY, 23, 30), at(TUESDAY + timedelta(days=1), 13)),
    (at(date(2026, 11, 20), 17), at(date(2026, 11, 23), 12)),   # Friday -> Monday
    (at(date(2026, 11, 21), 11), at(date(2026, 11, 23), 13)),   # Saturday -> Monday
    (at(date(2026, 12, 15), 17), at(date(2026, 12, 17), 12)),   # 16 Dec is a holiday
])
def test_p2_acknowledgement_in_working_time(submitted: datetime, ack: datetime) -> None:
    decision = decide("violence.bullying", urgency="P2", when=submitted)
    assert by_service(decision)["education.school"].ack_due_at == ack


def test_p1_to_an_office_hours_body_at_night_is_due_at_opening_plus_15_minutes() -> None:
    decision = decide("missing.runaway", when=at(TUESDAY, 23))
    referrals = by_service(decision)
    assert referrals["education.guardianship"].ack_due_at == at(TUESDAY + timedelta(days=1),
                                                                9, 15)
    assert referrals["education.guardianship"].action_due_at == at(
        TUESDAY + timedelta(days=1), 11)
    assert referrals["police.emergency"].ack_due_at == at(TUESDAY, 23, 15)


def test_p3_still_counts_working_days_for_office_hours_bodies() -> None:
    decision = decide("violence.bullying", when=at(TUESDAY, 22))
    school = by_service(decision)["education.school"]
    assert school.ack_due_at == at(TUESDAY + timedelta(days=1), 22)
    assert school.action_due_at == at(TUESDAY + timedelta(days=3), 22)


def test_a_units_own_hours_replace_the_default() -> None:
    def hours(service: str) -> WorkingHours:
        return WorkingHours(time(9), time(13)) if service == "education.school" else \
            WorkingHours()

    decision = decide("violence.bullying", "violence.sexual", urgency="P2",
                      when=at(TUESDAY, 12), hours=hours)
    referrals = by_service(decision)
    assert referrals["education.school"].ack_due_at == at(TUESDAY + timedelta(days=1), 12)
    assert referrals["education.guardianship"].ack_due_at == at(TUESDAY, 16)


def test_caps_apply_after_the_working_time_clock() -> None:
    # Friday 10:00, P2: 24 working hours end Tuesday 16:00; the guardianship cap of 3
    # working days (Wednesday 10:00) does not bite, the working-time act deadline stands.
    decision = decide("violence.domestic", relation="parent", urgency="P2",
                      when=at(date(2026, 11, 20), 10))
    guardianship = by_service(decision)["education.guardianship"]
    assert guardianship.action_due_at == at(date(2026, 11, 24), 16)
    # P1 at 17:50: 2 working hours end at 10:50 the next day; the ack 09:05 stays before it.
    decision = decide("missing.lost", when=at(TUESDAY, 17, 50))
    guardianship = by_service(decision)["education.guardianship"]
    assert guardianship.ack_due_at == at(TUESDAY + timedelta(days=1), 9, 5)
    assert guardianship.action_due_at == at(TUESDAY + timedelta(days=1), 10, 50)


def test_a_hand_made_referral_gets_the_same_clock() -> None:
    ack, act = service_deadlines("education.guardianship", "P2", at(TUESDAY, 17), ALGORITHM,
                                 CALENDAR, TZ)
    assert ack == at(TUESDAY + timedelta(days=1), 12)
    assert act == at(TUESDAY + timedelta(days=3), 14)
    ack, _ = service_deadlines("education.guardianship", "P2", at(TUESDAY, 17), ALGORITHM,
                                 CALENDAR, TZ, hours=WorkingHours(time(8), time(17)))
    assert ack == at(TUESDAY + timedelta(days=1), 12)  # 08:00 + 4 h
    ack, _ = service_deadlines("police.juvenile_inspector", "P2", at(TUESDAY, 17), ALGORITHM,
                               CALENDAR, TZ)
    assert ack == at(TUESDAY, 21)


def test_working_hours_must_be_a_daytime_range() -> None:
    with pytest.raises(ValueError):
        WorkingHours(time(18), time(9))
    assert WorkingHours.from_minutes(8 * 60 + 30, 17 * 60) == WorkingHours(time(8, 30), time(17))


# 5. Truancy starts at the school ------------------------------------------------------------------

def test_truancy_has_its_own_rule_led_by_the_school() -> None:
    decision = decide("education.truancy", urgency="P3")
    assert decision.matched_rules == ("truancy",)
    assert mandatory_map(decision) == {"education.school": True,
                                       "commission.case_control": False}
    assert decision.lead == "education"
    assert decision.urgency == "P3"
    assert decide("education.truancy", algorithm=OLD).lead == "commission"


@pytest.mark.parametrize("category", ["legal.offending", "mental_health.substance_use"])
def test_offending_and_substances_stay_with_the_commission(category: str) -> None:
    decision = decide(category)
    assert decision.matched_rules == ("offending-substances-truancy",)
    assert decision.lead == "commission"
    assert mandatory_map(decision)["commission.case_control"] is True


def test_truancy_with_offending_fires_both_and_the_commission_leads() -> None:
    decision = decide("education.truancy", "legal.offending")
    assert decision.matched_rules == ("offending-substances-truancy", "truancy")
    assert decision.lead == "commission"
    # the commission is mandatory when any rule made it so; both rules are named
    assert by_service(decision)["commission.case_control"].rules == (
        "offending-substances-truancy", "truancy")
    assert mandatory_map(decision)["commission.case_control"] is True


# 6. A complaint about school staff: the education department ----------------------------------

@pytest.mark.parametrize("category, relation", [("education.staff_violation", "none"),
                                                ("violence.emotional", "school_staff")])
def test_school_staff_go_to_the_education_department(category: str, relation: str) -> None:
    decision = decide(category, relation=relation, place="school")
    assert "school-staff-violation" in decision.matched_rules
    assert mandatory_map(decision)["education.department"] is True
    assert "education.guardianship" not in mandatory_map(decision)
    assert "education.school" not in mandatory_map(decision)


def test_truancy_reported_against_school_staff_never_asks_the_school() -> None:
    decision = decide("education.truancy", relation="school_staff")
    assert "education.school" not in mandatory_map(decision)
    assert mandatory_map(decision) == {"education.department": True,
                                       "commission.case_control": False}


# 7. Working Saturdays ---------------------------------------------------------------------------

WORKING_SATURDAY = date(2026, 11, 21)


def test_a_working_saturday_counts_as_a_working_day() -> None:
    calendar = WorkingCalendar(CALENDAR.days_off, frozenset({WORKING_SATURDAY}))
    friday = at(date(2026, 11, 20), 10)
    assert calendar.is_working_day(WORKING_SATURDAY)
    assert not CALENDAR.is_working_day(WORKING_SATURDAY)
    assert not calendar.is_working_day(date(2026, 11, 22))  # the Sunday stays off
    p3 = by_service(decide("violence.bullying", when=friday, calendar=calendar))
    assert p3["education.school"].ack_due_at == at(WORKING_SATURDAY, 10)
    assert p3["education.school"].action_due_at == at(date(2026, 11, 24), 10)
    p2 = by_service(decide("violence.bullying", urgency="P2", when=at(date(2026, 11, 20), 17),
                           calendar=calendar))
    assert p2["education.school"].ack_due_at == at(WORKING_SATURDAY, 12)
    without = by_service(decide("violence.bullying", urgency="P2",
                                when=at(date(2026, 11, 20), 17)))
    assert without["education.school"].ack_due_at == at(date(2026, 11, 23), 12)


def test_the_calendar_file_may_list_working_saturdays(tmp_path: Path) -> None:
    path = tmp_path / "days.csv"
    path.write_text("date,kind,name_en\n2026-11-21,working_day,Transfer decree\n"
                    "2026-11-23,transfer,Transfer decree\n", encoding="utf-8")
    calendar = WorkingCalendar.from_csv(path)
    assert calendar.working_weekend_days == {WORKING_SATURDAY}
    assert calendar.days_off == {date(2026, 11, 23)}
    path.write_text("date,kind,name_en\n2026-11-20,working_day,A Friday\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Saturday or Sunday"):
        WorkingCalendar.from_csv(path)


def test_working_time_at_the_utc_level() -> None:
    result = CALENDAR.add_working_time(datetime(2026, 11, 17, 12, 0, tzinfo=UTC),
                                       timedelta(hours=4), WorkingHours(), TZ)
    assert result.at == datetime(2026, 11, 18, 7, 0, tzinfo=UTC)  # Wednesday 12:00 local


# The diff 2026.1 -> 2026.2 reads as the issue's list ---------------------------------------------

def test_the_diff_from_2026_1_reads_as_the_list_of_changes() -> None:
    changes = [str(c) for c in diff_algorithms(OLD, ALGORITHM)]
    assert changes == [
        "version 2026.2: changed (was 2026.1)",
        # 1 and 2
        "rule sexual-violence: changed (referrals: -health.forensic_exam "
        "+health.medical_care; raise_urgency)",
        # 6
        "rule school-staff-violation: changed (referrals: -education.guardianship "
        "+education.department)",
        # 5
        "rule offending-substances-truancy: changed (when; label)",
        "rule truancy: added (as #14)",
        # issue 14, language item 4
        "agency commission: changed (labels)",
        # 3
        "relation relative: changed (labels)",
        "relation partner: changed (labels)",
        "action_code investigation_opened: changed (labels)",
        "outcome investigation_opened: changed (labels)",
        # 4
        "service education.guardianship: changed (clock: round_the_clock -> office_hours)",
        "service education.school: changed (clock: round_the_clock -> office_hours)",
        "service education.psychological_support: changed (clock: round_the_clock -> "
        "office_hours)",
        # 1: the 24-hour cap moves
        "service health.forensic_exam: changed (cap)",
        "service health.medical_care: changed (cap)",
        "service education.department: added",
        "service commission.case_control: changed (clock: round_the_clock -> office_hours)",
        "relation_group family: changed (labels, members: +relative +partner)",
        # language item 3: contact = хабарласу
        "contact_type silent: changed (labels)",
        "contact_type abusive: changed (labels)",
        "instruction police_orders_forensic_exam: added",
    ]
