"""The rules of routing.md §3 with the default algorithm 2026.1: each one firing and not firing
at its boundary, merging, lead selection, urgency, instructions (§6), registers (§7), the
decision's JSON (§9)."""

from __future__ import annotations

from datetime import datetime

import pytest

from referrals.routing import (
    ChildFacts,
    Decision,
    Facts,
    ReferralProposal,
    decision_to_json,
    parse_facts,
    route,
)
from tests.referrals.routing.engine_inputs import ALGORITHM, CALENDAR, GEOGRAPHY, TZ

SUBMITTED = datetime(2026, 11, 20, 10, 2, tzinfo=TZ)

FAMILY = ("parent", "step_parent", "caregiver", "household_member")
NOT_FAMILY = ("relative", "partner", "school_staff", "peer", "stranger", "online_contact",
              "unknown", "none")


def decide(*categories: str, urgency: str | None = "P3", flags: tuple[str, ...] = (),
           age: int | None = 12, relation: str = "none", place: str = "other",
           child_flags: tuple[str, ...] = (), contact_type: str = "child_self") -> Decision:
    facts = Facts(
        contact_type=contact_type,
        urgency=urgency,
        categories=categories,
        child=ChildFacts(age=age, region="KZ-27", flags=child_flags),
        perpetrator_relation=relation,
        flags=flags,
        place=place,
        submitted_at=SUBMITTED,
    )
    return route(facts, ALGORITHM, CALENDAR, TZ)


def by_service(decision: Decision) -> dict[str, ReferralProposal]:
    return {r.service: r for r in decision.referrals}


def mandatory_map(decision: Decision) -> dict[str, bool]:
    return {r.service: r.mandatory for r in decision.referrals}


# Rule 1 -------------------------------------------------------------------------------------

def test_immediate_danger_alone_calls_police_emergency_and_leads_police() -> None:
    decision = decide("family.relationship_with_caregiver", flags=("immediate_danger",))
    assert decision.matched_rules == ("immediate-danger",)
    assert mandatory_map(decision) == {"police.emergency": True}
    assert decision.urgency == "P1"
    assert decision.lead == "police"
    assert decision.reason is None
    assert decision.instructions == ("call_102_now",)


def test_without_the_immediate_danger_flag_rule_1_does_not_fire() -> None:
    decision = decide("family.relationship_with_caregiver", flags=("ongoing", "injury"))
    assert decision.matched_rules == ()
    assert decision.reason == "no-rule-matched"


@pytest.mark.parametrize(("category", "lead"), [
    ("violence.bullying", "education"),
    ("mental_health.self_harm", "health"),
    ("violence.sexual", "police"),
])
def test_immediate_danger_with_another_rule_takes_that_rules_lead(category: str,
                                                                  lead: str) -> None:
    decision = decide(category, flags=("immediate_danger",))
    assert decision.matched_rules[0] == "immediate-danger"
    assert len(decision.matched_rules) == 2
    assert decision.lead == lead
    assert decision.referrals[0].service == "police.emergency"


# Rule 2 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("category", [
    "violence.sexual", "violence.sexual_exploitation", "violence.online_sexual_abuse",
])
def test_sexual_violence(category: str) -> None:
    decision = decide(category, relation="stranger")
    assert decision.matched_rules == ("sexual-violence",)
    assert mandatory_map(decision) == {
        "police.juvenile_inspector": True, "education.guardianship": True,
        "health.forensic_exam": True, "commission.case_control": True,
    }
    assert [r.service for r in decision.referrals] == [
        "police.juvenile_inspector", "education.guardianship", "health.forensic_exam",
        "commission.case_control",
    ]
    assert decision.urgency == "P2"
    assert decision.lead == "police"
    assert decision.instructions == ("do_not_interview_child",)
    assert decision.registers == ("reconciliation",)


@pytest.mark.parametrize("category", ["violence.emotional", "sexuality.behaviour",
                                      "physical_health.sexual_reproductive"])
def test_sexual_violence_does_not_fire_for_neighbouring_categories(category: str) -> None:
    assert "sexual-violence" not in decide(category).matched_rules


