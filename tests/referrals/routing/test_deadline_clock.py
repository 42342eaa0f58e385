"""The engine counts deadlines in local terms and comes back to UTC by ``timedelta`` arithmetic
where the zone's offset is stable (issue 13: routing throughput). It must give exactly the
instants the reference engine gets by converting every deadline through the zone, in zones
with daylight saving time as in the deployment's, and on the transition days themselves."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.routing import ChildFacts, Decision, Facts, ReferralProposal, WorkingHours, route
from referrals.routing.algorithm import Algorithm, bundled_algorithm
from referrals.routing.model import make_proposal, make_routed_decision
from tests.referrals.routing.engine_inputs import CALENDAR, facts
from tests.referrals.routing.reference_engine import reference_route

ALGORITHMS = [bundled_algorithm("2026.1"), bundled_algorithm("2026.2")]  # 2026.2: office hours
# Spring forward and fall back at 02:00 or 03:00, at midnight (Santiago), by half an hour
# (Lord Howe), and the deployment's own zone, which has had no transition since 2024.
ZONES = ["Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "Asia/Almaty"]
TRANSITIONS = [datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
               datetime(2026, 4, 5, 3, 0, tzinfo=UTC), datetime(2026, 9, 6, 4, 0, tzinfo=UTC),
               datetime(2026, 4, 4, 15, 0, tzinfo=UTC), datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
               datetime(2024, 2, 29, 19, 0, tzinfo=UTC)]
near_transitions = st.builds(lambda at, minutes: at + timedelta(minutes=minutes),
                             st.sampled_from(TRANSITIONS), st.integers(-4 * 24 * 60, 4 * 24 * 60))
# Each service its own hours, some starting before a 02:00 or 03:00 transition and some ending
# after it, so that working time is counted through the hour that is skipped or repeated.
SERVICE_HOURS = [WorkingHours(time(1, 30), time(4, 0)), WorkingHours(time(8, 0), time(17, 0)),
                 WorkingHours(time(0, 0), time(23, 59)), WorkingHours(time(9, 0), time(18, 0))]


def hours_by_service(service: str) -> WorkingHours:
    return SERVICE_HOURS[sum(map(ord, service)) % len(SERVICE_HOURS)]


@settings(max_examples=500, deadline=None)
@given(facts(), near_transitions, st.sampled_from(ZONES), st.sampled_from(ALGORITHMS),
       st.booleans())
def test_deadlines_are_the_reference_instants_around_transitions(
        found: Facts, moment: datetime, zone: str, algorithm: Algorithm, own_hours: bool) -> None:
    tz = ZoneInfo(zone)
    situation = replace(found, submitted_at=moment)
    hours = hours_by_service if own_hours else None
    decided = route(situation, algorithm, CALENDAR, tz, hours)
    assert decided == reference_route(situation, algorithm, CALENDAR, tz, hours)
    for proposal in decided.referrals:
        assert proposal.ack_due_at.tzinfo is UTC and proposal.action_due_at.tzinfo is UTC


def test_a_moment_given_in_another_zone_gives_deadlines_in_utc() -> None:
    algorithm = ALGORITHMS[1]
    local = datetime(2026, 11, 17, 17, 30, tzinfo=ZoneInfo("Asia/Almaty"))
    situation = Facts(contact_type="child_self", urgency="P2", categories=("violence.physical",),
                      child=ChildFacts(age=12), perpetrator_relation="parent", flags=("injury",),
                      place="home", submitted_at=local)
    decided = route(situation, algorithm, CALENDAR, ZoneInfo("Asia/Almaty"))
    assert decided.referrals
    assert decided == reference_route(situation, algorithm, CALENDAR, ZoneInfo("Asia/Almaty"))
    assert all(p.action_due_at.tzinfo is UTC for p in decided.referrals)


@pytest.mark.parametrize(("zone", "day", "offset"), [
    ("Europe/Berlin", date(2026, 3, 28), timedelta(hours=1)),
    ("Europe/Berlin", date(2026, 3, 29), None),  # 02:00 becomes 03:00
    ("Europe/Berlin", date(2026, 3, 30), timedelta(hours=2)),
    ("Europe/Berlin", date(2026, 10, 25), None),  # 03:00 becomes 02:00
    ("America/Santiago", date(2026, 4, 4), None),  # midnight of the 5th is repeated
    ("Australia/Lord_Howe", date(2026, 4, 5), None),  # half an hour back
    ("Asia/Almaty", date(2024, 2, 29), None),  # Kazakhstan moved to +05 on 1 March 2024
    ("Asia/Almaty", date(2026, 12, 3), timedelta(hours=5)),
])
def test_stable_offset_is_none_exactly_on_transition_days(zone: str, day: date,
                                                          offset: timedelta | None) -> None:
    assert CALENDAR.stable_offset(day, ZoneInfo(zone)) == offset
    assert CALENDAR.stable_offset(day, ZoneInfo(zone)) == offset  # remembered, the same


def test_the_fast_constructors_make_equal_frozen_values() -> None:
    due = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    proposal = make_proposal("police", "police.emergency", True, ("r1",), due, due + timedelta(hours=1))
    assert proposal == ReferralProposal(agency="police", service="police.emergency", mandatory=True,
                                        rules=("r1",), ack_due_at=due,
                                        action_due_at=due + timedelta(hours=1))
    decision = make_routed_decision("2026.2", "P1", "police", ("r1",), (proposal,), ("i",), ("g",), (2031,))
    assert decision == Decision(routable=True, reason=None, algorithm_version="2026.2", urgency="P1",
                                lead="police", matched_rules=("r1",), referrals=(proposal,),
                                instructions=("i",), registers=("g",), calendar_warnings=(2031,))
    assert hash(proposal) == hash(replace(proposal))
    with pytest.raises(FrozenInstanceError):
        proposal.service = "health.medical_care"  # type: ignore[misc]  # frozen on purpose
    with pytest.raises(FrozenInstanceError):
        decision.urgency = "P3"  # type: ignore[misc]  # frozen on purpose
