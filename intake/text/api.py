"""The JSON API of the school channel (interfaces.md): the public report endpoints, and the
helpline's ``text-reports`` queue, thread, claim, reply, close and conversion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, jsonify, request
from sqlalchemy import Boolean, literal
from werkzeug.wrappers import Response

from core import audit
from core.api import PAGE_QUERY, operation, paginate
from core.clock import utcnow
from core.errors import ApiError
from core.extensions import db
from core.models import User
from intake.api import created_json
from intake.models import LANGUAGES
from intake.schema import CONTACT_CREATED, CONTACT_SCHEMA
from intake.serialize import iso
from intake.service import ContactInvalid, submit_contact
from intake.text import service, throttle
from intake.text.models import CLOSED, OPEN, SAFE_ANSWERS, STATUSES, TextReport
from intake.text.service import (
    ClaimedByOther,
    IdempotencyConflict,
    ReportInvalid,
    ThreadClosed,
    TooManyMessages,
)
from referrals.routing import parse_rfc3339

TEXT = {"type": "string", "minLength": 1, "maxLength": service.MAX_TEXT}
CODE = {"type": "string", "minLength": 1, "maxLength": 64}
PUBLIC_REPORT = {
    "type": "object", "additionalProperties": False, "required": ["school_token", "text"],
    "properties": {
        "school_token": {"type": "string", "minLength": 1, "maxLength": 40},
        "text": TEXT,
        "age": {"type": ["integer", "null"], "minimum": service.AGE_RANGE[0],
                "maximum": service.AGE_RANGE[1]},
        "safe_now": {"enum": [*SAFE_ANSWERS, True, False, None]},
        "contact_ok": {"type": ["boolean", "null"]},
        "contact_how": {"type": ["string", "null"], "maxLength": service.MAX_CONTACT_HOW},
        "language": {"enum": list(LANGUAGES)},
    },
}
FOLLOW_UP = {"type": "object", "additionalProperties": False, "required": ["follow_up_code"],
             "properties": {"follow_up_code": CODE}}
CHILD_MESSAGE = {"type": "object", "additionalProperties": False,
                 "required": ["follow_up_code", "text"],
                 "properties": {"follow_up_code": CODE, "text": TEXT}}
PUBLIC_THREAD = {
    "type": "object", "required": ["messages", "status"],
    "properties": {"status": {"enum": [OPEN, CLOSED]}, "messages": {"type": "array", "items": {
        "type": "object", "required": ["from", "text", "at"],
        "properties": {"from": {"enum": ["child", "helpline"]}, "text": {"type": "string"},
                       "at": {"type": "string"}}}}},
}
REPLY = {"type": "object", "additionalProperties": False, "required": ["text"],
         "properties": {"text": TEXT}}
SCHOOL_OUT = {"type": "object", "required": ["name", "district"],
              "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                             "region": {"type": "string"},
                             "district": {"type": ["string", "null"]}}}
QUEUE_ITEM_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"}, "school": SCHOOL_OUT, "waiting_seconds": {"type": "integer"},
    "status": {"enum": list(STATUSES)}, "urgent": {"type": "boolean"}, "risk": {"type": "array"},
    "claimed_by": {"type": ["object", "null"]}, "case_id": {"type": ["string", "null"]},
}
QUEUE_ITEM = {"type": "object", "required": ["id", "school", "waiting_seconds", "status"],
              "properties": QUEUE_ITEM_PROPERTIES}
STAFF_THREAD = {
    "type": "object", "required": ["id", "status", "school", "messages"],
    "properties": {**QUEUE_ITEM_PROPERTIES, "messages": {"type": "array"},
                   "age": {"type": ["integer", "null"]}, "safe_now": {"type": ["string", "null"]},
                   "contact_ok": {"type": "boolean"}, "contact_how": {"type": ["string", "null"]},
                   "language": {"type": "string"},
                   "claim_expires_at": {"type": ["string", "null"]}},
}
IDEMPOTENCY_HEADER = {"name": "Idempotency-Key", "in": "header", "required": False,
                      "schema": {"type": "string", "minLength": 1, "maxLength": 100}}
NOT_FOUND = "no conversation with this code"


# ---- public ------------------------------------------------------------------------------------


def _throttled(hit: Any, *args: str) -> None:
    try:
        hit(*args)
    except throttle.Throttled:
        raise ApiError(429, "too many requests; please try again later") from None


@operation("/public/reports", "POST", "A child's anonymous report from a school's QR code",
           request_schema=PUBLIC_REPORT, status=201, public=True, query=[IDEMPOTENCY_HEADER],
           response_schema={"type": "object", "required": ["follow_up_code"],
                            "properties": {"follow_up_code": {"type": "string"}}},
           also={200: "the code an earlier request with this Idempotency-Key received",
                 404: "unknown or replaced school token", 409: "Idempotency-Key reused",
                 429: "too many reports from this address or for this school"})
def public_create_report() -> tuple[Response, int]:
    body: dict[str, Any] = g.body
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 100:
        raise ApiError(422, "Idempotency-Key must have 1 to 100 characters",
                       {"Idempotency-Key": "length"})
    _throttled(throttle.new_report_from_address)
    found = service.lookup_token(body["school_token"])
    if found is None or found.retired:
        raise ApiError(404, "this school code is unknown or was replaced; call 111")
    _throttled(throttle.new_report_for_token, body["school_token"])
    try:
        new = service.parse_report(body)
        report, code = service.create_report(found.school, new, utcnow(), idempotency_key=key,
                                             request_digest=service.request_digest(body))
    except ReportInvalid as error:
        raise ApiError(422, "some fields are invalid", error.fields) from None
    except IdempotencyConflict as error:
        raise ApiError(409, str(error)) from None
    return jsonify({"follow_up_code": code}), 201 if report is not None else 200


def _report_for_code(code: str) -> TextReport:
    _throttled(throttle.thread_read)
    report = service.report_for_code(code)
    if report is None:
        raise ApiError(404, NOT_FOUND)
    return report


@operation("/public/reports/thread", "POST", "The thread of a follow-up code",
           request_schema=FOLLOW_UP, response_schema=PUBLIC_THREAD, public=True,
           also={404: "no such code (no hint given)", 429: "too many attempts"})
def public_report_thread() -> Response:
    report = _report_for_code(g.body["follow_up_code"])
    return jsonify(service.public_thread(report))


@operation("/public/reports/messages", "POST", "The child writes more in the thread",
           request_schema=CHILD_MESSAGE, response_schema=PUBLIC_THREAD, public=True,
           also={404: "no such code", 409: "the thread is closed", 429: "too many messages"})
def public_report_message() -> Response:
    report = _report_for_code(g.body["follow_up_code"])
    _throttled(throttle.new_message)
    try:
        service.child_writes(report, g.body["text"], utcnow())
    except ReportInvalid as error:
        raise ApiError(422, "some fields are invalid", error.fields) from None
    except ThreadClosed:
        raise ApiError(409, "this conversation is closed; call 111") from None
    except TooManyMessages:
        raise ApiError(409, "this conversation is full; call 111") from None
    return jsonify(service.public_thread(report))


# ---- the helpline ------------------------------------------------------------------------------


def _user_ref(user_id: str | None) -> dict[str, str] | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return {"id": user_id, "display_name": user.display_name if user else ""}


def queue_item(report: TextReport, now: datetime) -> dict[str, Any]:
    school = report.school
    return {"id": report.id,
            "school": {"id": school.id, "name": school.name(report.language),
                       "region": school.region, "district": school.district},
            "waiting_seconds": service.waiting_seconds(report, now), "status": report.status,
            "urgent": report.urgent, "risk": list(report.risk or []),
            "claimed_by": _user_ref(service.claim_holder(report, now)),
            "case_id": report.case_id}


def staff_thread(report: TextReport, now: datetime) -> dict[str, Any]:
    holder = service.claim_holder(report, now)
    return {**queue_item(report, now), "language": report.language, "age": report.age,
            "safe_now": report.safe_now, "contact_ok": report.contact_ok,
            "contact_how": report.contact_how,
            "claim_expires_at": iso(report.claim_expires_at) if holder else None,
            "messages": [{"id": m.id, "from": m.sender, "text": m.text, "at": iso(m.at),
                          "author": _user_ref(m.author_id), "risk": list(m.risk or [])}
                         for m in report.messages]}


def _visible(report_id: str) -> TextReport:
    report = service.visible_report(report_id, g.user)
    if report is None:
        raise ApiError(404, "not found")
    return report


def _thread_response(report: TextReport, now: datetime) -> Response:
    with audit.reading("text_report.viewed", "text_report", report.id):
        body = staff_thread(report, now)
    return jsonify(body)


QUEUE_QUERY = [*PAGE_QUERY, {"name": "status", "in": "query",
                             "schema": {"enum": list(STATUSES)}}]


@operation("/text-reports", "GET", "Anonymous text reports: waiting ones in triage order "
           "(urgent first, then the longest waiting), others oldest first", query=QUEUE_QUERY,
           response_schema={"type": "object", "required": ["items", "next_cursor"],
                            "properties": {"items": {"type": "array", "items": QUEUE_ITEM},
                                           "next_cursor": {"type": ["string", "null"]}}})
def list_text_reports() -> Response:
    status = request.args.get("status") or OPEN
    if status not in STATUSES:
        raise ApiError(422, "unknown status", {"status": "must be one of: " + ", ".join(STATUSES)})
    keys = service.queue_keys(status)
    convert = [_cursor_value(column) for column, _ in keys]
    rows, cursor = paginate(service.queue_query(g.user, status), keys, convert)
    now = utcnow()
    return jsonify({"items": [queue_item(r, now) for r in rows], "next_cursor": cursor})


def _cursor_value(column: Any) -> Any:
    if column.key in ("waiting_since", "created_at"):
        def moment(value: Any) -> datetime:
            try:
                return parse_rfc3339(str(value))
            except ValueError:
                raise ApiError(422, "the cursor is not valid", {"cursor": "invalid"}) from None
        return moment
    if column.key == "urgent":
        # a bound literal: SQLAlchemy refuses ``column < True`` written with Python's booleans
        return lambda value: literal(bool(value), Boolean())
    return str


@operation("/text-reports/<report_id>", "GET", "One report's thread (audited)",
           response_schema=STAFF_THREAD)
def get_text_report(report_id: str) -> Response:
    return _thread_response(_visible(report_id), utcnow())


def _act(report_id: str, action: Any) -> Response:
    report = _visible(report_id)
    now = utcnow()
    try:
        action(report, now)
    except ClaimedByOther:
        db.session.rollback()
        raise ApiError(409, "another operator has claimed this report") from None
    except ThreadClosed:
        db.session.rollback()
        raise ApiError(409, "this report is closed") from None
    except ReportInvalid as error:
        db.session.rollback()
        raise ApiError(422, "some fields are invalid", error.fields) from None
    return _thread_response(report, now)


@operation("/text-reports/<report_id>/claim", "POST", "Claim a report (one operator at a time; "
           "the claim expires after 10 minutes without a reply)", response_schema=STAFF_THREAD,
           also={409: "claimed by another operator, or closed"})
def claim_text_report(report_id: str) -> Response:
    return _act(report_id, lambda report, now: service.claim(report, g.user, now))


@operation("/text-reports/<report_id>/release", "POST", "Let a claimed report go",
           response_schema=STAFF_THREAD)
def release_text_report(report_id: str) -> Response:
    return _act(report_id, lambda report, now: service.release(report, g.user, now))


@operation("/text-reports/<report_id>/reply", "POST", "Answer the child (claims the report)",
           request_schema=REPLY, response_schema=STAFF_THREAD,
           also={409: "claimed by another operator, or closed"})
def reply_text_report(report_id: str) -> Response:
    return _act(report_id, lambda report, now: service.reply(report, g.user, g.body["text"], now))


@operation("/text-reports/<report_id>/close", "POST", "Close the thread (the child sees it "
           "closed, with the numbers to call)", response_schema=STAFF_THREAD,
           also={409: "claimed by another operator, or already closed"})
def close_text_report(report_id: str) -> Response:
    return _act(report_id, lambda report, now: service.close(report, g.user, now))


CONVERT_SCHEMA = {**CONTACT_SCHEMA, "required": []}


@operation("/text-reports/<report_id>/convert", "POST", "Record the report as a contact (and "
           "case) through the usual intake: fields not given come from the report (channel qr, "
           "the school's region and district, the child's words as the summary)",
           request_schema=CONVERT_SCHEMA, response_schema=CONTACT_CREATED, status=201,
           also={409: "already converted, or claimed by another operator"})
def convert_text_report(report_id: str) -> tuple[Response, int]:
    user: User = g.user
    report = _visible(report_id)
    if report.contact_id is not None:
        raise ApiError(409, "this report is already recorded as a contact")
    now = utcnow()
    holder = service.claim_holder(report, now)
    if holder is not None and holder != user.id:
        raise ApiError(409, "another operator has claimed this report")
    data = service.merged_contact(service.contact_prefill(report), g.body)
    try:
        submission = submit_contact(
            data, user, now=now,
            before_commit=lambda done: service.link_contact(report, done.contact, user))
    except ContactInvalid as error:
        db.session.rollback()
        raise ApiError(error.status, "the contact is not valid", error.fields) from None
    return jsonify(created_json(submission, user)), 201
