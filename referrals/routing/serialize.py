"""The decision as JSON, exactly in the shape and key order of routing.md §9."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .model import Decision, ReferralProposal


def format_time(moment: datetime, tz: ZoneInfo) -> str:
    """RFC 3339 to the second, with the offset ``tz`` has at that instant."""
    return moment.astimezone(tz).isoformat(timespec="seconds")


def decision_to_json(decision: Decision, tz: ZoneInfo, *,
                     include_warnings: bool = False) -> dict[str, Any]:
    """§9's object; ``include_warnings`` adds ``calendar_warnings`` (years) at the end."""
    body: dict[str, Any] = {
        "routable": decision.routable,
        "reason": decision.reason,
        "algorithm_version": decision.algorithm_version,
        "urgency": decision.urgency,
        "lead": decision.lead,
        "matched_rules": list(decision.matched_rules),
        "referrals": [_referral(r, tz) for r in decision.referrals],
        "instructions": list(decision.instructions),
        "registers": list(decision.registers),
    }
    if include_warnings:
        body["calendar_warnings"] = list(decision.calendar_warnings)
    return body


def _referral(referral: ReferralProposal, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "agency": referral.agency,
        "service": referral.service,
        "mandatory": referral.mandatory,
        "rules": list(referral.rules),
        "ack_due_at": format_time(referral.ack_due_at, tz),
        "action_due_at": format_time(referral.action_due_at, tz),
    }
