"""The engine remembers what it worked out per situation (issue 13): it must decide exactly as
the plain reading of the rules does (``reference_engine``), whatever it saw before."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.routing import ChildFacts, Facts, route
from referrals.routing.algorithm import bundled_algorithm
from referrals.routing.conditions import required_categories
from tests.referrals.routing.engine_inputs import ALGORITHM, CALENDAR, TZ, facts
from tests.referrals.routing.reference_engine import reference_route


@settings(max_examples=400, deadline=None)
@given(facts(), st.lists(st.datetimes(datetime(2024, 1, 1), datetime(2032, 12, 31),
                                      timezones=st.just(UTC)), min_size=1, max_size=4),
       st.sampled_from(["KZ-27", "KZ-75", None]))
def test_route_agrees_with_the_reference_engine(found: Facts, moments: list[datetime],
                                                region: str | None) -> None:
    # The same situation at other moments and in another region: the remembered part is
    # reused, the deadlines must still be those of each moment.
    for moment in moments:
        again = replace(found, submitted_at=moment, child=replace(found.child, region=region))
        assert route(again, ALGORITHM, CALENDAR, TZ) == reference_route(again, ALGORITHM, CALENDAR, TZ)


def test_a_fresh_algorithm_and_a_warm_one_decide_alike() -> None:
    cold = bundled_algorithm.__wrapped__(ALGORITHM.version)  # a new Algorithm: nothing remembered yet
    start = datetime(2026, 12, 30, 9, 0, tzinfo=UTC)  # across the new year's holidays
    situation = Facts(contact_type="child_self", urgency="P3", categories=("violence.physical",),
                      child=ChildFacts(age=12), perpetrator_relation="peer", flags=("injury",),
                      place="street", submitted_at=start)
    warm = [route(replace(situation, submitted_at=start + timedelta(hours=h)), ALGORITHM, CALENDAR, TZ)
            for h in range(0, 72, 7)]
    cold.route_memo.clear()
    fresh = [reference_route(replace(situation, submitted_at=start + timedelta(hours=h)), cold, CALENDAR, TZ)
             for h in range(0, 72, 7)]
    assert warm == fresh
    assert len({d.referrals[0].action_due_at for d in warm}) > 1  # deadlines follow the moment


def test_required_categories_follow_the_shape_of_a_condition() -> None:
    groups = {"missing": frozenset({"missing.runaway", "missing.lost"})}
    assert required_categories({"category": "violence.sexual"}, groups) == {"violence.sexual"}
    assert required_categories({"category_group": "missing"}, groups) == groups["missing"]
    assert required_categories({"all": [{"flag": "injury"}, {"category": ["a", "b"]},
                                        {"category": "a"}]}, groups) == {"a"}
    assert required_categories({"any": [{"category": "a"}, {"category_group": "missing"}]},
                               groups) == {"a"} | groups["missing"]
    assert required_categories({"any": [{"category": "a"}, {"flag": "injury"}]}, groups) is None
    assert required_categories({"not": {"category": "a"}}, groups) is None
    assert required_categories({"flag": "injury"}, groups) is None


def test_rules_for_keeps_table_order_and_every_rule_that_can_fire() -> None:
    for categories in [(), ("violence.bullying",), ("legal.offending", "violence.sexual")]:
        chosen = ALGORITHM.rules_for(categories)
        assert [r.number for r in chosen] == sorted(r.number for r in chosen)
        skipped = set(ALGORITHM.rules) - set(chosen)
        assert all(r.requires is not None and r.requires.isdisjoint(categories) for r in skipped)
    assert len(ALGORITHM.rules_for(("violence.bullying",))) < len(ALGORITHM.rules)