# Rule 3 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("category", ["missing.runaway", "missing.lost", "missing.abduction"])
def test_missing_child(category: str) -> None:
    decision = decide(category)
    assert decision.matched_rules == ("missing-child",)
    assert mandatory_map(decision) == {"police.emergency": True, "education.guardianship": True}
    assert decision.urgency == "P1"
    assert decision.lead == "police"
    assert decision.instructions == ("call_102_now",)


def test_missing_child_does_not_fire_outside_the_missing_group() -> None:
    assert decide("family.alternative_care").matched_rules == ()


# Rule 4 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("category", [
    "violence.trafficking", "violence.child_labour", "violence.child_marriage",
])
def test_trafficking_labour_marriage(category: str) -> None:
    decision = decide(category)
    assert decision.matched_rules == ("trafficking-labour-marriage",)
    assert mandatory_map(decision) == {
        "police.juvenile_inspector": True, "education.guardianship": True,
        "commission.case_control": True,
    }
    assert (decision.urgency, decision.lead) == ("P2", "police")


# Rule 5 -------------------------------------------------------------------------------------

def test_suicide_attempt_without_injury_or_ongoing_is_p2() -> None:
    decision = decide("mental_health.suicide_attempt")
    assert decision.matched_rules == ("suicide-attempt",)
    assert [r.service for r in decision.referrals] == [
        "health.mental_health", "police.juvenile_inspector",
        "education.psychological_support", "commission.case_control",
    ]
    assert all(r.mandatory for r in decision.referrals)
    assert (decision.urgency, decision.lead) == ("P2", "health")
    assert decision.instructions == ()


@pytest.mark.parametrize("flag", ["injury", "ongoing"])
def test_suicide_attempt_with_injury_or_ongoing_is_p1_and_calls_103(flag: str) -> None:
    decision = decide("mental_health.suicide_attempt", flags=(flag,))
    assert decision.urgency == "P1"
    assert decision.instructions == ("call_102_now", "call_103_now")


def test_injury_without_suicide_attempt_does_not_call_103() -> None:
    decision = decide("mental_health.self_harm", flags=("injury",))
    assert "call_103_now" not in decision.instructions


# Rule 6 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("relation", FAMILY)
@pytest.mark.parametrize("category", [
    "violence.physical", "violence.emotional", "violence.domestic", "violence.neglect",
])
def test_family_violence_by_every_family_relation(category: str, relation: str) -> None:
    decision = decide(category, relation=relation)
    assert decision.matched_rules[0] == "family-violence"
    assert decision.lead == "education"
    assert decision.urgency == "P2"
    services = mandatory_map(decision)
    assert services["police.juvenile_inspector"] is True
    assert services["education.guardianship"] is True
    assert services["commission.case_control"] is True
    assert "health.medical_care" not in services


def test_family_violence_with_injury_adds_medical_care() -> None:
    decision = decide("violence.domestic", relation="parent", flags=("injury",))
    assert mandatory_map(decision)["health.medical_care"] is True


@pytest.mark.parametrize("relation", ["relative", "partner"])
@pytest.mark.parametrize("category", ["violence.emotional", "violence.domestic"])
def test_the_deliberate_gap_relative_or_partner_fires_no_rule(category: str,
                                                              relation: str) -> None:
    decision = decide(category, relation=relation)
    assert decision.matched_rules == ()
    assert decision.reason == "no-rule-matched"
    assert decision.referrals == ()
    assert decision.lead is None


@pytest.mark.parametrize("relation", NOT_FAMILY)
def test_family_violence_needs_a_family_perpetrator(relation: str) -> None:
    assert "family-violence" not in decide("violence.physical", relation=relation).matched_rules


# Rule 7 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("category", ["mental_health.suicidal_thoughts", "mental_health.self_harm"])
def test_self_harm_risk(category: str) -> None:
    decision = decide(category)
    assert decision.matched_rules == ("self-harm-risk",)
    assert mandatory_map(decision) == {
        "health.mental_health": True, "education.psychological_support": True,
    }
    assert (decision.urgency, decision.lead) == ("P2", "health")


def test_self_harm_risk_does_not_fire_for_anxiety() -> None:
    assert decide("mental_health.anxiety").matched_rules == ()


# Rule 8 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("age", "police"), [(0, True), (15, True), (16, False), (17, False),
                                             (None, True)])
