"""``route``: facts -> decision, following routing.md §3, §4, §6 and §7."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .algorithm import Algorithm, Duration, Rule, ServiceCap, WallClock
from .conditions import NO_OUTCOME, Outcome
from .model import (
    REASON_NO_RULE_MATCHED,
    REASON_NOT_ROUTABLE,
    Decision,
    Facts,
    ReferralProposal,
)
from .workdays import WorkingCalendar


def route(facts: Facts, algorithm: Algorithm, calendar: WorkingCalendar,
          tz: ZoneInfo) -> Decision:
    """Decide who is asked to do what, by when, and why.

    Deadlines count from ``facts.submitted_at``. Pure: the same arguments give an equal
    decision.

    Everything but the deadlines depends only on the facts the conditions read (never on the
    time, the region or the district), and contacts repeat the same few situations all day:
    that part is worked out once per situation (``_plan``) and remembered on the algorithm;
    each call then only counts the deadlines. A decision with no deadline at all (not routable,
    or no rule matched) is remembered whole: it is immutable and equal either way.
    """
    key = (facts.contact_type, facts.urgency, facts.categories, facts.child.age,
           facts.child.flags, facts.perpetrator_relation, facts.flags, facts.place)
    memo = algorithm.route_memo
    plan = memo.get(key)
    if plan is None:
        plan = _plan(facts, algorithm)
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[key] = plan
    if isinstance(plan, Decision):
        return plan
    referrals, warnings = _deadlines(plan, facts.submitted_at, calendar, tz)
    return Decision(
        routable=True,
        reason=None,
        algorithm_version=algorithm.version,
        urgency=plan.urgency,
        lead=plan.lead,
        matched_rules=plan.matched_rules,
        referrals=referrals,
        instructions=plan.instructions,
        registers=plan.registers,
        calendar_warnings=warnings,
    )


# A deadline term: a wall-clock delta, or (delta None) a number of working days.
_Term = tuple[timedelta | None, int]
# Situations remembered per algorithm (each a few hundred bytes); cleared when full.
_MEMO_LIMIT = 16_384


@dataclass(frozen=True, slots=True)
class _Service:
    agency: str
    service: str
    mandatory: bool
    rules: tuple[str, ...]
    acknowledge: tuple[int, ...]  # indexes into _Plan.terms: the earliest of these (and of
    act: tuple[int, ...]  # ``act``) is the acknowledgement deadline; of ``act``, the action's


@dataclass(frozen=True, slots=True)
class _Plan:
    """A routable decision without its deadlines."""

    urgency: str
    lead: str | None
    matched_rules: tuple[str, ...]
    instructions: tuple[str, ...]
    registers: tuple[str, ...]
    terms: tuple[_Term, ...]  # every distinct deadline term the services need
    services: tuple[_Service, ...]


def _plan(facts: Facts, algorithm: Algorithm) -> _Plan | Decision:
    """routing.md §3, §4, §6, §7 for one situation, with deadlines left as terms."""
    if not algorithm.is_routable(facts):
        return _not_routable(facts, algorithm)
    fired = [rule for rule in algorithm.rules_for(facts.categories)
             if rule.condition(facts, NO_OUTCOME)]
    urgency = _final_urgency(facts, fired, algorithm)
    merged = _merge(fired, facts, algorithm)
    outcome = Outcome(frozenset([rule.id for rule in fired]), urgency)
    matched = tuple([rule.id for rule in fired])
    instructions = tuple([i.code for i in algorithm.instructions if i.condition(facts, outcome)])
    registers = tuple([r.code for r in algorithm.registers if r.condition(facts, outcome)])
    if not merged:
        return Decision(routable=True, reason=REASON_NO_RULE_MATCHED,
                        algorithm_version=algorithm.version, urgency=urgency, lead=None,
                        matched_rules=matched, referrals=(), instructions=instructions,
                        registers=registers, calendar_warnings=())
    terms, services = _services(merged, urgency, algorithm)
    return _Plan(urgency=urgency, lead=_lead(fired), matched_rules=matched,
                 instructions=instructions, registers=registers, terms=terms, services=services)


def _term(duration: Duration) -> _Term:
    if isinstance(duration, WallClock):
        return duration.delta, 0
    return None, duration.count


def _services(merged: _Merged, urgency: str,
              algorithm: Algorithm) -> tuple[tuple[_Term, ...], tuple[_Service, ...]]:
    deadlines = algorithm.deadlines[urgency]  # a final urgency is always a routable one
    terms: dict[_Term, int] = {}

    def index(duration: Duration) -> int:
        return terms.setdefault(_term(duration), len(terms))

    base_ack, base_act = index(deadlines.acknowledge), index(deadlines.act)
    caps = algorithm.service_caps
    services = []
    for service, (agency, mandatory, rules) in merged.items():
        ack, act = [base_ack], [base_act]
        cap = caps.get(service)
        if cap is not None and cap.acknowledge is not None:
            ack.append(index(cap.acknowledge))
        if cap is not None and cap.act is not None:
            act.append(index(cap.act))
        services.append(_Service(agency, service, mandatory, rules, tuple(ack), tuple(act)))
    return tuple(terms), tuple(services)


def _deadlines(plan: _Plan, start: datetime, calendar: WorkingCalendar,
               tz: ZoneInfo) -> tuple[tuple[ReferralProposal, ...], tuple[int, ...]]:
    """The proposals with their deadlines from ``start``, and the calendar's uncovered years.
    Each distinct term is counted once per decision."""
    dues: list[datetime] = []
    uncovered: set[int] = set()
    for delta, days in plan.terms:
        if delta is not None:
            dues.append(start + delta)
        else:
            result = calendar.add_working_days_checked(start, days, tz)
            uncovered.update(result.uncovered_years)
            dues.append(result.at)
    proposals = []
    for s in plan.services:
        act = dues[s.act[0]] if len(s.act) == 1 else min([dues[i] for i in s.act])
        ack = min(act, dues[s.acknowledge[0]] if len(s.acknowledge) == 1
                  else min([dues[i] for i in s.acknowledge]))
        proposals.append(ReferralProposal(
            agency=s.agency, service=s.service, mandatory=s.mandatory, rules=s.rules,
            ack_due_at=ack,  # an acknowledgement is never due after the first action
            action_due_at=act,
        ))
    return tuple(proposals), tuple(sorted(uncovered)) if uncovered else ()


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


def service_deadlines(service: str, urgency: str, start: datetime, algorithm: Algorithm,
                      calendar: WorkingCalendar, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """(acknowledge, act) deadlines of one service at an urgency, counted from ``start``: what
    a referral added by hand gets, by the same rules and caps as a proposed one (§4). An urgency
    without deadlines (P4) counts as the least urgent one that has them."""
    if urgency not in algorithm.deadlines:
        urgency = list(algorithm.deadlines)[-1]
    clock = _DeadlineClock(start, calendar, tz)
    deadlines = algorithm.deadlines[urgency]
    ack, act = clock.due(deadlines.acknowledge), clock.due(deadlines.act)
    cap = algorithm.service_caps.get(service)
    if cap is not None:
        ack, act = _capped(ack, act, cap, clock)
    return min(ack, act), act
