"""The contact, as the API and the operator's form both submit it (interfaces.md, "A contact").

One JSON Schema checks shape and codes that never change; ``validate_contact`` adds what a
schema cannot say (IIN check digit, phone numbers, times, the routing facts through the engine)
and returns every problem keyed by dotted path, so the API answers 422 with ``fields`` and the
form shows each message beside its field.
"""

from __future__ import annotations

from typing import Any

from intake.models import CALLER_RELATIONS, CHANNELS, LANGUAGES, SEXES

CONTACT_TYPES = ["child_self", "third_party", "follow_up", "information", "silent", "prank",
                 "abusive", "wrong_number", "feedback"]
ROUTABLE_TYPES = frozenset({"child_self", "third_party", "follow_up"})
SHORT_TEXT = {"type": ["string", "null"], "maxLength": 200}
TIME = {"type": ["string", "null"], "maxLength": 40}
CODE_LIST = {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 40}

REFERRAL_CHANGE = {
    "type": "object", "additionalProperties": False, "required": ["service", "reason"],
    "properties": {"service": {"type": "string", "maxLength": 80},
                   "reason": {"type": "string", "minLength": 1, "maxLength": 1000}},
}

CONTACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["channel", "contact_type", "language"],
    "properties": {
        "case_id": {"type": ["string", "null"], "maxLength": 36},
        "channel": {"enum": list(CHANNELS)},
        "contact_type": {"enum": CONTACT_TYPES},
        "language": {"enum": list(LANGUAGES)},
        "started_at": TIME,
        "ended_at": TIME,
        "caller": {
            "type": ["object", "null"], "additionalProperties": False,
            "properties": {
                "relation": {"enum": [*CALLER_RELATIONS, None]},
                "name": SHORT_TEXT,
                "phone": {"type": ["string", "null"], "maxLength": 40},
                "callback_consent": {"type": ["boolean", "null"]},
            },
        },
        "child": {
            "type": ["object", "null"], "additionalProperties": False,
            "properties": {
                "name": SHORT_TEXT,
                "iin": {"type": ["string", "null"], "maxLength": 20},
                "sex": {"enum": [*SEXES, None]},
                "age": {"type": ["integer", "null"]},
                "region": {"type": ["string", "null"], "maxLength": 8},
                "district": {"type": ["string", "null"], "maxLength": 40},
                "address": {"type": ["string", "null"], "maxLength": 500},
                "school": SHORT_TEXT,
                "flags": CODE_LIST,
            },
        },
        "categories": CODE_LIST,
        "urgency": {"type": ["string", "null"], "maxLength": 4},
        "perpetrator": {
            "type": ["object", "null"], "additionalProperties": False,
            "properties": {"relation": {"type": ["string", "null"], "maxLength": 30},
                           "lives_with_child": {"type": ["boolean", "null"]}},
        },
        "flags": CODE_LIST,
        "place": {"type": ["string", "null"], "maxLength": 20},
        "summary": {"type": ["string", "null"], "maxLength": 20000},
        "referral_changes": {
            "type": ["object", "null"], "additionalProperties": False,
            "properties": {"remove": {"type": "array", "items": REFERRAL_CHANGE, "maxItems": 20},
                           "add": {"type": "array", "items": REFERRAL_CHANGE, "maxItems": 20}},
        },
    },
}

REFERRAL_OUT = {
    "type": "object",
    "required": ["id", "agency", "service", "status", "mandatory", "ack_due_at", "action_due_at"],
    "properties": {
        "id": {"type": "string"}, "case_id": {"type": "string"}, "agency": {"type": "string"},
        "service": {"type": "string"},
        "unit": {"type": ["object", "null"], "properties": {"id": {"type": "string"},
                                                           "name": {"type": "string"}}},
        "mandatory": {"type": "boolean"}, "status": {"type": "string"},
        "ack_due_at": {"type": "string"}, "action_due_at": {"type": "string"},
        "escalation_level": {"type": "integer"}, "rules": {"type": "array"},
        "outcome": {"type": ["string", "null"]}, "events": {"type": "array"},
    },
}

CONTACT_CREATED = {
    "type": "object",
    "required": ["id", "case_id", "urgency", "lead", "algorithm_version", "referrals"],
    "properties": {
        "id": {"type": "string"}, "case_id": {"type": ["string", "null"]},
        "case_number": {"type": ["string", "null"]},
        "urgency": {"type": ["string", "null"]}, "lead": {"type": ["string", "null"]},
        "algorithm_version": {"type": "string"},
        "referrals": {"type": "array", "items": REFERRAL_OUT},
    },
}
