"""The engine as it was before it remembered situations (issue 13): the plain reading of
routing.md §3, §4, §6 and §7, every rule evaluated for every contact. Kept as the oracle that
``referrals.routing.route`` must agree with (test_routing_memo.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from referrals.routing.algorithm import Algorithm, Duration, Rule, ServiceCap, WallClock
from referrals.routing.conditions import NO_OUTCOME, Outcome
from referrals.routing.model import (
    REASON_NO_RULE_MATCHED,
    REASON_NOT_ROUTABLE,
    Decision,
    Facts,
    ReferralProposal,
)
from referrals.routing.workdays import WorkingCalendar


def reference_route(facts: Facts, algorithm: Algorithm, calendar: WorkingCalendar,
          tz: ZoneInfo) -> Decision:
    """Decide who is asked to do what, by when, and why.

    Deadlines count from ``facts.submitted_at``. Pure: the same arguments give an equal
    decision.
    """
    if not algorithm.is_routable(facts):
        return _not_routable(facts, algorithm)
    fired = [rule for rule in algorithm.rules if rule.condition(facts, NO_OUTCOME)]
    urgency = _final_urgency(facts, fired, algorithm)
    clock = _DeadlineClock(facts.submitted_at, calendar, tz)
    referrals = _proposals(_merge(fired, facts, algorithm), urgency, algorithm, clock)
    outcome = Outcome(frozenset([rule.id for rule in fired]), urgency)
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


def _proposals(merged: _Merged, urgency: str, algorithm: Algorithm,
               clock: _DeadlineClock) -> tuple[ReferralProposal, ...]:
    if not merged:
        return ()
    deadlines = algorithm.deadlines[urgency]  # a final urgency is always a routable one
    base = clock.due(deadlines.acknowledge), clock.due(deadlines.act)
    caps = algorithm.service_caps
    proposals = []
    for service, (agency, mandatory, rules) in merged.items():
        cap = caps.get(service)
        ack, act = base if cap is None else _capped(*base, cap, clock)
        proposals.append(ReferralProposal(
            agency=agency,
            service=service,
            mandatory=mandatory,
            rules=rules,
            ack_due_at=min(ack, act),  # an acknowledgement is never due after the first action
            action_due_at=act,
        ))
    return tuple(proposals)


def _capped(ack: datetime, act: datetime, cap: ServiceCap,
            clock: _DeadlineClock) -> tuple[datetime, datetime]:
    if cap.acknowledge is not None:
        ack = min(ack, clock.due(cap.acknowledge))
    if cap.act is not None:
        act = min(act, clock.due(cap.act))
    return ack, act


class _DeadlineClock:
    """Deadlines from one submission moment, each computed once per decision."""

    def __init__(self, start: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> None:
        self._start = start
        self._calendar = calendar
        self._tz = tz
        self._memo: dict[Duration, datetime] = {}
        self.uncovered_years: set[int] = set()

    def due(self, duration: Duration) -> datetime:
        at = self._memo.get(duration)
        if at is None:
            at = self._compute(duration)
            self._memo[duration] = at
        return at

    def _compute(self, duration: Duration) -> datetime:
        if isinstance(duration, WallClock):
            return self._start + duration.delta
        result = self._calendar.add_working_days_checked(self._start, duration.count, self._tz)
        self.uncovered_years.update(result.uncovered_years)
        return result.at
