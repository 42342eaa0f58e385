"""The engine as it was before it remembered situations (issue 13): the plain reading of
routing.md §3, §4, §6 and §7 (with the 2026.2 clocks of issue 14), every rule evaluated for
every contact. Kept as the oracle that ``referrals.routing.route`` must agree with
(test_routing_memo.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from referrals.routing.algorithm import Algorithm, Deadlines, Duration, Rule, ServiceCap, WallClock
from referrals.routing.conditions import NO_OUTCOME, Outcome
from referrals.routing.model import (
    REASON_NO_RULE_MATCHED,
    REASON_NOT_ROUTABLE,
    Decision,
    Facts,
    ReferralProposal,
)
from referrals.routing.workdays import DEFAULT_WORKING_HOURS, WorkingCalendar, WorkingHours

#: The working hours of the unit that will receive a service (issue 14: configurable per unit);
#: the engine itself knows no units, so the caller resolves them.
HoursOf = Callable[[str], WorkingHours]


def _default_hours(service: str) -> WorkingHours:
    return DEFAULT_WORKING_HOURS


def reference_route(facts: Facts, algorithm: Algorithm, calendar: WorkingCalendar,
                    tz: ZoneInfo, hours: HoursOf | None = None) -> Decision:
    """Decide who is asked to do what, by when, and why.

    Deadlines count from ``facts.submitted_at``; an office-hours service's P1/P2 durations
    count the working time of ``hours(service)`` (09:00-18:00 when not given). Pure: the same
    arguments give an equal decision.
    """
    if not algorithm.is_routable(facts):
        return _not_routable(facts, algorithm)
    fired = [rule for rule in algorithm.rules if rule.condition(facts, NO_OUTCOME)]
    urgency = _final_urgency(facts, fired, algorithm)
    clock = _DeadlineClock(facts.submitted_at, calendar, tz)
    outcome = Outcome(frozenset([rule.id for rule in fired]), urgency)
    referrals = _proposals(_merge(fired, facts, algorithm), urgency, algorithm, clock,
                           _Context(facts, outcome, hours or _default_hours))
    return Decision(
        routable=True,
        reason=None if referrals else REASON_NO_RULE_MATCHED,
        algorithm_version=algorithm.version,
        urgency=urgency,
        lead=_lead(fired) if referrals else None,
        matched_rules=tuple([rule.id for rule in fired]),
        referrals=referrals,
        instructions=tuple([i.code for i in algorithm.instructions
                            if i.condition(facts, outcome)]),
        registers=tuple([r.code for r in algorithm.registers if r.condition(facts, outcome)]),
        calendar_warnings=tuple(sorted(clock.uncovered_years)),
    )


def _not_routable(facts: Facts, algorithm: Algorithm) -> Decision:
    return Decision(
        routable=False,
        reason=REASON_NOT_ROUTABLE,
        algorithm_version=algorithm.version,
        urgency=facts.urgency,
        lead=None,
        matched_rules=(),
        referrals=(),
        instructions=(),
        registers=(),
    )


def _final_urgency(facts: Facts, fired: list[Rule], algorithm: Algorithm) -> str:
    """The highest of the operator's urgency and what every fired rule demands (§4)."""
    urgencies = algorithm.urgencies
    best = urgencies[facts.urgency or ""].rank
    for rule in fired:
        best = min(best, rule.min_rank)
        for raise_ in rule.raises:
            if raise_.rank < best and raise_.condition(facts, NO_OUTCOME):
                best = raise_.rank
    return algorithm.urgency_order[best]


# service -> (agency, mandatory, rule ids); dicts keep insertion order, which is exactly the
# output order of §9: table order of the first rule producing a service, then that rule's order.
_Merged = dict[str, tuple[str, bool, tuple[str, ...]]]