def test_minor_pregnancy_police_below_16_or_unknown_age(age: int | None, police: bool) -> None:
    decision = decide("physical_health.pregnancy", age=age)
    assert decision.matched_rules == ("minor-pregnancy",)
    services = mandatory_map(decision)
    assert services["health.medical_care"] is True
    assert services["education.guardianship"] is True
    assert ("police.juvenile_inspector" in services) is police
    assert (decision.urgency, decision.lead) == ("P2", "health")
    assert decision.registers == ("reconciliation",)


# Rule 9 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("age", "urgency"), [(6, "P2"), (7, "P3"), (0, "P2"), (None, "P3")])
def test_neglect_urgency_depends_on_age_under_7_unknown_age_is_not_under_7(
        age: int | None, urgency: str) -> None:
    decision = decide("violence.neglect", relation="stranger", age=age)
    assert decision.matched_rules == ("neglect-without-care",)
    assert decision.urgency == urgency
    assert mandatory_map(decision) == {
        "education.guardianship": True, "commission.case_control": True,
        "police.juvenile_inspector": False,
    }
    assert decision.lead == "education"


def test_child_alone_fires_rule_9_at_p2_without_any_category_of_neglect() -> None:
    decision = decide("family.relationship_with_caregiver", flags=("child_alone",), age=10)
    assert decision.matched_rules == ("neglect-without-care",)
    assert decision.urgency == "P2"


def test_neglect_by_a_parent_fires_rules_6_and_9_and_police_becomes_mandatory() -> None:
    decision = decide("violence.neglect", relation="parent", age=10)
    assert decision.matched_rules == ("family-violence", "neglect-without-care")
    police = by_service(decision)["police.juvenile_inspector"]
    assert police.mandatory is True
    assert police.rules == ("family-violence", "neglect-without-care")
    assert decision.lead == "education"


# Rule 10 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("relation", ["stranger", "relative", "partner", "online_contact",
                                      "unknown", "none"])
def test_physical_violence_outside_family(relation: str) -> None:
    decision = decide("violence.physical", relation=relation, place="street")
    assert decision.matched_rules == ("physical-violence-outside-family",)
    assert mandatory_map(decision) == {"police.juvenile_inspector": True}
    assert (decision.urgency, decision.lead) == ("P2", "police")


def test_physical_violence_by_a_peer_asks_the_school() -> None:
    decision = decide("violence.physical", relation="peer", place="street")
    assert mandatory_map(decision) == {"police.juvenile_inspector": True,
                                       "education.school": True}


def test_physical_violence_at_school_by_a_stranger_asks_the_school() -> None:
    decision = decide("violence.physical", relation="stranger", place="school")
    assert "education.school" in mandatory_map(decision)


def test_physical_violence_at_school_by_school_staff_never_asks_the_school() -> None:
    decision = decide("violence.physical", relation="school_staff", place="school")
    assert decision.matched_rules == ("physical-violence-outside-family",
                                      "school-staff-violation")
    services = mandatory_map(decision)
    assert "education.school" not in services
    assert services["education.guardianship"] is True


def test_physical_violence_with_injury_adds_medical_care() -> None:
    decision = decide("violence.physical", relation="stranger", flags=("injury",))
    assert [r.service for r in decision.referrals] == ["police.juvenile_inspector",
                                                       "health.medical_care"]


# Rule 11 ------------------------------------------------------------------------------------

def test_staff_violation_category_asks_the_education_department_not_the_school() -> None:
    decision = decide("education.staff_violation")
    assert decision.matched_rules == ("school-staff-violation",)
    assert mandatory_map(decision) == {"education.guardianship": True}
    assert (decision.urgency, decision.lead) == ("P2", "education")


def test_school_staff_perpetrator_fires_rule_11_whatever_the_category() -> None:
    decision = decide("violence.emotional", relation="school_staff")
    assert decision.matched_rules == ("school-staff-violation",)


def test_school_problems_without_staff_fire_no_rule() -> None:
    assert decide("education.school_problems", relation="peer").matched_rules == ()


# Rule 12 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("category", ["violence.bullying", "violence.cyberbullying"])
def test_bullying(category: str) -> None:
    decision = decide(category, relation="peer")
    assert decision.matched_rules == ("bullying",)
    assert mandatory_map(decision) == {"education.school": True,
                                       "education.psychological_support": False}
    assert (decision.urgency, decision.lead) == ("P3", "education")


