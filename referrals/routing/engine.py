"""``route``: facts -> decision, following routing.md §3, §4, §6 and §7."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .algorithm import Algorithm, Duration, Rule, ServiceCap, WallClock
from .conditions import NO_OUTCOME, Outcome
from .model import (
    REASON_NO_RULE_MATCHED,
    REASON_NOT_ROUTABLE,
    Decision,
    Facts,
    ReferralProposal,
    make_proposal,
    make_routed_decision,
)
from .workdays import DEFAULT_WORKING_HOURS, WorkingCalendar, WorkingHours

#: The working hours of the unit that will receive a service (issue 14: configurable per unit);
#: the engine itself knows no units, so the caller resolves them.
HoursOf = Callable[[str], WorkingHours]


def route(facts: Facts, algorithm: Algorithm, calendar: WorkingCalendar,
          tz: ZoneInfo, hours: HoursOf | None = None) -> Decision:
    """Decide who is asked to do what, by when, and why.

    Deadlines count from ``facts.submitted_at``; an office-hours service's P1/P2 durations
    count the working time of ``hours(service)`` (09:00-18:00 when not given). Pure: the same
    arguments give an equal decision.

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
    clock = _DeadlineClock(facts.submitted_at, calendar, tz)
    referrals = _deadlines(plan, clock, hours)
    uncovered = clock.uncovered_years
    return make_routed_decision(algorithm.version, plan.urgency, plan.lead, plan.matched_rules,
                                referrals, plan.instructions, plan.registers,
                                tuple(sorted(uncovered)) if uncovered else ())


# Situations remembered per algorithm (each a few hundred bytes); cleared when full.
_MEMO_LIMIT = 16_384


