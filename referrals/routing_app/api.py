"""``POST /api/v1/route``: facts (routing.md §2) in, decision (routing.md §9) out; no writes."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify
from werkzeug.wrappers import Response

from core.api import operation
from core.errors import ApiError
from core.permissions import HELPLINE
from referrals.routing import FactsError
from referrals.routing_app import service as routing_service

ENDPOINTS = {"api.route_facts": HELPLINE}  # registered by referrals.init_app

_TEXT_LIST = {"type": "array", "items": {"type": "string"}}
_TIME = {"type": "string", "format": "date-time"}

# The request schema only says "an object": the engine checks the facts against the current
# algorithm's codes and names *every* invalid field at once, which a schema check run first
# would cut short at the first type error. The properties are documentation for OpenAPI.
FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Facts about a contact (routing.md §2); codes come from the current "
                   "algorithm version. Invalid facts answer 422 with every invalid field.",
    "properties": {
        "contact_type": {"description": "child_self, third_party, follow_up, information, ..."},
        "categories": {"description": "category codes (group.sub)"},
        "urgency": {"description": "P1-P4 as assessed by the operator, or null"},
        "child": {"description": "{age: 0-17 or null, region, district, flags: [...]}"},
        "perpetrator": {"description": "{relation}; missing means none"},
        "flags": {"description": "immediate_danger, injury, ongoing, child_alone"},
        "place": {"description": "home, school, online, street, institution, other"},
        "submitted_at": {"description": "RFC 3339 date-time; default: now"},
    },
}

REFERRAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["agency", "service", "mandatory", "rules", "ack_due_at", "action_due_at"],
    "properties": {"agency": {"type": "string"}, "service": {"type": "string"},
                   "mandatory": {"type": "boolean"}, "rules": _TEXT_LIST,
                   "ack_due_at": _TIME, "action_due_at": _TIME},
}

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["routable", "reason", "algorithm_version", "urgency", "lead", "matched_rules",
                 "referrals", "instructions", "registers"],
    "properties": {
        "routable": {"type": "boolean"},
        "reason": {"type": ["string", "null"], "enum": [None, "not-routable", "no-rule-matched"]},
        "algorithm_version": {"type": "string"},
        "urgency": {"type": ["string", "null"]},
        "lead": {"type": ["string", "null"]},
        "matched_rules": _TEXT_LIST,
        "referrals": {"type": "array", "items": REFERRAL_SCHEMA},
        "instructions": _TEXT_LIST,
        "registers": _TEXT_LIST,
    },
}


@operation("/route", "POST", "Route facts to a decision (no side effects)",
           request_schema=FACTS_SCHEMA, response_schema=DECISION_SCHEMA)
def route_facts() -> Response:
    try:
        decision = routing_service.decide(g.body)
    except FactsError as error:
        raise ApiError(422, str(error), error.fields) from None
    return jsonify(routing_service.decision_json(decision))
