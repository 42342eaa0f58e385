"""The registers' API (interfaces.md): the risk-group register and the reconciliation act."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request
from werkzeug.wrappers import Response

from core import audit
from core.api import PAGE_QUERY, operation, page_limit
from core.clock import utcnow
from core.errors import ApiError
from core.models import User
from core.permissions import (
    RECONCILIATION_READERS,
    RECONCILIATION_SIGNERS,
    REGISTER_READERS,
    RegisterView,
    register_endpoints,
)
from intake.models import RISK_FLAGS
from referrals.registers import reconciliation, risk_group, service
from referrals.registers.reconciliation import DISCREPANCIES, Act, BadMonth

register_endpoints({
    "api.risk_group_register": REGISTER_READERS,
    "api.reconciliation_act": RECONCILIATION_READERS,
    "api.sign_reconciliation_act": RECONCILIATION_SIGNERS,
})

REGION = {"type": "string", "pattern": "^KZ-[0-9]{2}$"}
MONTH = {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}
NULLABLE_STRING = {"type": ["string", "null"]}

REGISTER_ITEM = {
    "type": "object", "required": ["child_id", "district", "flags", "updated_at"],
    "properties": {
        "child_id": {"type": "string"}, "case_id": NULLABLE_STRING,
        "case_number": NULLABLE_STRING, "district": NULLABLE_STRING,
        "age": {"type": ["integer", "null"]}, "sex": {"type": "string"},
        "flags": {"type": "array", "items": {"enum": list(RISK_FLAGS)}},
        "updated_at": {"type": "string"},
        "name": {"type": ["string", "null"], "description": "identity: supervisors and heads "
                 "of education and health units only"},
        "iin": {"type": ["string", "null"], "description": "identity, as for name"},
    },
}
REGISTER_SCHEMA = {
    "type": "object", "required": ["region", "counts", "items", "next_cursor"],
    "properties": {
        "region": {"type": "string"}, "district": NULLABLE_STRING,
        "counts": {"type": "object", "description": "children per flag (the flags the caller "
                   "may see)", "additionalProperties": {"type": "integer"}},
        "districts": {"type": "object", "description": "children with a visible flag, per "
                      "district", "additionalProperties": {"type": "integer"}},
        "total": {"type": "integer"},
        "items": {"type": "array", "items": REGISTER_ITEM,
                  "description": "empty for auditors (counts only)"},
        "next_cursor": NULLABLE_STRING,
    },
}
ACT_REFERRAL = {"type": "object", "required": ["service", "status", "outcome"],
                "properties": {"service": {"type": "string"}, "status": {"type": "string"},
                               "outcome": NULLABLE_STRING}}
ACT_SCHEMA = {
    "type": "object", "required": ["region", "month", "cases", "signoffs"],
    "properties": {
        "region": {"type": "string"}, "month": {"type": "string"},
        "cases": {"type": "array", "items": {
            "type": "object",
            "required": ["case_id", "submitted_at", "categories", "referrals", "discrepancies"],
            "properties": {
                "case_id": {"type": "string"}, "number": {"type": "string"},
                "submitted_at": {"type": "string"},
                "categories": {"type": "array", "items": {"type": "string"}},
                "referrals": {"type": "object", "required": ["health", "police", "education"],
                              "properties": {agency: {"type": "array", "items": ACT_REFERRAL}
                                             for agency in ("health", "police", "education")}},
                "discrepancies": {"type": "array", "items": {"enum": list(DISCREPANCIES)}},
            }}},
        "signoffs": {"type": "array", "items": {
            "type": "object", "required": ["agency", "by", "at"],
            "properties": {
                "agency": {"type": "string"}, "by": {"type": "string"},
                "at": {"type": "string"},
                "amended": {"type": "boolean",
                            "description": "the act changed after this signature"},
                "changes": {"type": "array", "items": {"type": "object"}}}}},
        "digest": {"type": "string", "description": "SHA-256 of the cases as listed"},
    },
}
SIGN_BODY = {"type": "object", "additionalProperties": False, "required": ["region", "month"],
             "properties": {"region": REGION, "month": MONTH}}
REGISTER_QUERY: list[dict[str, Any]] = [
    {"name": "region", "in": "query", "required": True, "schema": REGION},
    {"name": "district", "in": "query", "schema": {"type": "string"}},
    {"name": "flag", "in": "query", "schema": {"enum": list(RISK_FLAGS)},
     "description": "only children with this flag (repeat for any of several)"},
    *PAGE_QUERY,
]
ACT_QUERY: list[dict[str, Any]] = [{"name": "region", "in": "query", "required": True, "schema": REGION},
             {"name": "month", "in": "query", "required": True, "schema": MONTH}]


def _not_found() -> ApiError:
    return ApiError(404, "not found")


def _flags(view: RegisterView) -> list[str]:
    flags = request.args.getlist("flag")
    unknown = [flag for flag in flags if flag not in RISK_FLAGS]
    if unknown:
        raise ApiError(422, "unknown flag", {"flag": "must be one of: " + ", ".join(RISK_FLAGS)})
    if any(flag in view.hidden_flags for flag in flags):
        raise _not_found()  # asking for a flag one may not see reveals nothing either
    return flags


def item_json(entry: risk_group.Entry, view: RegisterView) -> dict[str, Any]:
    child = entry.child
    item: dict[str, Any] = {
        "child_id": child.id, "case_id": entry.case_id, "case_number": entry.case_number,
        "district": child.district, "age": child.age, "sex": child.sex, "flags": entry.flags,
        "updated_at": child.updated_at.isoformat()}
    if view.identities:
        item.update({"name": child.name, "iin": child.iin})
    return item


@operation("/registers/risk-group", "GET", "The regional risk-group register (WKO item 8)",
           query=REGISTER_QUERY, response_schema=REGISTER_SCHEMA,
           also={404: "no such region, or not visible to the caller",
                 422: "a bad parameter"})
def risk_group_register() -> Response:
    user: User = g.api_user
    region, district = request.args.get("region"), request.args.get("district") or None
    limit = page_limit()
    try:
        view = service.register_view(user, region, district)
    except service.NotVisible:
        raise _not_found() from None
    assert region is not None  # noqa: S101 - register_view refuses None
    district = district or view.district
    flags = _flags(view)
    with audit.reading("register.risk_group_viewed", "risk_group_register", region) as read:
        counts = risk_group.counts(view, region, district, flags)
        items: list[dict[str, Any]] = []
        cursor = None
        if view.items:
            entries, cursor = risk_group.entries(view, region, district, flags, limit,
                                                 request.args.get("cursor"))
            items = [item_json(entry, view) for entry in entries]
        read.details = {"district": district or "", "flags": ",".join(flags),
                        "items": len(items), "identities": view.identities, "via": "api"}
    return jsonify({"region": region, "district": district, "counts": counts.per_flag,
                    "districts": {k or "": v for k, v in counts.per_district.items()},
                    "total": counts.total, "items": items, "next_cursor": cursor})


def act_json(act: Act) -> dict[str, Any]:
    return {"region": act.region, "month": act.month, "cases": act.content(),
            "signoffs": [{"agency": s.agency, "by": s.by, "at": s.at.isoformat(),
                          "amended": s.amended, "changes": s.changes} for s in act.signoffs],
            "digest": act.digest}


def _month(text: str | None) -> Any:
    try:
        return reconciliation.parse_month(text)
    except BadMonth as error:
        raise ApiError(422, "some fields are invalid", {"month": str(error)}) from None


@operation("/reports/reconciliation", "GET", "The monthly reconciliation act (WKO item 30)",
           query=ACT_QUERY, response_schema=ACT_SCHEMA,
           also={404: "no such region, or not visible to the caller",
                 422: "a bad month"})
def reconciliation_act() -> Response:
    month = _month(request.args.get("month"))
    try:
        act = service.visible_act(g.api_user, request.args.get("region"), month, utcnow())
    except service.NotVisible:
        raise _not_found() from None
    service.audit_act_view(act, "api")
    return jsonify(act_json(act))


@operation("/reports/reconciliation/sign", "POST",
           "Sign the act for the caller's agency (heads of region-level health, police and "
           "education units; once per agency)", request_schema=SIGN_BODY,
           response_schema=ACT_SCHEMA,
           also={403: "a head who may see but not sign (a district unit)",
                 404: "no such region, or not visible to the caller",
                 409: "the caller's agency has signed this act already",
                 422: "a bad body, or a month that is not over"})
def sign_reconciliation_act() -> Response:
    body = g.body
    month = _month(body["month"])
    try:
        act = service.sign(g.api_user, body["region"], month, utcnow())
    except service.NotVisible:
        raise _not_found() from None
    except service.Refused:
        raise ApiError(403, "only the head of a region-level unit signs the act") from None
    except service.AlreadySigned:
        raise ApiError(409, "your agency has signed this act already") from None
    except service.NotOver as error:
        raise ApiError(422, "some fields are invalid", {"month": str(error)}) from None
    return jsonify(act_json(act))
