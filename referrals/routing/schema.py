"""JSON Schema (draft 2020-12) of an algorithm file: the shape only.

Cross-references (does a rule name a known service? does every agency exist?) need the whole
document and are checked afterwards by :mod:`referrals.routing.algorithm`.
"""

from __future__ import annotations

from typing import Any

from .model import LANGUAGES

_SLUG = "^[a-z][a-z0-9_]*$"

_TEXT = {"type": "string", "minLength": 1, "pattern": r"\S"}
_LABELS = {
    "type": "object",
    "required": list(LANGUAGES),
    "properties": {lang: _TEXT for lang in LANGUAGES},
    "additionalProperties": False,
}
_CODE_LIST = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
         "uniqueItems": True},
    ]
}
_AGE = {"type": "integer", "minimum": 0, "maximum": 18}
_COUNT = {"type": "integer", "minimum": 1, "maximum": 10_000}

_DURATION = {
    "type": "object",
    "properties": {"minutes": _COUNT, "hours": _COUNT, "working_days": _COUNT},
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}


def _code_map(value: dict[str, Any], pattern: str = _SLUG) -> dict[str, Any]:
    return {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": pattern},
        "additionalProperties": value,
    }


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": False,
    }


# Every operator of the condition language; that exactly one operator appears in a condition
# (``unknown`` rides along with an age operator) is checked by the compiler, whose message is
# clearer than what a oneOf could say.
_CONDITION = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "all": {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1},
        "any": {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1},
        "not": {"$ref": "#/$defs/condition"},
        "category": _CODE_LIST,
        "category_group": _CODE_LIST,
        "flag": _CODE_LIST,
        "child_flag": _CODE_LIST,
        "any_child_flag": {"type": "boolean"},
        "perpetrator": _CODE_LIST,
        "perpetrator_group": _CODE_LIST,
        "place": _CODE_LIST,
        "age_lt": _AGE,
        "age_ge": _AGE,
        "unknown": {"type": "boolean"},
        "urgency": _CODE_LIST,
        "rule": _CODE_LIST,
    },
}

_REFERRAL = _obj(
    ["service", "mandatory"],
    service={"type": "string"},
    mandatory={"type": "boolean"},
    when={"$ref": "#/$defs/condition"},
)

_RULE = _obj(
    ["id", "label", "when", "referrals", "min_urgency", "lead"],
    id={"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
    label=_LABELS,
    when={"$ref": "#/$defs/condition"},
    referrals={"type": "array", "items": _REFERRAL, "minItems": 1},
    min_urgency={"type": "string"},
    raise_urgency={
        "type": "array",
        "items": _obj(["to", "when"], to={"type": "string"}, when={"$ref": "#/$defs/condition"}),
    },
    lead={"type": "string"},
    lead_only_if_alone={"type": "boolean"},
)

_URGENCY = _obj(
    ["code", "label", "description"],
    code={"type": "string", "pattern": "^[A-Z][A-Z0-9]*$"},
    label=_LABELS,
    description=_LABELS,
    routable={"type": "boolean"},
    acknowledge=_DURATION,
    act=_DURATION,
    forbidden_flags={"type": "array", "items": {"type": "string"}, "uniqueItems": True},
)

_CODED_CONDITION = _obj(
    ["code", "when", "label"],
    code={"type": "string", "pattern": _SLUG},
    when={"$ref": "#/$defs/condition"},
    label=_LABELS,
)

ALGORITHM_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Senim interagency routing algorithm",
    "$defs": {"condition": _CONDITION},
    **_obj(
        [
            "version", "agencies", "services", "category_groups", "relations",
            "relation_groups", "flags", "places", "child_flags", "contact_types",
            "urgencies", "service_caps", "constraints", "rules", "instructions", "registers",
        ],
        version={"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$"},
        agencies=_code_map(_LABELS),
        services=_code_map(
            _obj(["agency", "label"], agency={"type": "string"}, label=_LABELS,
                 clock={"enum": ["round_the_clock", "office_hours"]}),
            pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$",
        ),
        category_groups=_code_map(
            _obj(["label", "categories"], label=_LABELS, categories=_code_map(_LABELS))
        ),
        relations=_code_map(_LABELS),
        relation_groups=_code_map(
            _obj(
                ["label", "members"],
                label=_LABELS,
                members={"type": "array", "items": {"type": "string"}, "minItems": 1,
                         "uniqueItems": True},
            )
        ),
        flags=_code_map(_LABELS),
        places=_code_map(_LABELS),
        child_flags=_code_map(_LABELS),
        contact_types=_code_map(_obj(["routable", "label"], routable={"type": "boolean"},
                                     label=_LABELS)),
        urgencies={"type": "array", "items": _URGENCY, "minItems": 1},
        service_caps={
            "type": "object",
            "additionalProperties": _obj([], acknowledge=_DURATION, act=_DURATION,
                                         when={"$ref": "#/$defs/condition"}),
        },
        constraints={
            "type": "array",
            "items": _obj(
                ["id", "never", "when", "label"],
                id={"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
                never={"type": "string"},
                when={"$ref": "#/$defs/condition"},
                label=_LABELS,
            ),
        },
        rules={"type": "array", "items": _RULE, "minItems": 1},
        instructions={"type": "array", "items": _CODED_CONDITION},
        registers={"type": "array", "items": _CODED_CONDITION},
        decline_reasons=_code_map(_LABELS),
        action_codes=_code_map(_LABELS),
        outcomes=_code_map(_LABELS),
    ),
}