def _merge(fired: list[Rule], facts: Facts, algorithm: Algorithm) -> _Merged:
    banned = {c.service for c in algorithm.constraints if c.condition(facts, NO_OUTCOME)}
    merged: _Merged = {}
    for rule in fired:
        for ref in rule.referrals:
            if ref.service in banned:
                continue
            if ref.condition is not None and not ref.condition(facts, NO_OUTCOME):
                continue
            seen = merged.get(ref.service)
            if seen is None:
                merged[ref.service] = (ref.agency, ref.mandatory, (rule.id,))
            else:
                # A rule that lists one service twice (under different conditions) is
                # named once.
                rules = seen[2] if seen[2][-1] == rule.id else (*seen[2], rule.id)
                merged[ref.service] = (seen[0], seen[1] or ref.mandatory, rules)
    return merged


def _lead(fired: list[Rule]) -> str | None:
    """The first fired rule's lead, passing over rules that lead only when alone (§3)."""
    for rule in fired:
        if not rule.lead_only_if_alone or len(fired) == 1:
            return rule.lead
    return fired[0].lead if fired else None


class _Context:
    """What a service's deadlines depend on besides the urgency: the facts and outcome (for a
    conditional cap) and the working hours of the unit that gets it."""

    def __init__(self, facts: Facts, outcome: Outcome, hours: HoursOf) -> None:
        self.facts = facts
        self.outcome = outcome
        self.hours = hours


def _service_deadlines(service: str, deadlines: Deadlines, algorithm: Algorithm,
                       clock: _DeadlineClock, context: _Context) -> tuple[datetime, datetime]:
    """(acknowledge, act) before the ack <= act rule: the urgency's durations on the service's
    clock (working time for an office-hours body), then the service cap (issue 14: caps apply
    after the working-time clock)."""
    hours = context.hours(service) if algorithm.is_office_hours(service) else None
    ack, act = clock.due(deadlines.acknowledge, hours), clock.due(deadlines.act, hours)
    cap = algorithm.service_caps.get(service)
    if cap is not None and (cap.condition is None
                            or cap.condition(context.facts, context.outcome)):
        ack, act = _capped(ack, act, cap, clock, hours)
    return ack, act


def _proposals(merged: _Merged, urgency: str, algorithm: Algorithm,
               clock: _DeadlineClock, context: _Context) -> tuple[ReferralProposal, ...]:
    if not merged:
        return ()
    deadlines = algorithm.deadlines[urgency]  # a final urgency is always a routable one
    proposals = []
    for service, (agency, mandatory, rules) in merged.items():
        ack, act = _service_deadlines(service, deadlines, algorithm, clock, context)
        proposals.append(ReferralProposal(
            agency=agency,
            service=service,
            mandatory=mandatory,
            rules=rules,
            ack_due_at=min(ack, act),  # an acknowledgement is never due after the first action
            action_due_at=act,
        ))
    return tuple(proposals)


def _capped(ack: datetime, act: datetime, cap: ServiceCap, clock: _DeadlineClock,
            hours: WorkingHours | None) -> tuple[datetime, datetime]:
    if cap.acknowledge is not None:
        ack = min(ack, clock.due(cap.acknowledge, hours))
    if cap.act is not None:
        act = min(act, clock.due(cap.act, hours))
    return ack, act


class _DeadlineClock:
    """Deadlines from one submission moment, each computed once per decision.

    ``hours`` None means on the clock, 24/7; working hours make a wall-clock duration count
    working time only (an office-hours body). Working days are the same for both.
    """

    def __init__(self, start: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> None:
        self._start = start
        self._calendar = calendar
        self._tz = tz
        self._memo: dict[tuple[Duration, WorkingHours | None], datetime] = {}
        self.uncovered_years: set[int] = set()

    def due(self, duration: Duration, hours: WorkingHours | None = None) -> datetime:
        if not isinstance(duration, WallClock):
            hours = None  # working days count the same for every body
        key = (duration, hours)
        at = self._memo.get(key)
        if at is None:
            at = self._compute(duration, hours)
            self._memo[key] = at
        return at

    def _compute(self, duration: Duration, hours: WorkingHours | None) -> datetime:
        if isinstance(duration, WallClock):
            if hours is None:
                return self._start + duration.delta
            result = self._calendar.add_working_time(self._start, duration.delta, hours,
                                                     self._tz)
        else:
            result = self._calendar.add_working_days_checked(self._start, duration.count,
                                                             self._tz)
        self.uncovered_years.update(result.uncovered_years)
        return result.at
