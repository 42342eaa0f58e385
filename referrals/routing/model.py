"""Value types of the routing engine: the facts it reads and the decision it returns.

Everything here is a frozen, slotted dataclass so that decisions can be compared, hashed
(when their parts allow) and shared between threads without copying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Languages every label of an algorithm must exist in (domain.md: kk and ru always, en third).
LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")

#: Defaults of routing.md §2 for facts the operator may leave out.
NO_PERPETRATOR = "none"
DEFAULT_PLACE = "other"

#: Values of ``Decision.reason`` (routing.md §9).
REASON_NOT_ROUTABLE = "not-routable"
REASON_NO_RULE_MATCHED = "no-rule-matched"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildFacts:
    """What is known about the child; every field may be unknown."""

    age: int | None = None
    region: str | None = None
    district: str | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """The engine's input (routing.md §2), already validated by :func:`parse_facts`.

    ``submitted_at`` is an aware datetime; :func:`parse_facts` normalises it to UTC.
    """

    contact_type: str
    urgency: str | None = None
    categories: tuple[str, ...] = ()
    child: ChildFacts = ChildFacts()
    perpetrator_relation: str = NO_PERPETRATOR
    flags: tuple[str, ...] = ()
    place: str = DEFAULT_PLACE
    submitted_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralProposal:
    """One referral the engine proposes; deadlines are aware UTC datetimes."""

    agency: str
    service: str
    mandatory: bool
    rules: tuple[str, ...]
    ack_due_at: datetime
    action_due_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The engine's output (routing.md §9) plus the calendar years it had to guess.

    ``calendar_warnings`` lists the years the working-day clock stepped through without
    calendar data (routing.md §4: weekends only were skipped); callers log it and show
    administrators that the calendar needs those years.
    """

    routable: bool
    reason: str | None
    algorithm_version: str
    urgency: str | None
    lead: str | None
    matched_rules: tuple[str, ...]
    referrals: tuple[ReferralProposal, ...]
    instructions: tuple[str, ...]
    registers: tuple[str, ...]
    calendar_warnings: tuple[int, ...] = ()


# Fast constructors for the two values the engine makes on every decision (issue 13: routing
# decisions per CPU-second). A frozen dataclass's __init__ sets each field through
# object.__setattr__, which is most of a decision's cost (1.7 µs for a proposal's six fields,
# 2.8 µs for a decision's ten); setting the slots through their descriptors makes the same,
# equal, still frozen object in a quarter of the time. The engine's tests compare what these
# make with the dataclasses' own constructors.
_new = object.__new__
(_set_agency, _set_service, _set_mandatory, _set_rules, _set_ack_due_at,
 _set_action_due_at) = (getattr(ReferralProposal, name).__set__ for name in (
    "agency", "service", "mandatory", "rules", "ack_due_at", "action_due_at"))
(_set_routable, _set_reason, _set_version, _set_urgency, _set_lead, _set_matched,
 _set_referrals, _set_instructions, _set_registers, _set_warnings) = (
    getattr(Decision, name).__set__ for name in (
        "routable", "reason", "algorithm_version", "urgency", "lead", "matched_rules",
        "referrals", "instructions", "registers", "calendar_warnings"))


def make_proposal(agency: str, service: str, mandatory: bool, rules: tuple[str, ...],
                  ack_due_at: datetime, action_due_at: datetime) -> ReferralProposal:
    """``ReferralProposal(...)`` by position, without the frozen __init__'s cost."""
    proposal: ReferralProposal = _new(ReferralProposal)
    _set_agency(proposal, agency)
    _set_service(proposal, service)
    _set_mandatory(proposal, mandatory)
    _set_rules(proposal, rules)
    _set_ack_due_at(proposal, ack_due_at)
    _set_action_due_at(proposal, action_due_at)
    return proposal


def make_routed_decision(algorithm_version: str, urgency: str, lead: str | None,
                         matched_rules: tuple[str, ...], referrals: tuple[ReferralProposal, ...],
                         instructions: tuple[str, ...], registers: tuple[str, ...],
                         calendar_warnings: tuple[int, ...]) -> Decision:
    """A routable ``Decision`` with referrals (``reason`` None), without the frozen
    __init__'s cost."""
    decision: Decision = _new(Decision)
    _set_routable(decision, True)
    _set_reason(decision, None)
    _set_version(decision, algorithm_version)
    _set_urgency(decision, urgency)
    _set_lead(decision, lead)
    _set_matched(decision, matched_rules)
    _set_referrals(decision, referrals)
    _set_instructions(decision, instructions)
    _set_registers(decision, registers)
    _set_warnings(decision, calendar_warnings)
    return decision
