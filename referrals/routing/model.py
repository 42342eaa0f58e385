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
