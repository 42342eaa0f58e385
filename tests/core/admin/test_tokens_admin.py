"""Administration of API tokens, /admin/tokens (issue 4 item 6; interfaces.md: tokens are
stored hashed, expiring, revocable): a token made on the page works as a bearer token until it
is revoked, the value is shown once, and only administrators reach any of it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import AgencyUnit, ApiToken, User
from core.models.tokens import hash_token
from core.roles import Role
from core.users_service import issue_token
from tests.factories import csrf_token, sign_in
from tests.reading import first_group, json_of

NON_ADMIN_ROLES = [role for role in Role if role is not Role.ADMIN]
TOKEN_VALUE = re.compile(r'id="token-value">(snm_[^<]+)<')

CreateUser = Callable[..., User]


@pytest.fixture
def admin_client(app: Flask, create_user: CreateUser) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, create_user(Role.ADMIN, username="root.admin")).status_code == 302
    return client


@pytest.fixture
def owner(create_user: CreateUser) -> User:
    return create_user(Role.SUPERVISOR, username="cti.supervisor")


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None) -> TestResponse:
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/account/password")})


def create_on_page(client: FlaskClient, **fields: Any) -> TestResponse:
    return post(client, "/admin/tokens/new", {"name": "telephony", "days": "", **fields})


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def audited(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.sequence)))


def admin_actions() -> list[str]:
    return [action for action in db.session.scalars(
        select(AuditEntry.action).order_by(AuditEntry.sequence))
        if action.startswith(("user.", "token."))]


def all_tokens() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken)))


def token_rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("admin.") and rule.rule.startswith("/admin/tokens")]


def names_listed(response: TestResponse) -> list[str]:
    return re.findall(r"<tr>\s*<td>([^<]*)</td>", response.get_data(as_text=True))


def test_a_token_made_on_the_page_works_until_revoked(
        app: Flask, admin_client: FlaskClient, owner: User, clock: FrozenClock) -> None:
    response = create_on_page(admin_client)
    assert response.status_code == 200
    value = first_group(TOKEN_VALUE, response.get_data(as_text=True))
    [token] = all_tokens()
    admin = token.user
    assert admin.username == "root.admin" and token.name == "telephony"
    assert token.expires_at == clock.now() + timedelta(days=90)  # blank: the default, not never
    assert token.token_hash == hash_token(value) and value not in (token.token_hash, token.hint)
    [created] = audited("token.created")
    assert created.object_type == "api_token" and created.object_id == token.id
    assert created.actor_id == admin.id
    assert created.details_map == {"user": admin.id, "days": 90, "via": "web"}

    api = app.test_client()
    me = api.get("/api/v1/me", headers=bearer(value))
    assert me.status_code == 200 and json_of(me)["username"] == "root.admin"

    listing = admin_client.get("/admin/tokens").get_data(as_text=True)
    assert "telephony" in listing and f"{token.hint}…" in listing and value not in listing
    confirm = admin_client.get(f"/admin/tokens/{token.id}/revoke/confirm")
    assert f'action="/admin/tokens/{token.id}/revoke"' in confirm.get_data(as_text=True)
    assert all_tokens()[0].revoked_at is None  # asking changed nothing

    clock.advance(timedelta(minutes=5))
    revoked = post(admin_client, f"/admin/tokens/{token.id}/revoke")
    assert revoked.status_code == 302 and revoked.headers["Location"] == "/admin/tokens"
    assert all_tokens()[0].revoked_at == clock.now()
    assert api.get("/api/v1/me", headers=bearer(value)).status_code == 401
    assert [entry.object_id for entry in audited("token.revoked")] == [token.id]

    clock.advance(timedelta(minutes=5))
    post(admin_client, f"/admin/tokens/{token.id}/revoke")  # again: nothing more happens
    assert all_tokens()[0].revoked_at == clock.now() - timedelta(minutes=5)
    assert len(audited("token.revoked")) == 1
    assert admin_client.get(f"/admin/tokens/{token.id}/revoke/confirm").status_code == 302


def test_a_token_with_an_expiry(app: Flask, admin_client: FlaskClient, owner: User,
                                clock: FrozenClock) -> None:
    response = create_on_page(admin_client, days="30")
    value = first_group(TOKEN_VALUE, response.get_data(as_text=True))
    [token] = all_tokens()
    assert token.expires_at == clock.now() + timedelta(days=30)
    assert audited("token.created")[0].details_map["days"] == 30
    clock.advance(timedelta(days=30, seconds=1))
    assert app.test_client().get("/api/v1/me", headers=bearer(value)).status_code == 401


@pytest.mark.parametrize("fields", [
    {"name": ""}, {"name": "x" * 101},
    {"days": "0"}, {"days": "366"}, {"days": "abc"}, {"days": "-1"},
    {"days": "99999999999999999999999"}, {"days": "9" * 5000},
], ids=["no name", "long name", "zero days", "too many days", "not a number", "negative",
        "huge", "5000 digits"])
def test_bad_token_requests_are_refused(admin_client: FlaskClient, owner: User,
                                        create_user: CreateUser, fields: dict[str, str]) -> None:
    create_user(Role.OPERATOR, username="disabled.one", active=False)
    response = create_on_page(admin_client, **fields)
    assert response.status_code == 422 and b'class="field-error"' in response.data
    assert not TOKEN_VALUE.search(response.get_data(as_text=True))
    assert all_tokens() == [] and admin_actions() == []


def test_a_nul_in_a_field_is_refused_at_the_door(admin_client: FlaskClient) -> None:
    assert create_on_page(admin_client, name="a\x00b").status_code == 400
    assert all_tokens() == [] and admin_actions() == []


def test_the_list_shows_every_column_pages_and_filters(
        admin_client: FlaskClient, owner: User, create_user: CreateUser, clock: FrozenClock) -> None:
    other = create_user(Role.OPERATOR, username="other.op")
    for number in range(50):
        issue_token(owner, f"sup-{number:02d}", None)
        clock.advance(timedelta(seconds=1))
    issue_token(other, "op-token", 7)
    db.session.commit()

    first = admin_client.get("/admin/tokens")
    assert names_listed(first)[0] == "op-token" and len(names_listed(first)) == 50  # newest first
    html = first.get_data(as_text=True)
    headers = re.findall(r'<th scope="col">', html)
    assert len(headers) == 9
    assert 'rel="next"' in html and 'rel="prev"' not in html
    second = admin_client.get("/admin/tokens?page=2")
    assert names_listed(second) == ["sup-00"] and 'rel="prev"' in second.get_data(as_text=True)
    assert names_listed(admin_client.get("/admin/tokens?username=other.op")) == ["op-token"]
    odd = admin_client.get("/admin/tokens?username=a%00")  # a NUL never reaches the database
    assert odd.status_code == 400


def test_the_new_token_page_has_no_owner_field(admin_client: FlaskClient) -> None:
    html = admin_client.get("/admin/tokens/new?username=<script>x").get_data(as_text=True)
    assert 'name="username"' not in html and "<script>x" not in html and "senim tokens create" in html


def test_a_token_name_with_markup_is_shown_escaped(admin_client: FlaskClient, owner: User) -> None:
    response = create_on_page(admin_client, name="<script>alert(1)</script>")
    assert response.status_code == 200
    for html in (response.get_data(as_text=True), admin_client.get("/admin/tokens").get_data(as_text=True)):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_every_other_role_is_refused_on_every_token_endpoint(
        app: Flask, create_user: CreateUser, create_unit: Callable[..., AgencyUnit], owner: User,
        role: Role) -> None:
    unit = create_unit("education", "KZ-27") if role.value.startswith("agency") else None
    user = create_user(role, unit=unit)
    token, value = issue_token(owner, "existing", None)
    db.session.commit()
    client = app.test_client()
    assert sign_in(client, user).status_code == 302
    csrf = csrf_token(client, "/account/password")
    for rule in token_rules(app):
        path = rule.rule.replace("<token_id>", token.id)
        for method in {"GET", "POST"} & (rule.methods or set()):
            data = {"username": user.username, "name": "mine", "csrf_token": csrf}
            response = client.open(path, method=method, data=data if method == "POST" else None)
            assert response.status_code == 403, (role.value, method, path)
    assert [t.revoked_at for t in all_tokens()] == [None] and admin_actions() == []
    assert app.test_client().get("/api/v1/me", headers=bearer(value)).status_code == 200


def test_token_posts_need_a_csrf_token_and_gets_do_not_change_state(
        app: Flask, admin_client: FlaskClient, owner: User) -> None:
    token, _ = issue_token(owner, "existing", None)
    db.session.commit()
    foreign = csrf_token(app.test_client(), "/login")
    for path in ("/admin/tokens/new", f"/admin/tokens/{token.id}/revoke"):
        data = {"username": owner.username, "name": "sneaky"}
        assert admin_client.post(path, data=data).status_code == 400, path
        assert admin_client.post(path, data={**data, "csrf_token": foreign}).status_code == 400, path
    assert admin_client.get(f"/admin/tokens/{token.id}/revoke").status_code == 405
    assert [t.revoked_at for t in all_tokens()] == [None] and admin_actions() == []


@pytest.mark.parametrize("token_id", ["01234567-89ab-7cde-8f01-23456789abcd", "%00", "a" * 300])
def test_unknown_tokens_are_404(admin_client: FlaskClient, token_id: str) -> None:
    assert admin_client.get(f"/admin/tokens/{token_id}/revoke/confirm").status_code == 404
    assert post(admin_client, f"/admin/tokens/{token_id}/revoke").status_code == 404
