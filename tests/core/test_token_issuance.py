"""Issue 16 items 1 and 8: tokens are issued only to oneself on the web and through the audited
command line for service accounts; they always expire; every entry made with one names it;
disabling an account revokes its tokens for good."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import ApiToken, User
from core.roles import Role
from core.users_service import issue_token
from tests.factories import csrf_token, sign_in
from tests.reading import get_row

TOKEN_VALUE = re.compile(r'id="token-value">(snm_[^<]+)<')
CreateUser = Callable[..., User]


def entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.sequence)))


def tokens() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken)))


def cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def admin_client(app: Flask, create_user: CreateUser) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert sign_in(client, create_user(Role.ADMIN, username="root.admin")).status_code == 302
    return client


@pytest.fixture
def max_days(app: Flask) -> Iterator[Callable[[int], None]]:
    original = app.config["SENIM"]

    def set_max(days: int) -> None:
        app.config["SENIM"] = original.with_overrides(token_max_days=days)
    yield set_max
    app.config["SENIM"] = original


def post_token(client: FlaskClient, **fields: str) -> Any:
    return client.post("/admin/tokens/new", data={
        "name": "mine", "days": "", **fields, "csrf_token": csrf_token(client, "/admin/tokens/new")})


def test_an_administrator_cannot_mint_a_token_for_another_user(
        admin_client: FlaskClient, create_user: CreateUser) -> None:
    victim = create_user(Role.SUPERVISOR, username="cti.supervisor")
    response = post_token(admin_client, username="cti.supervisor")
    assert response.status_code == 200
    [token] = tokens()
    assert token.user.username == "root.admin" and token.user_id != victim.id
    [created] = entries("token.created")
    assert created.actor_username == "root.admin" and created.details_map["user"] == token.user_id


def test_a_blank_lifetime_is_the_default_and_the_maximum_is_configurable(
        admin_client: FlaskClient, clock: FrozenClock, max_days: Callable[[int], None]) -> None:
    post_token(admin_client)
    [token] = tokens()
    assert token.expires_at == clock.now() + timedelta(days=90)
    max_days(30)
    refused = post_token(admin_client, days="31")
    assert refused.status_code == 422 and b"from 1 to 30" in refused.data
    blank = post_token(admin_client)  # the default is capped by a lower maximum
    assert blank.status_code == 200
    assert sorted(t.expires_at for t in tokens() if t.expires_at)[0] == clock.now() + timedelta(days=30)


def test_every_entry_made_with_a_token_names_the_token(
        app: Flask, create_user: CreateUser) -> None:
    operator = create_user(Role.OPERATOR, username="op.one")
    token, value = issue_token(operator, "telephony", None)
    db.session.commit()
    response = app.test_client().get("/api/v1/cases?status=open", headers=bearer(value))
    assert response.status_code == 200
    [search] = entries("case.search")
    assert search.actor_id == operator.id and search.details_map["api_token"] == token.id


def test_the_cli_issues_audited_expiring_tokens_within_the_maximum(
        app: Flask, create_user: CreateUser, clock: FrozenClock) -> None:
    create_user(Role.OPERATOR, username="svc.telephony")
    result = cli(app, "tokens", "create", "svc.telephony", "--name", "telephony")
    assert result.exit_code == 0, result.output
    [token] = tokens()
    assert token.expires_at == clock.now() + timedelta(days=90)
    [created] = entries("token.created")
    assert created.object_id == token.id and created.actor_id is None
    assert created.details_map == {"user": token.user_id, "days": 90, "via": "cli"}
    too_long = cli(app, "tokens", "create", "svc.telephony", "--days", "400")
    assert too_long.exit_code == 1 and "1 to 365 days" in too_long.output
    assert len(tokens()) == 1


def test_disabling_revokes_tokens_and_enabling_does_not_revive_them(
        app: Flask, admin_client: FlaskClient, create_user: CreateUser) -> None:
    owner = create_user(Role.OPERATOR, username="op.two")
    _token, value = issue_token(owner, "telephony", 30)
    db.session.commit()
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(value)).status_code == 200
    csrf = csrf_token(admin_client, "/admin/tokens/new")
    admin_client.post(f"/admin/users/{owner.id}/disable", data={"csrf_token": csrf})
    [disabled] = entries("user.disabled")
    assert disabled.actor_username == "root.admin" and disabled.details_map["tokens_revoked"] == 1
    admin_client.post(f"/admin/users/{owner.id}/enable", data={"csrf_token": csrf})
    assert get_row(User, owner.id).active
    assert [t.revoked_at is not None for t in tokens()] == [True]
    assert api.get("/api/v1/me", headers=bearer(value)).status_code == 401


def test_the_cli_disables_and_enables_through_the_same_audited_path(
        app: Flask, create_user: CreateUser) -> None:
    owner = create_user(Role.OPERATOR, username="op.three")
    issue_token(owner, "telephony", 30)
    db.session.commit()
    assert cli(app, "users", "disable", "op.three").exit_code == 0
    assert cli(app, "users", "enable", "op.three").exit_code == 0
    assert [e.details_map["via"] for e in entries("user.disabled") + entries("user.enabled")] == [
        "cli", "cli"]
    assert all(t.revoked_at is not None for t in tokens())
