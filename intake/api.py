"""Intake's JSON API (interfaces.md): contacts and cases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app, g, jsonify, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from core import audit, permissions
from core.access import note_denied
from core.api import (
    DEFAULT_LIMIT,
    PAGE_QUERY,
    decode_cursor,
    encode_cursor,
    operation,
    page_limit,
)
from core.errors import ApiError
from core.extensions import db
from core.models import User
from core.models.break_glass import can_read_case
from intake import queries
from intake.models import Case, Contact, RoutingDecision
from intake.ports import routing
from intake.schema import CONTACT_CREATED, CONTACT_SCHEMA
from intake.serialize import case_json, contact_json, iso, viewer_field_view
from intake.service import ContactInvalid, IdempotencyConflict, Submission, submit_contact
from referrals.routing import parse_rfc3339

MAX_CANDIDATES = 2000  # blind-index candidates decrypted per search at most


def created_json(submission: Submission, viewer: User) -> dict[str, Any]:
    contact = submission.contact
    case = contact.case
    stored = (dict(submission.decision_row.decision) if submission.decision_row is not None
              else contact_decision(contact))
    return {
        "id": contact.id, "case_id": contact.case_id,
        "case_number": case.number if case else None,
        "urgency": stored.get("urgency"), "lead": stored.get("lead"),
        "algorithm_version": stored.get("algorithm_version"),
        "referrals": [routing().referral_json(r, viewer) for r in (case.referrals if case else [])
                      if r.contact_id == contact.id],
    }


def contact_decision(contact: Contact) -> dict[str, Any]:
    row = db.session.scalar(select(RoutingDecision).where(RoutingDecision.contact_id == contact.id))
    return dict(row.decision) if row else {}


IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Retries and resends with the same key create one contact.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
}


@operation("/contacts", "POST", "Submit a contact (idempotent with Idempotency-Key)",
           request_schema=CONTACT_SCHEMA, response_schema=CONTACT_CREATED, status=201,
           query=[IDEMPOTENCY_HEADER],
           also={200: "the contact an earlier request with this Idempotency-Key created",
                 409: "this Idempotency-Key was used with another body"})
def create_contact() -> tuple[Response, int]:
    user: User = g.user
    if not permissions.can_submit_contact(user):
        raise ApiError(403, "only helpline staff submit contacts")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 100:
        raise ApiError(422, "Idempotency-Key must have 1 to 100 characters",
                       {"Idempotency-Key": "length"})
    try:
        submission = submit_contact(g.body, user, idempotency_key=key)
    except ContactInvalid as error:
        raise ApiError(error.status, "the contact is not valid", error.fields) from None
    except IdempotencyConflict as error:
        raise ApiError(409, str(error)) from None
    return jsonify(created_json(submission, user)), 201 if submission.created else 200


def _visible_contact(contact_id: str, user: User) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise ApiError(404, "not found")
    if not (can_read_case(user, contact.case) if contact.case is not None
            else permissions.can_view_caseless_contact(user, _caseless_region(contact))):
        note_denied("contact", contact.id)
        raise ApiError(404, "not found")
    return contact


def _caseless_region(contact: Contact) -> str | None:
    """Where a contact without a case belongs: its child's region when one was recorded, else
    the region of the helpline desk that took it."""
    if contact.child is not None and contact.child.region:
        return contact.child.region
    desk = db.session.get(User, contact.submitted_by)
    return desk.region if desk is not None else None


@operation("/contacts/<contact_id>", "GET", "One contact, with the fields you may see")
def get_contact(contact_id: str) -> Response:
    user: User = g.user
    contact = _visible_contact(contact_id, user)
    with audit.reading("contact.viewed", "contact", contact.id):
        body = contact_json(contact, viewer_field_view(user, contact.case))
    return jsonify(body)


def visible_case(case_id: str, user: User) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise ApiError(404, "not found")
    if not can_read_case(user, case):
        note_denied("case", case.id)
        raise ApiError(404, "not found")  # the same answer for absent and not yours
    return case


@operation("/cases/<case_id>", "GET", "One case: contacts, referrals and events")
def get_case(case_id: str) -> Response:
    user: User = g.user
    case = visible_case(case_id, user)
    with audit.reading("case.viewed", "case", case.id):
        body = case_json(case, user)
    return jsonify(body)


CASE_QUERY = [*PAGE_QUERY] + [
    {"name": name, "in": "query", "schema": {"type": "string"}}
    for name in ("q", "status", "region", "from", "to")
]
SEARCH_BODY = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "q": {"type": "string", "maxLength": 200},
        "status": {"enum": ["open", "closed", None]},
        "region": {"type": ["string", "null"], "maxLength": 8},
        "from": {"type": ["string", "null"], "maxLength": 40},
        "to": {"type": ["string", "null"], "maxLength": 40},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500},
        "cursor": {"type": ["string", "null"], "maxLength": 2000},
    },
}
SEARCH_RESULT = {
    "type": "object", "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array"}, "next_cursor": {"type": ["string", "null"]}},
}


def _date_arg(name: str, source: Mapping[str, Any]) -> datetime | None:
    raw = source.get(name)
    if not raw:
        return None
    try:
        return queries.period_bound(str(raw), current_app.config["SENIM"].tz, end=name == "to")
    except ValueError:
        raise ApiError(422, f"{name} is not a date", {name: "not a date"}) from None


@operation("/cases", "GET", "Search cases (scoped to what you may see; audited). Prefer POST "
           "/cases/search: a name, phone or IIN in q is personal data, and a query string "
           "travels into logs", query=CASE_QUERY)
def search_cases() -> Response:
    return _search(request.args, page_limit(), request.args.get("cursor"))


@operation("/cases/search", "POST", "Search cases with the criteria in the body (the same "
           "search as GET /cases, without personal data in the URL)",
           request_schema=SEARCH_BODY, response_schema=SEARCH_RESULT)
def search_cases_post() -> Response:
    body: dict[str, Any] = g.body
    return _search(body, int(body.get("limit") or DEFAULT_LIMIT), body.get("cursor"))


def _search(source: Mapping[str, Any], limit: int, cursor: str | None) -> Response:
    user: User = g.user
    status = source.get("status") or None
    if status not in (None, "open", "closed"):
        raise ApiError(422, "unknown status", {"status": "must be open or closed"})
    query = queries.apply_filters(queries.case_scope(user), status=status,
                                  region=source.get("region") or None,
                                  start=_date_arg("from", source), end=_date_arg("to", source))
    q = str(source.get("q") or "").strip()
    # the entry covers the candidates decrypted and discarded, too
    with audit.reading("case.search", "case") as read:
        items, next_cursor = _search_page(query, q, limit, cursor)
        view_items = [{"id": c.id, "number": c.number, "status": c.status, "urgency": c.urgency,
                       "region": c.region, "district": c.district,
                       "opened_at": iso(c.opened_at)} for c in items]
        read.details = {"kind": queries.search_kind(q) if q else "none",
                        "results": len(view_items)}
    return jsonify({"items": view_items, "next_cursor": next_cursor})


def _search_page(query: Any, q: str, limit: int, cursor: str | None) -> tuple[list[Case], str | None]:
    """Newest first, keyset-paginated; with ``q``, candidates are decrypted and filtered."""
    kind = ""
    if q:
        query, kind = queries.apply_search(query, q)
    if cursor:
        opened, last_id = decode_cursor(cursor, 2)
        try:
            opened_at, last_id = parse_rfc3339(opened), str(last_id)
        except (TypeError, ValueError):
            raise ApiError(422, "the cursor is not valid", {"cursor": "invalid"}) from None
        query = query.where((Case.opened_at < opened_at)
                            | ((Case.opened_at == opened_at) & (Case.id < last_id)))
    query = query.order_by(Case.opened_at.desc(), Case.id.desc())
    found: list[Case] = []
    for case in db.session.scalars(query.limit(MAX_CANDIDATES)):
        if not q or queries.matches(case, q, kind):
            found.append(case)
            if len(found) > limit:
                break
    page = found[:limit]
    next_cursor = encode_cursor([page[-1].opened_at, page[-1].id]) if len(found) > limit else None
    return page, next_cursor


permissions.register_endpoints({"api.search_cases_post": permissions.HELPLINE})
