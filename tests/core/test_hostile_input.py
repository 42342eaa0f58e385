"""Issue 16 item 4: input the spec says is handled never answers 5xx. A NUL byte in any path
id, query parameter, cursor, form field or JSON value; JSON nested 50,000 deep; a 5,000-digit
integer. The walk covers EVERY route of the URL map, each signed in with a role that reaches
it (bearer tokens for the API), so a route added later is walked too."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from core import permissions
from core.access import public_endpoints
from core.extensions import db
from core.models import AgencyUnit, User
from core.roles import Role
from core.users_service import issue_token
from tests.factories import csrf_token, sign_in

NUL = "x\x00y"
NUL_QUERY = {name: "a\x00" for name in (
    "q", "region", "status", "cursor", "page", "limit", "from", "to", "username", "draft",
    "case_id", "next", "agency", "unit", "district", "role", "active", "number", "version",
    "period", "lang", "phone", "iin", "kind", "state", "sort")}
HUGE = "9" * 5000
HUGE_QUERY = {name: HUGE for name in ("page", "limit", "cursor", "q", "from", "to", "region")}
FAKE_ID = "01234567-89ab-7cde-8f01-23456789abcd"
NUL_BODY = {name: "a\x00" for name in (
    "unit_id", "reason", "note", "service", "outcome", "action", "username", "password",
    "display_name", "role", "region", "name", "days", "code", "current", "new", "confirm",
    "lang", "next", "q", "phone", "iin", "draft_id", "case_id", "text", "agency", "district")}
PREFERENCE = [Role.OPERATOR, Role.SUPERVISOR, Role.AGENCY_STAFF, Role.AGENCY_HEAD, Role.ADMIN,
              Role.AUDITOR]
SKIPPED = {"static", "auth.logout"}  # a file server; sign-out takes no input and ends the walk


class Actor:
    def __init__(self, app: Flask, user: User) -> None:
        self.client = app.test_client()
        assert sign_in(self.client, user).status_code == 302
        self.csrf = csrf_token(self.client, "/account/password")
        _token, self.bearer = issue_token(user, "walk", 30)
        db.session.commit()


@pytest.fixture
def actors(app: Flask, create_user: Callable[..., User],
           create_unit: Callable[..., AgencyUnit]) -> dict[Role, Actor]:
    unit = create_unit("police", "KZ-27")
    found = {}
    for role in Role:
        user = create_user(role, unit=unit if role in (Role.AGENCY_STAFF, Role.AGENCY_HEAD) else None)
        found[role] = Actor(app, user)
    return found


def routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIPPED:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def build(rule: Rule, value: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda _m: value.replace("\x00", "%00"), rule.rule)


def role_for(endpoint: str) -> Role | None:
    allowed = permissions.ENDPOINT_ROLES.get(endpoint, frozenset())
    return next((role for role in PREFERENCE if role in allowed), None)


def send(app: Flask, actors: dict[Role, Actor], rule: Rule, method: str, path: str,
         query: dict[str, str], body: dict[str, str]) -> int:
    role = role_for(rule.endpoint)
    public = rule.endpoint in public_endpoints()
    api = rule.rule.startswith("/api/")
    actor = actors[role] if role is not None else None
    if api:
        headers = {"Authorization": f"Bearer {actor.bearer}"} if actor else {}
        data = json.dumps(body) if method == "POST" else None
        response = app.test_client().open(path, method=method, query_string=query, data=data,
                                          headers={**headers, "Content-Type": "application/json"})
    else:
        client = actor.client if actor and not public else app.test_client()
        form = {**body, "csrf_token": actor.csrf if actor and not public else
                csrf_token(client, "/login")} if method == "POST" else None
        response = client.open(path, method=method, query_string=query, data=form)
    return response.status_code


def test_every_route_survives_nul_bytes_and_huge_numbers(
        app: Flask, actors: dict[Role, Actor]) -> None:
    failures: list[str] = []
    walked = 0
    for rule, method in routes(app):
        attempts: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
            ("NUL in the path", build(rule, NUL), {}, NUL_BODY),
            ("NUL in the query", build(rule, FAKE_ID), NUL_QUERY, NUL_BODY),
            ("5,000 digits", build(rule, HUGE), HUGE_QUERY, {k: HUGE for k in NUL_BODY}),
        ]
        for what, path, query, body in attempts:
            status = send(app, actors, rule, method, path, query, body)
            walked += 1
            if status >= 500:
                failures.append(f"{method} {rule.rule} ({rule.endpoint}), {what}: {status}")
    assert walked > 200
    assert failures == []


@pytest.fixture
def operator_bearer(actors: dict[Role, Actor]) -> dict[str, str]:
    return {"Authorization": f"Bearer {actors[Role.OPERATOR].bearer}",
            "Content-Type": "application/json"}


@pytest.mark.parametrize("body", [
    "[" * 50_000 + "]" * 50_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    "[" * 65 + "]" * 65,
    '{"channel": ' + HUGE + "}",
    '{"unit_id": "a\\u0000"}',
    '{"a\\u0000": 1}',
], ids=["deep array", "deep object", "65 deep", "5000-digit integer", "NUL value", "NUL key"])
def test_hostile_json_bodies_are_client_errors(app: Flask, operator_bearer: dict[str, str],
                                               body: str) -> None:
    for path in ("/api/v1/contacts", "/api/v1/route"):
        response = app.test_client().post(path, data=body, headers=operator_bearer)
        assert response.status_code in (400, 422), (path, response.status_code)
        assert response.json and response.json["error"]["code"]


@pytest.mark.parametrize("query", [
    {"limit": HUGE}, {"cursor": HUGE}, {"cursor": "a\x00"}, {"region": "a\x00"}, {"q": "a\x00"},
    {"cursor": "WzFd" * 2000},
])
def test_hostile_queries_on_the_api_are_client_errors(app: Flask, operator_bearer: dict[str, str],
                                                      query: dict[str, Any]) -> None:
    for path in ("/api/v1/cases", "/api/v1/referrals"):
        response = app.test_client().get(path, query_string=query, headers=operator_bearer)
        assert 400 <= response.status_code < 500, (path, query, response.status_code)


def test_a_nul_in_a_case_id_is_404(actors: dict[Role, Actor]) -> None:
    client = actors[Role.OPERATOR].client
    assert client.get("/cases/x%00y").status_code == 404