def test_bullying_with_injury_adds_police() -> None:
    decision = decide("violence.bullying", relation="peer", flags=("injury",))
    assert mandatory_map(decision)["police.juvenile_inspector"] is True


def test_bullying_by_school_staff_never_asks_the_school_global_constraint() -> None:
    decision = decide("violence.bullying", relation="school_staff", place="school")
    services = mandatory_map(decision)
    assert "education.school" not in services
    assert services["education.guardianship"] is True  # rule 11 brings the department in
    assert decision.matched_rules == ("school-staff-violation", "bullying")


# Rule 13 ------------------------------------------------------------------------------------

def test_offending_brings_commission_police_and_school() -> None:
    decision = decide("legal.offending")
    assert decision.matched_rules == ("offending-substances-truancy",)
    assert mandatory_map(decision) == {"commission.case_control": True,
                                       "police.juvenile_inspector": True,
                                       "education.school": False}
    assert (decision.urgency, decision.lead) == ("P3", "commission")


def test_substance_use_brings_mental_health_but_not_police() -> None:
    decision = decide("mental_health.substance_use")
    assert mandatory_map(decision) == {"commission.case_control": True,
                                       "education.school": False,
                                       "health.mental_health": False}


def test_truancy_brings_commission_and_school_only() -> None:
    decision = decide("education.truancy")
    assert mandatory_map(decision) == {"commission.case_control": True,
                                       "education.school": False}


def test_rights_violation_is_not_offending() -> None:
    assert decide("legal.rights_violation").matched_rules == ()


def test_offending_by_a_school_staff_perpetrator_drops_the_school() -> None:
    decision = decide("legal.offending", relation="school_staff")
    assert "education.school" not in mandatory_map(decision)


# Merging, ordering, lead ---------------------------------------------------------------------

def test_same_service_from_two_rules_is_one_referral_mandatory_if_any_listing_both_rules() -> None:
    decision = decide("mental_health.self_harm", "violence.bullying", relation="peer")
    assert decision.matched_rules == ("self-harm-risk", "bullying")
    assert [r.service for r in decision.referrals] == [
        "health.mental_health", "education.psychological_support", "education.school",
    ]
    support = by_service(decision)["education.psychological_support"]
    assert support.mandatory is True  # mandatory in rule 7, suggested in rule 12
    assert support.rules == ("self-harm-risk", "bullying")
    assert decision.lead == "health"


def test_rules_are_listed_in_table_order_whatever_the_category_order() -> None:
    decision = decide("legal.offending", "violence.sexual", "missing.runaway")
    assert decision.matched_rules == ("sexual-violence", "missing-child",
                                      "offending-substances-truancy")
    assert decision.lead == "police"
    assert [r.service for r in decision.referrals] == [
        "police.juvenile_inspector", "education.guardianship", "health.forensic_exam",
        "commission.case_control", "police.emergency", "education.school",
    ]
    assert by_service(decision)["commission.case_control"].rules == (
        "sexual-violence", "offending-substances-truancy")


def test_final_urgency_is_the_highest_of_operator_and_rules() -> None:
    assert decide("violence.bullying", urgency="P1").urgency == "P1"
    assert decide("violence.bullying", urgency="P2").urgency == "P2"
    assert decide("violence.bullying", urgency="P3").urgency == "P3"
    assert decide("violence.sexual", urgency="P3").urgency == "P2"


# Not routable, no rule ----------------------------------------------------------------------

@pytest.mark.parametrize("contact_type", ["information", "silent", "prank", "abusive",
                                          "wrong_number", "feedback"])
@pytest.mark.parametrize("urgency", [None, "P1", "P3"])
def test_non_routable_contact_types(contact_type: str, urgency: str | None) -> None:
    decision = decide("violence.sexual", contact_type=contact_type, urgency=urgency,
                      flags=("immediate_danger",), child_flags=("orphan",))
    assert decision == Decision(
        routable=False, reason="not-routable", algorithm_version="2026.1", urgency=urgency,
        lead=None, matched_rules=(), referrals=(), instructions=(), registers=(),
    )


