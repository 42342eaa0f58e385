"""The referrals API (interfaces.md): the list, one referral, and one operation per action of
routing.md §8 (``POST /api/v1/referrals/{id}/{action}``), each with its own body schema so the
OpenAPI description documents every body."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import g, jsonify, request
from sqlalchemy import Select, and_, or_
from werkzeug.wrappers import Response

from core import audit
from core.api import PAGE_QUERY, decode_cursor, encode_cursor, operation, page_limit
from core.errors import ApiError
from core.extensions import db
from core.models import User
from referrals.handoffs import queries, service, transitions
from referrals.handoffs.models import STATES, Referral
from referrals.handoffs.serialize import referral_json
from referrals.handoffs.transitions import (
    ACTION_CODES,
    DECLINE_REASONS,
    NOTE_MAX_LENGTH,
    OUTCOMES,
    REASON_MAX_LENGTH,
    Refused,
)
from referrals.routing import parse_rfc3339

NOTE = {"type": "string", "maxLength": NOTE_MAX_LENGTH}
ID = {"type": "string", "minLength": 1, "maxLength": 36}


def _body(required: list[str], **properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": dict(properties)}


ACTION_BODIES: dict[str, dict[str, Any] | None] = {
    "acknowledge": None,
    "accept": None,
    "decline": _body(["reason"], reason={"enum": list(DECLINE_REASONS)}, note=NOTE),
    "transfer": _body(["unit_id"], unit_id=ID, note=NOTE),
    "record_action": _body(["action"], action={"enum": list(ACTION_CODES)}, note=NOTE),
    "complete": _body(["outcome"], outcome={"enum": list(OUTCOMES)}, note=NOTE),
    "reroute": _body(["unit_id"], unit_id=ID, service={"type": "string", "maxLength": 80},
                     note=NOTE),
    "override": _body(["reason"], reason={"type": "string", "minLength": 1,
                                          "maxLength": REASON_MAX_LENGTH}),
    "note": _body(["note"], note={**NOTE, "minLength": 1}),
}

REFERRAL_SCHEMA = {
    "type": "object", "required": ["id", "case_id", "agency", "service", "status"],
    "properties": {
        "id": {"type": "string"}, "case_id": {"type": "string"}, "agency": {"type": "string"},
        "service": {"type": "string"}, "status": {"enum": list(STATES)},
        "unit": {"type": ["object", "null"]}, "mandatory": {"type": "boolean"},
        "ack_due_at": {"type": "string"}, "action_due_at": {"type": "string"},
        "escalation_level": {"type": "integer"}, "rules": {"type": "array"},
        "outcome": {"type": ["string", "null"]}, "events": {"type": "array"},
    },
}
LIST_SCHEMA = {"type": "object", "required": ["items", "next_cursor"], "properties": {
    "items": {"type": "array", "items": REFERRAL_SCHEMA},
    "next_cursor": {"type": ["string", "null"]}}}
LIST_QUERY = [*PAGE_QUERY, {"name": "status", "in": "query", "schema": {
    "enum": [*STATES, "open"]}}]


def _refused(error: Refused) -> ApiError:
    return ApiError(error.status, error.message, error.fields)


# ---- the list ------------------------------------------------------------------------------------


@operation("/referrals", "GET", "Referrals you may see, nearest open deadline first",
           query=LIST_QUERY, response_schema=LIST_SCHEMA)
def list_referrals() -> Response:
    user: User = g.user
    status = request.args.get("status") or None
    if status is not None and status not in (*STATES, "open"):
        raise ApiError(422, "unknown status", {"status": "must be one of: " + ", ".join(
            (*STATES, "open"))})
    query = queries.with_status(queries.referral_scope(user), status)
    rows, cursor = _page(query)
    with audit.reading("referral.listed", "referral") as read:
        items = [referral_json(r, user) for r in rows]
        read.details = {"status": status or "any", "results": len(items)}
    return jsonify({"items": items, "next_cursor": cursor})


def _page(query: Select[Any]) -> tuple[list[Referral], str | None]:
    """Keyset pages over (next deadline, created_at, id): stable while referrals move."""
    limit = page_limit()
    key = queries.next_due()
    cursor = request.args.get("cursor")
    if cursor:
        due, created, last_id = _cursor_values(cursor)
        query = query.where(or_(key > due, and_(key == due, Referral.created_at > created),
                                and_(key == due, Referral.created_at == created,
                                     Referral.id > last_id)))
    rows = list(db.session.scalars(query.order_by(key, Referral.created_at, Referral.id)
                                   .limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    page, last = rows[:limit], rows[limit - 1]
    return page, encode_cursor([queries.next_due_of(last), last.created_at, last.id])


def _cursor_values(cursor: str) -> tuple[datetime, datetime, str]:
    due, created, last_id = decode_cursor(cursor, 3)
    try:
        return parse_rfc3339(due), parse_rfc3339(created), str(last_id)
    except (TypeError, ValueError):
        raise ApiError(422, "the cursor is not valid", {"cursor": "invalid"}) from None


@operation("/referrals/<referral_id>", "GET", "One referral, with what you may see of it",
           response_schema=REFERRAL_SCHEMA)
def get_referral(referral_id: str) -> Response:
    user: User = g.user
    try:
        referral = service.visible_referral(referral_id, user)
    except Refused as error:
        raise _refused(error) from None
    with audit.reading("referral.viewed", "referral", referral.id):
        body = referral_json(referral, user)
    return jsonify(body)


# ---- the actions -----------------------------------------------------------------------------------


def _action_view(action: str) -> Callable[[str], Response]:
    def view(referral_id: str) -> Response:
        user: User = g.user
        body = g.get("body") if ACTION_BODIES[action] is not None else {}
        try:
            referral = service.perform(referral_id, action, user,
                                       service.ActionInput.from_mapping(action, body or {}))
        except Refused as error:
            db.session.rollback()
            raise _refused(error) from None
        return jsonify(referral_json(referral, user))

    view.__name__ = view.__qualname__ = f"referral_{action}"
    return view


for _action in transitions.ACTIONS:
    operation(f"/referrals/<referral_id>/{_action}", "POST",
              f"{_action.replace('_', ' ').capitalize()} (routing.md §8); answers the referral",
              request_schema=ACTION_BODIES[_action], response_schema=REFERRAL_SCHEMA,
              )(_action_view(_action))
