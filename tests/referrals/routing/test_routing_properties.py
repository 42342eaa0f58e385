"""Properties of the engine over generated facts (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings

from referrals.routing import Facts, WorkingCalendar, facts_to_json, parse_facts, route
from tests.referrals.routing.engine_inputs import ALGORITHM, CALENDAR, DATA, GEOGRAPHY, TZ, facts

RANK = {code: rank for rank, code in enumerate(ALGORITHM.urgency_order)}


@settings(max_examples=250, deadline=None)
@given(facts())
def test_final_urgency_is_never_below_the_operators(subject: Facts) -> None:
    decision = route(subject, ALGORITHM, CALENDAR, TZ)
    assert decision.urgency is not None
    assert RANK[decision.urgency] <= RANK[subject.urgency or ""]


@settings(max_examples=250, deadline=None)
@given(facts())
def test_every_referral_names_fired_rules(subject: Facts) -> None:
    decision = route(subject, ALGORITHM, CALENDAR, TZ)
    for referral in decision.referrals:
        assert referral.rules
        assert set(referral.rules) <= set(decision.matched_rules)
        assert list(referral.rules) == sorted(referral.rules,
                                              key=decision.matched_rules.index)
        if referral.mandatory:
            fired = [r for r in ALGORITHM.rules if r.id in referral.rules]
            assert any(ref.mandatory for r in fired for ref in r.referrals
                       if ref.service == referral.service)


@settings(max_examples=300, deadline=None)
@given(facts())
def test_routing_is_deterministic(subject: Facts) -> None:
    fresh_calendar = WorkingCalendar.from_csv(DATA / "holidays-KZ.csv")
    assert route(subject, ALGORITHM, CALENDAR, TZ) == route(subject, ALGORITHM, fresh_calendar,
                                                           TZ)


@settings(max_examples=250, deadline=None)
@given(facts())
def test_decision_invariants(subject: Facts) -> None:
    decision = route(subject, ALGORITHM, CALENDAR, TZ)
    assert (decision.lead is None) == (not decision.referrals)
    assert (decision.reason is None) == bool(decision.referrals)
    services = [r.service for r in decision.referrals]
    assert len(services) == len(set(services))
    if subject.perpetrator_relation == "school_staff":
        assert "education.school" not in services
    for referral in decision.referrals:
        assert subject.submitted_at < referral.ack_due_at <= referral.action_due_at
        if referral.service == "police.emergency":
            assert referral.action_due_at <= subject.submitted_at + timedelta(hours=1)
    if not ALGORITHM.is_routable(subject):
        assert (decision.routable, decision.reason) == (False, "not-routable")
        assert decision.urgency == subject.urgency


@settings(max_examples=200, deadline=None)
@given(facts())
def test_facts_survive_a_json_round_trip(subject: Facts) -> None:
    assume(subject.categories)  # without any, a routable contact's facts are invalid
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_facts(facts_to_json(subject, TZ), GEOGRAPHY, now) == subject