@pytest.mark.parametrize("contact_type", ["child_self", "third_party", "follow_up"])
def test_routable_contact_types_route_alike(contact_type: str) -> None:
    decision = decide("violence.sexual", contact_type=contact_type)
    assert decision.routable
    assert decision.matched_rules == ("sexual-violence",)


def test_p4_is_not_routed_even_with_a_category_a_rule_covers() -> None:
    decision = decide("violence.bullying", urgency="P4", child_flags=("orphan",))
    assert (decision.routable, decision.reason, decision.urgency) == (False, "not-routable", "P4")
    assert decision.registers == ()


def test_no_rule_matched_at_p1_still_carries_call_102_now() -> None:
    decision = decide("mental_health.anxiety", urgency="P1")
    assert decision.routable
    assert decision.reason == "no-rule-matched"
    assert decision.referrals == ()
    assert decision.lead is None
    assert decision.urgency == "P1"
    assert decision.instructions == ("call_102_now",)


def test_no_rule_matched_still_feeds_the_risk_group_register() -> None:
    decision = decide("family.divorce_custody", child_flags=("orphan",))
    assert decision.reason == "no-rule-matched"
    assert decision.registers == ("risk_group",)


# Instructions and registers ------------------------------------------------------------------

def test_instructions_come_in_the_order_of_section_6() -> None:
    decision = decide("violence.sexual", "mental_health.suicide_attempt", flags=("injury",))
    assert decision.instructions == ("call_102_now", "call_103_now", "do_not_interview_child")


def test_registers_list_reconciliation_before_risk_group() -> None:
    decision = decide("physical_health.pregnancy", child_flags=("pregnancy", "orphan"))
    assert decision.registers == ("reconciliation", "risk_group")


def test_categories_alone_never_put_a_child_on_the_risk_group_register() -> None:
    decision = decide("mental_health.suicide_attempt", "violence.domestic", relation="parent")
    assert decision.registers == ()


# JSON (§9) ----------------------------------------------------------------------------------

def test_the_section_9_example_end_to_end() -> None:
    facts = parse_facts(
        {"contact_type": "child_self", "categories": ["violence.sexual"], "urgency": "P2",
         "child": {"age": 12, "region": "KZ-27", "district": "KZ-27-TEREKTI"},
         "perpetrator": {"relation": "stranger"},
         "submitted_at": "2026-11-20T10:02:00+05:00"},
        GEOGRAPHY, datetime(2030, 1, 1, tzinfo=TZ),
    )
    body = decision_to_json(route(facts, ALGORITHM, CALENDAR, TZ), TZ)
    ack, act = "2026-11-20T14:02:00+05:00", "2026-11-21T10:02:00+05:00"
    assert body == {
        "routable": True,
        "reason": None,
        "algorithm_version": "2026.1",
        "urgency": "P2",
        "lead": "police",
        "matched_rules": ["sexual-violence"],
        "referrals": [
            {"agency": agency, "service": service, "mandatory": True,
             "rules": ["sexual-violence"], "ack_due_at": ack, "action_due_at": act}
            for agency, service in [
                ("police", "police.juvenile_inspector"),
                ("education", "education.guardianship"),
                ("health", "health.forensic_exam"),
                ("commission", "commission.case_control"),
            ]
        ],
        "instructions": ["do_not_interview_child"],
        "registers": ["reconciliation"],
    }
    assert list(body) == ["routable", "reason", "algorithm_version", "urgency", "lead",
                          "matched_rules", "referrals", "instructions", "registers"]
    assert list(body["referrals"][0]) == ["agency", "service", "mandatory", "rules",
                                          "ack_due_at", "action_due_at"]


def test_json_of_a_not_routable_decision() -> None:
    body = decision_to_json(decide(contact_type="silent", urgency=None), TZ)
    assert body == {
        "routable": False, "reason": "not-routable", "algorithm_version": "2026.1",
        "urgency": None, "lead": None, "matched_rules": [], "referrals": [],
        "instructions": [], "registers": [],
    }


def test_json_can_carry_calendar_warnings_at_the_end() -> None:
    body = decision_to_json(decide("violence.bullying"), TZ, include_warnings=True)
    assert list(body)[-1] == "calendar_warnings"
    assert body["calendar_warnings"] == []