@dataclass(frozen=True, slots=True)
class _Service:
    agency: str
    service: str
    mandatory: bool
    rules: tuple[str, ...]
    office_hours: bool  # its wall-clock durations count the receiving unit's working time
    # The urgency's durations, then those of the service's cap where it applies: the earliest
    # act is the action's deadline, the earliest of all the acknowledgement's.
    acknowledge: Duration
    act: Duration
    acknowledge_caps: tuple[Duration, ...]
    act_caps: tuple[Duration, ...]
    # The same, as places in the plan's ``clocks`` (the default working hours' fast path).
    acknowledge_at: int
    act_at: int
    acknowledge_caps_at: tuple[int, ...]
    act_caps_at: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A routable decision without its deadlines."""

    urgency: str
    lead: str | None
    matched_rules: tuple[str, ...]
    instructions: tuple[str, ...]
    registers: tuple[str, ...]
    services: tuple[_Service, ...]
    # Every distinct duration of the services, with whether it counts working time (a
    # wall-clock duration of an office-hours service): with the default working hours each is
    # counted once per decision, in this order.
    clocks: tuple[tuple[Duration, bool], ...]


def _plan(facts: Facts, algorithm: Algorithm) -> _Plan | Decision:
    """routing.md §3, §4, §6, §7 for one situation, with deadlines left as durations."""
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
    clocks: dict[tuple[Duration, bool], int] = {}
    services = _services(merged, urgency, algorithm, facts, outcome, clocks)
    return _Plan(urgency=urgency, lead=_lead(fired), matched_rules=matched,
                 instructions=instructions, registers=registers, services=services,
                 clocks=tuple(clocks))


def _services(merged: _Merged, urgency: str, algorithm: Algorithm, facts: Facts,
              outcome: Outcome, clocks: dict[tuple[Duration, bool], int]) -> tuple[_Service, ...]:
    """Each service's durations: the urgency's, then its cap where the cap applies to this
    decision (issue 14: caps apply after the working-time clock, so both count on it).
    ``clocks`` collects the distinct ones, numbered in order of appearance."""
    deadlines = algorithm.deadlines[urgency]  # a final urgency is always a routable one
    services = []
    for service, (agency, mandatory, rules) in merged.items():
        ack_caps: tuple[Duration, ...] = ()
        act_caps: tuple[Duration, ...] = ()
        cap = algorithm.service_caps.get(service)
        if cap is not None and (cap.condition is None or cap.condition(facts, outcome)):
            ack_caps = () if cap.acknowledge is None else (cap.acknowledge,)
            act_caps = () if cap.act is None else (cap.act,)
        office = algorithm.is_office_hours(service)

        def place(duration: Duration, office: bool = office) -> int:
            return clocks.setdefault((duration, office and isinstance(duration, WallClock)),
                                     len(clocks))

        services.append(_Service(
            agency, service, mandatory, rules, office, deadlines.acknowledge, deadlines.act,
            ack_caps, act_caps, place(deadlines.acknowledge), place(deadlines.act),
            tuple(map(place, ack_caps)), tuple(map(place, act_caps))))
    return tuple(services)


def _deadlines(plan: _Plan, clock: _DeadlineClock,
               hours_of: HoursOf | None) -> tuple[ReferralProposal, ...]:
    """The proposals with their deadlines on ``clock``; each distinct duration (and working
    hours) is counted once per decision."""
    if hours_of is None:  # every unit keeps the default hours: the plan knows what is distinct
        return _default_hours_deadlines(plan, clock)
    due = clock.due
    proposals = []
    for s in plan.services:
        hours = hours_of(s.service) if s.office_hours else None
        act = due(s.act, hours)
        for duration in s.act_caps:
            act = min(act, due(duration, hours))
        # An acknowledgement is never due after the first action.
        ack = min(act, due(s.acknowledge, hours))
        for duration in s.acknowledge_caps:
            ack = min(ack, due(duration, hours))
        proposals.append(make_proposal(s.agency, s.service, s.mandatory, s.rules, ack, act))
    return tuple(proposals)


def _default_hours_deadlines(plan: _Plan, clock: _DeadlineClock) -> tuple[ReferralProposal, ...]:
    """``_deadlines`` with 09:00-18:00 for every office-hours service: each of the plan's clocks
    is counted once, and each service takes its deadlines by place (issue 13: the engine's
    throughput)."""
    count = clock.count
    at = [count(duration, DEFAULT_WORKING_HOURS if working else None)
          for duration, working in plan.clocks]
    proposals = []
    for s in plan.services:
        act = at[s.act_at]
        for place in s.act_caps_at:
            act = min(act, at[place])
        ack = min(act, at[s.acknowledge_at])  # never due after the first action
        for place in s.acknowledge_caps_at:
            ack = min(ack, at[place])
        proposals.append(make_proposal(s.agency, s.service, s.mandatory, s.rules, ack, act))
    return tuple(proposals)


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

    The moment is placed in local time once, on the first deadline that needs it; a deadline
    is then counted in local terms (a date and the time since its midnight) and brought back
    to UTC by ``timedelta`` arithmetic when both dates have a stable offset
    (``WorkingCalendar.stable_offset``), or through the zone on a transition day: the same
    instant either way, at a fraction of a conversion's cost (issue 13).
    """

    __slots__ = (
        "_calendar",
        "_day",
        "_fold",
        "_memo",
        "_offset",
        "_since_midnight",
        "_start",
        "_tz",
        "uncovered_years",
    )

    def __init__(self, start: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> None:
        self._start = start if start.tzinfo is UTC else start.astimezone(UTC)
        self._calendar = calendar
        self._tz = tz
        self._day: date | None = None  # the local date of ``start``, once needed
        self._since_midnight = _ZERO
        self._offset: timedelta | None = None
        self._fold = 0
        # Keyed by the duration's identity: durations are the algorithm's own objects, alive as
        # long as the plan that names them, and hashing a frozen dataclass costs more than the
        # arithmetic it would save.
        self._memo: dict[tuple[int, WorkingHours | None], datetime] = {}
        self.uncovered_years: set[int] = set()

    def due(self, duration: Duration, hours: WorkingHours | None = None) -> datetime:
        """The deadline ``duration`` after the start, remembered for this decision."""
        if isinstance(duration, WallClock) and hours is None:
            return self._start + duration.delta  # one addition, cheaper than remembering it
        if not isinstance(duration, WallClock):
            hours = None  # working days count the same for every body
        key = (id(duration), hours)
        at = self._memo.get(key)
        if at is None:
            at = self._memo[key] = self.count(duration, hours)
        return at

    def count(self, duration: Duration, hours: WorkingHours | None = None) -> datetime:
        """The deadline ``duration`` after the start: on the clock (``hours`` None), in the
        working time of ``hours``, or in working days (``hours`` then does not matter)."""
        if isinstance(duration, WallClock):
            if hours is None:
                return self._start + duration.delta
            return self._working_time(duration.delta, hours)
        return self._working_days(duration.count)

    def _working_time(self, delta: timedelta, hours: WorkingHours) -> datetime:
        day = self._day or self._place()
        target, since_midnight, uncovered = self._calendar.working_time_on(
            day, self._since_midnight, delta, hours)
        if uncovered:
            self.uncovered_years.update(uncovered)
        return self._utc(day, target, since_midnight, 0)

    def _working_days(self, count: int) -> datetime:
        day = self._day or self._place()
        target, uncovered = self._calendar.nth_working_date(day, count)
        if uncovered:
            self.uncovered_years.update(uncovered)
        return self._utc(day, target, self._since_midnight, self._fold)

    def _place(self) -> date:
        local = self._start.astimezone(self._tz)
        day = self._day = local.date()
        self._since_midnight = local.replace(tzinfo=None) - datetime.combine(day, time.min)
        self._offset = self._calendar.stable_offset(day, self._tz)
        self._fold = local.fold  # a working-day deadline keeps it (an ambiguous hour's second run)
        return day

    def _utc(self, day: date, target: date, since_midnight: timedelta, fold: int) -> datetime:
        offset = self._offset
        if offset is not None and target == day:  # due the same (stable) day: no zone at all
            return self._start + (since_midnight - self._since_midnight)
        target_offset = self._calendar.stable_offset(target, self._tz)
        if offset is not None and target_offset is not None:
            return self._start + ((target - day) + (since_midnight - self._since_midnight)
                                  + (offset - target_offset))
        local = datetime.combine(target, time.min) + since_midnight
        return local.replace(tzinfo=self._tz, fold=fold).astimezone(UTC)


_ZERO = timedelta(0)


def service_deadlines(service: str, urgency: str, start: datetime, algorithm: Algorithm,
                      calendar: WorkingCalendar, tz: ZoneInfo,
                      hours: WorkingHours | None = None) -> tuple[datetime, datetime]:
    """(acknowledge, act) deadlines of one service at an urgency, counted from ``start``: what
    a referral added by hand gets, by the same clocks and caps as a proposed one (§4). An
    urgency without deadlines (P4) counts as the least urgent one that has them. A cap limited
    to some decisions (``when``) does not apply: a hand-made referral has no rule. ``hours``
    are those of the receiving unit (default 09:00-18:00), used for an office-hours service."""
    if urgency not in algorithm.deadlines:
        urgency = list(algorithm.deadlines)[-1]
    clock = _DeadlineClock(start, calendar, tz)
    working = (hours or DEFAULT_WORKING_HOURS) if algorithm.is_office_hours(service) else None
    deadlines = algorithm.deadlines[urgency]
    ack, act = clock.due(deadlines.acknowledge, working), clock.due(deadlines.act, working)
    cap = algorithm.service_caps.get(service)
    if cap is not None and cap.condition is None:
        ack, act = _capped(ack, act, cap, clock, working)
    return min(ack, act), act
