"""Senim's routing engine: facts about a contact -> a routing decision (routing.md).

Pure: it imports nothing of the application (no Flask, no database), only the standard
library, PyYAML and jsonschema. The rules are data (``algorithms/2026.*.yaml``), compiled once
at load::

    algorithm = default_algorithm()
    facts = parse_facts(payload, geography, clock.now(), algorithm=algorithm)
    decision = route(facts, algorithm, calendar, ZoneInfo("Asia/Almaty"))
    body = decision_to_json(decision, ZoneInfo("Asia/Almaty"))
"""

from .algorithm import (
    BUNDLED_VERSIONS,
    Algorithm,
    AlgorithmError,
    LabelKind,
    bundled_algorithm,
    default_algorithm,
    load_algorithm,
)
from .clock import Clock, FixedClock, SystemClock
from .diff import Change, diff_algorithms
from .engine import route, service_deadlines
from .facts import FactsError, facts_to_json, parse_facts, parse_rfc3339
from .geography import Geography
from .model import (
    LANGUAGES,
    REASON_NO_RULE_MATCHED,
    REASON_NOT_ROUTABLE,
    ChildFacts,
    Decision,
    Facts,
    ReferralProposal,
)
from .serialize import decision_to_json, format_time
from .table import ReferralRow, RuleRow, UrgencyRow
from .workdays import DEFAULT_WORKING_HOURS, WorkingCalendar, WorkingDaysResult, WorkingHours

__all__ = [
    "BUNDLED_VERSIONS",
    "DEFAULT_WORKING_HOURS",
    "LANGUAGES",
    "REASON_NOT_ROUTABLE",
    "REASON_NO_RULE_MATCHED",
    "Algorithm",
    "AlgorithmError",
    "Change",
    "ChildFacts",
    "Clock",
    "Decision",
    "Facts",
    "FactsError",
    "FixedClock",
    "Geography",
    "LabelKind",
    "ReferralProposal",
    "ReferralRow",
    "RuleRow",
    "SystemClock",
    "UrgencyRow",
    "WorkingCalendar",
    "WorkingDaysResult",
    "WorkingHours",
    "bundled_algorithm",
    "decision_to_json",
    "default_algorithm",
    "diff_algorithms",
    "facts_to_json",
    "format_time",
    "load_algorithm",
    "parse_facts",
    "parse_rfc3339",
    "route",
    "service_deadlines",
]
