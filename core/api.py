"""The JSON API foundation (interfaces.md, "JSON API, version 1").

Bearer tokens only (no cookies, so no CSRF), the error format of ``core.errors``, request bodies
validated by JSON Schema, and an OpenAPI 3.1 description generated from those same schemas: an
endpoint's schema is declared once, in ``@operation``, and used for both.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Blueprint, Flask, g, jsonify, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from sqlalchemy import Select, and_, or_, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.wrappers import Response

from core import audit, transactions
from core.clock import utcnow
from core.errors import ApiError
from core.extensions import csrf, db
from core.hostile import checked_json
from core.models import ApiToken, User
from core.models.tokens import hash_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
LAST_USED_RESOLUTION = timedelta(minutes=1)
F = TypeVar("F", bound=Callable[..., Any])

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "fields": {"type": "object", "additionalProperties": {"type": "string"}}},
    }},
}


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    request_schema: Mapping[str, Any] | None
    response_schema: Mapping[str, Any] | None
    status: int
    public: bool
    query: Sequence[Mapping[str, Any]] = field(default_factory=list)
    also: Mapping[int, str] = field(default_factory=dict)  # other answers worth documenting


OPERATIONS: list[Operation] = []


def operation(path: str, method: str, summary: str, *, request_schema: Mapping[str, Any] | None = None,
              response_schema: Mapping[str, Any] | None = None, status: int = 200,
              public: bool = False, query: Sequence[Mapping[str, Any]] = (),
              also: Mapping[int, str] | None = None) -> Callable[[F], F]:
    """Register an API view with its schemas; the request schema validates every call.
    ``query``: its parameters (query or header); ``also``: other statuses it answers, by
    description (a 2xx with the response schema, any other with the error schema)."""
    def decorate(view: F) -> F:
        OPERATIONS.append(Operation(path, method.lower(), summary, request_schema,
                                    response_schema, status, public, list(query), dict(also or {})))

        @functools.wraps(view)
        def validated(*args: Any, **kwargs: Any) -> Any:
            if request_schema is not None:
                g.body = json_body(request_schema)
            return view(*args, **kwargs)

        bp.add_url_rule(path, view_func=validated, methods=[method])
        return view
    return decorate


# ---- authentication --------------------------------------------------------------------------


def authenticate_bearer() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
    now = utcnow()
    if found is None or not found.usable_at(now):
        return None
    if found.last_used_at is None or now - found.last_used_at > LAST_USED_RESOLUTION:
        _note_use(found, now)
    g.api_token_id = found.id
    return found.user


def _note_use(token: ApiToken, now: datetime) -> None:
    """A write per minute per token at most, not one per request, and whatever the request's
    answer (a token used only for refused calls is in use): ``transactions.regardless``."""
    token_id = token.id
    set_committed_value(token, "last_used_at", now)  # seen now, without a flush of its own
    transactions.regardless(lambda: db.session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)))


# ---- request bodies ------------------------------------------------------------------------------


def json_body(schema: Mapping[str, Any] | None = None) -> Any:
    """The decoded body, or 400 ``malformed`` / 422 ``invalid`` naming every bad field."""
    # Parsed and bounded once per request (core/hostile.py): depth, digit count, NUL, UTF-8.
    data = checked_json()
    if schema is not None:
        check(data, schema)
    return data


def _dotted(error: ValidationError) -> str:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = [name for name in error.validator_value
                   if isinstance(error.instance, dict) and name not in error.instance]
        if missing:
            path.append(missing[0])
    elif (error.validator == "additionalProperties" and isinstance(error.instance, dict)
          and isinstance(error.schema, Mapping)):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        if extra:
            path.append(extra[0])
    return ".".join(path) or "body"


def schema_errors(data: Any, schema: Mapping[str, Any]) -> dict[str, str]:
    """Every place where ``data`` breaks ``schema``, keyed by dotted path."""
    fields: dict[str, str] = {}
    for error in Draft202012Validator(schema).iter_errors(data):
        fields.setdefault(_dotted(error), _message(error))
    return fields


def check(data: Any, schema: Mapping[str, Any]) -> None:
    fields = schema_errors(data, schema)
    if fields:
        raise ApiError(422, "some fields are invalid", fields)


def _message(error: ValidationError) -> str:
    if error.validator == "required":
        return "required"
    if error.validator == "additionalProperties":
        return "unknown field"
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return "must be one of: " + ", ".join(map(str, error.validator_value))
    # Built from the rule, never from the value: jsonschema's own messages quote the submitted
    # value, and a summary or a name must not travel back in error bodies and logs.
    rule, limit = str(error.validator), error.validator_value
    if rule == "type":
        kinds = limit if isinstance(limit, list) else [limit]
        return "must be " + " or ".join(map(str, kinds))
    return RULE_MESSAGES.get(rule, "fails the {rule} rule").format(limit=limit, rule=rule)


RULE_MESSAGES = {
    "maxLength": "at most {limit} characters", "minLength": "at least {limit} characters",
    "maximum": "at most {limit}", "minimum": "at least {limit}",
    "exclusiveMaximum": "less than {limit}", "exclusiveMinimum": "more than {limit}",
    "maxItems": "at most {limit} items", "minItems": "at least {limit} items",
    "uniqueItems": "items must not repeat", "pattern": "has the wrong format",
    "format": "must be a valid {limit}", "const": "must be {limit}",
    "maxProperties": "at most {limit} fields", "minProperties": "at least {limit} fields",
}


# ---- pagination ---------------------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
PAGE_QUERY = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
]


def page_limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    # not "²", and no 5,000-digit number for int() to refuse with a ValueError
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 3 or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(422, "limit must be an integer from 1 to 500", {"limit": "out of range"})
    return int(raw)


def encode_cursor(values: Sequence[Any]) -> str:
    text = json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in values])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise ApiError(422, "the cursor is not valid", {"cursor": "invalid"}) from None
    if not isinstance(values, list) or len(values) != size:
        raise ApiError(422, "the cursor is not valid", {"cursor": "invalid"})
    return values


def paginate(query: Select[Any], keys: Sequence[tuple[InstrumentedAttribute[Any], bool]],
             convert: Sequence[Callable[[Any], Any]] | None = None) -> tuple[list[Any], str | None]:
    """Keyset pagination over ``keys`` ((column, descending) pairs; the last must be unique).

    Returns the page and the next cursor (None at the end). Stable under inserts, unlike OFFSET.
    """
    limit = page_limit()
    cursor = request.args.get("cursor")
    if cursor:
        values = decode_cursor(cursor, len(keys))
        if convert:
            values = [fn(v) for fn, v in zip(convert, values, strict=True)]
        query = query.where(_after(keys, values))
    query = query.order_by(*[col.desc() if desc else col.asc() for col, desc in keys])
    rows = list(db.session.scalars(query.limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    last = page[-1]
    return page, encode_cursor([getattr(last, col.key) for col, _ in keys])


def _after(keys: Sequence[tuple[InstrumentedAttribute[Any], bool]], values: Sequence[Any]) -> Any:
    clauses = []
    for i, (col, desc) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(i)]
        beyond = col < values[i] if desc else col > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


# ---- the description -------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path = "/api/v1" + op.path.replace("<", "{").replace(">", "}")
        path = path.replace("{string:", "{").replace("{int:", "{")
        success = {"schema": op.response_schema or {"type": "object"}}
        error = {"schema": {"$ref": "#/components/schemas/Error"}}
        responses: dict[str, Any] = {
            str(op.status): {"description": "success", "content": {"application/json": success}}}
        for status, description in sorted(op.also.items()):
            body = success if 200 <= status < 300 else error
            responses[str(status)] = {"description": description,
                                      "content": {"application/json": body}}
        responses["default"] = {"description": "error", "content": {"application/json": error}}
        entry: dict[str, Any] = {"summary": op.summary, "operationId": _operation_id(op),
                                 "responses": responses}
        params = [{"name": name.split(":")[-1], "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _path_params(op.path)]
        if params or op.query:
            entry["parameters"] = params + list(op.query)
        if op.request_schema is not None:
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": op.request_schema}}}
        entry["security"] = [] if op.public else [{"bearer": []}]
        paths.setdefault(path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Senim API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation_id(op: Operation) -> str:
    slug = op.path.strip("/").replace("/", "_").replace("<", "").replace(">", "")
    return f"{op.method}_{slug}"


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("<")]


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)


@operation("/openapi.json", "GET", "This description", public=True,
           response_schema={"type": "object", "required": ["openapi", "paths"]})
def openapi_json() -> Response:
    return jsonify(openapi_document())


@operation("/me", "GET", "The token's user", response_schema={
    "type": "object", "required": ["id", "username", "role"],
    "properties": {"id": {"type": "string"}, "username": {"type": "string"},
                   "role": {"type": "string"}, "unit_id": {"type": ["string", "null"]}}})
def me() -> Response:
    user: User = g.api_user
    return jsonify({"id": user.id, "username": user.username, "role": user.role,
                    "unit_id": user.unit_id})


USER_SCHEMA = {
    "type": "object", "required": ["id", "username", "role", "active"],
    "properties": {"id": {"type": "string"}, "username": {"type": "string"},
                   "display_name": {"type": "string"}, "role": {"type": "string"},
                   "unit_id": {"type": ["string", "null"]}, "region": {"type": ["string", "null"]},
                   "active": {"type": "boolean"}},
}


@operation("/users", "GET", "Staff accounts (administrators)", query=PAGE_QUERY, response_schema={
    "type": "object", "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array", "items": USER_SCHEMA},
                   "next_cursor": {"type": ["string", "null"]}}})
def list_users() -> Response:
    users, cursor = paginate(db.select(User), [(User.id, True)])
    return jsonify({"items": [{
        "id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
        "unit_id": u.unit_id, "region": u.region, "active": u.active} for u in users],
        "next_cursor": cursor})


@operation("/audit/verify", "GET", "Verify the audit chain: from the last verified signed "
           "checkpoint to the newest entry (verified_from says where it started), or the whole "
           "chain with full=1", query=[
               {"name": "full", "in": "query", "required": False,
                "description": "1: replay the whole chain from entry 1 and every checkpoint",
                "schema": {"type": "string", "enum": ["0", "1"]}}],
           response_schema={"type": "object", "required": ["ok"], "properties": {
               "ok": {"type": "boolean"}, "entries": {"type": "integer"},
               "verified_from": {"type": ["integer", "null"]}, "first_bad": {"type": "integer"}}})
def audit_verify() -> Response:
    full = request.args.get("full", "0")
    if full not in ("0", "1"):
        raise ApiError(422, "full must be 0 or 1", {"full": "must be 0 or 1"})
    result = audit.verify() if full == "1" else audit.verify_incremental()
    audit.record("audit.verified", details={"ok": result.ok, "full": full == "1"})
    if result.ok:
        return jsonify({"ok": True, "entries": result.entries, "verified_from": result.verified_from})
    return jsonify({"ok": False, "first_bad": result.first_bad})
