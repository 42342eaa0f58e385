"""Access: deny by default, every role against every endpoint, sign-in with the second factor,
throttling, sessions, cookies and API tokens (security.md §2, §5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from core import permissions
from core.access import public_endpoints
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from core.roles import Role
from core.users_service import issue_token
from tests.factories import TEST_PASSWORD, csrf_token, sign_in
from tests.reading import first_group, get_row, json_of


def _endpoints(app: Flask) -> dict[str, Any]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()}


def test_every_endpoint_has_a_policy_or_is_public(app: Flask) -> None:
    missing = [name for name in _endpoints(app)
               if name not in permissions.ENDPOINT_ROLES and name not in public_endpoints()]
    assert not missing, f"endpoints without a policy entry: {missing}"


def test_the_public_allowlist_is_exactly_this(app: Flask) -> None:
    assert public_endpoints() == {
        "static", "auth.login", "auth.second_factor", "auth.enrol", "i18n.choose_language",
        "api.openapi_json", "health.healthz",
        # the school QR channel (issue 12): the child's page, thread, quick exit and API
        "text_public.report_page", "text_public.submit_report", "text_public.thread",
        "text_public.message", "text_public.exit_page",
        "api.public_create_report", "api.public_report_thread", "api.public_report_message",
    }


def _reachable_without_arguments(app: Flask) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or set()) and not rule.arguments
            and rule.endpoint not in public_endpoints()]


@pytest.mark.parametrize("role", list(Role))
def test_every_role_against_every_page(app: Flask, create_user: Any, create_unit: Any,
                                       role: Role) -> None:
    unit = create_unit("police", "KZ-27", "KZ-27-TEREKTI") if role.value.startswith("agency") else None
    user = create_user(role, unit=unit)
    client = app.test_client()
    assert sign_in(client, user).status_code == 302
    for rule in _reachable_without_arguments(app):
        path = rule.rule
        headers = {}
        if path.startswith("/api/"):
            _, token = issue_token(user, "t", None)
            db.session.commit()
            headers = {"Authorization": f"Bearer {token}"}
        status = client.get(path, headers=headers).status_code
        allowed = permissions.may_reach(role.value, rule.endpoint)
        assert (status != 403) == allowed, f"{role.value} {path}: {status}, policy says {allowed}"


def test_api_without_or_with_a_wrong_token_is_401(client: FlaskClient, create_user: Any) -> None:
    for headers in ({}, {"Authorization": "Bearer snm_not-a-real-token"},
                    {"Authorization": "Basic Zm9vOmJhcg=="}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert json_of(response)["error"]["code"] == "unauthenticated"


def test_api_ignores_the_session_cookie(client: FlaskClient, create_user: Any) -> None:
    sign_in(client, create_user("supervisor"))
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_operator_token_on_admin_and_supervisor_endpoints_is_403(client: FlaskClient,
                                                                 create_user: Any) -> None:
    operator = create_user("operator")
    _, token = issue_token(operator, "t", None)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert json_of(client.get("/api/v1/me", headers=headers))["role"] == "operator"
    for path in ("/api/v1/users", "/api/v1/audit/verify"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403 and json_of(response)["error"]["code"] == "forbidden", path


def test_tokens_expire_are_revocable_and_die_with_their_user(app: Flask, client: FlaskClient,
                                                             create_user: Any, clock: FrozenClock) -> None:
    user = create_user("supervisor")
    token, value = issue_token(user, "t", 1)
    db.session.commit()
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert get_row(type(token), token.id).last_used_at == clock.now()
    clock.advance(timedelta(days=1, seconds=1))
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    other, value2 = issue_token(user, "t2", None)
    db.session.commit()
    headers2 = {"Authorization": f"Bearer {value2}"}
    assert client.get("/api/v1/me", headers=headers2).status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers2).status_code == 401
    assert other.token_hash != value2 and value2 not in other.token_hash


def test_form_post_without_or_with_a_foreign_csrf_token_is_400(app: Flask, create_user: Any) -> None:
    user = create_user()
    first, second = app.test_client(), app.test_client()
    foreign = csrf_token(second, "/login")
    csrf_token(first, "/login")
    data = {"username": user.username, "password": TEST_PASSWORD}
    assert first.post("/login", data=data).status_code == 400
    assert first.post("/login", data={**data, "csrf_token": foreign}).status_code == 400
    sign_in(first, user)
    assert first.post("/logout", data={"csrf_token": foreign}).status_code == 400
    assert first.post("/logout").status_code == 400


@pytest.mark.parametrize("path", ["/logout", "/lang"])
def test_get_on_state_changing_routes_is_405(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 405


def test_five_failures_lock_the_account_for_a_minute(client: FlaskClient, create_user: Any,
                                                     clock: FrozenClock) -> None:
    user = create_user()

    def attempt(password: str) -> int:
        return client.post("/login", data={"username": user.username, "password": password,
                                           "csrf_token": csrf_token(client, "/login")}).status_code

    assert [attempt("wrong password!!") for _ in range(5)] == [200] * 5
    assert attempt(TEST_PASSWORD) == 429
    clock.advance(timedelta(seconds=59))
    assert attempt(TEST_PASSWORD) == 429
    clock.advance(timedelta(seconds=2))
    assert attempt(TEST_PASSWORD) == 302


def test_unknown_users_are_throttled_like_real_ones(client: FlaskClient) -> None:
    statuses = [client.post("/login", data={"username": "nobody", "password": "wrong password!!",
                                            "csrf_token": csrf_token(client, "/login")}).status_code
                for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_a_totp_code_cannot_be_used_twice(app: Flask, create_user: Any) -> None:
    user = create_user()
    code = pyotp.TOTP(user.totp_secret).at(app.extensions["senim.clock"].now())
    for attempt, expected in ((1, 302), (2, 200)):
        client = app.test_client()
        response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD,
                                               "csrf_token": csrf_token(client, "/login")})
        assert response.status_code == 302
        response = client.post("/login/code", data={"code": code,
                                                    "csrf_token": csrf_token(client, "/login/code")},
                               headers={"Accept-Language": "en"})
        assert response.status_code == expected, attempt
    assert b"already used" in response.data


def test_second_factor_is_required_before_anything(client: FlaskClient, create_user: Any) -> None:
    user = create_user()
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    assert client.get("/").status_code == 302  # password alone signs nobody in


def test_first_sign_in_enrols_the_second_factor(app: Flask, client: FlaskClient,
                                                create_user: Any) -> None:
    user = create_user(enrolled=False)
    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"].startswith("/login/enrol")
    page = client.get("/login/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    key = first_group(r'class="manual-key">([A-Z2-7 ]+)<', page).replace(" ", "")
    db.session.refresh(user)
    assert key == user.totp_secret and user.totp_confirmed_at is None
    code = pyotp.TOTP(key).at(app.extensions["senim.clock"].now())
    response = client.post("/login/enrol", data={"code": code,
                                                 "csrf_token": csrf_token(client, "/login/enrol")})
    assert response.status_code == 302 and client.get("/").status_code == 200
    db.session.refresh(user)
    assert user.totp_confirmed_at is not None


def test_demo_code_is_shown_only_in_development(app: Flask, client: FlaskClient,
                                                create_user: Any) -> None:
    user = create_user()
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD,
                                "csrf_token": csrf_token(client, "/login")})
    assert b"demo-code" not in client.get("/login/code").data
    config = app.config["SENIM"]
    app.config["SENIM"] = config.with_overrides(env="development")
    try:
        page = client.get("/login/code").get_data(as_text=True)
    finally:
        app.config["SENIM"] = config
    assert f'class="demo-code">{pyotp.TOTP(user.totp_secret).at(app.extensions["senim.clock"].now())}<' in page


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example",
                                    "javascript:alert(1)"])
def test_next_never_leaves_the_site(client: FlaskClient, create_user: Any, target: str) -> None:
    response = sign_in(client, create_user(), next_path=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_next_to_a_local_page_is_followed(client: FlaskClient, create_user: Any) -> None:
    response = sign_in(client, create_user(), next_path="/account/password")
    assert response.headers["Location"] == "/account/password"


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("senim_session")
    return cookie.value if cookie else ""


def test_session_changes_at_sign_in_and_ends_at_logout(app: Flask, client: FlaskClient,
                                                       create_user: Any) -> None:
    user = create_user()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        before = dict(session)
    sign_in(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("sid") not in (None, before.get("sid"))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/").status_code == 302


def test_disabling_a_user_ends_their_sessions(client: FlaskClient, create_user: Any) -> None:
    user = create_user()
    sign_in(client, user)
    assert client.get("/").status_code == 200
    from core.auth.service import disable

    disable(get_row(User, user.id))
    db.session.commit()
    assert client.get("/").status_code == 302


def test_changing_the_password_ends_other_sessions_but_not_this_one(
        app: Flask, create_user: Any) -> None:
    user = create_user()
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, user)
    sign_in(elsewhere, user)
    response = here.post("/account/password", data={
        "current": TEST_PASSWORD, "new": "a brand new passphrase 42", "confirm": "a brand new passphrase 42",
        "csrf_token": csrf_token(here, "/account/password")})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302


def test_common_and_short_passwords_are_refused(client: FlaskClient, create_user: Any) -> None:
    sign_in(client, create_user())
    for new in ("short", "password1234", "qwertyuiop123"):
        response = client.post("/account/password", data={
            "current": TEST_PASSWORD, "new": new, "confirm": new,
            "csrf_token": csrf_token(client, "/account/password")})
        assert response.status_code == 200 and b"field-error" in response.data, new


def test_a_reset_password_must_be_changed_first(client: FlaskClient, create_user: Any) -> None:
    user = create_user(must_change_password=True)
    sign_in(client, user)
    assert client.get("/").headers["Location"] == "/account/password"


def test_sessions_time_out_on_inactivity_and_absolute_lifetime(
        client: FlaskClient, create_user: Any, clock: FrozenClock) -> None:
    sign_in(client, create_user())
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200
    clock.advance(timedelta(minutes=31))
    assert client.get("/").status_code == 302
    sign_in(client, db.session.scalars(db.select(User)).first())  # type: ignore[arg-type]
    for _ in range(25):  # active all day: the absolute lifetime still ends it after 12 hours
        clock.advance(timedelta(minutes=29))
        client.get("/")
    assert client.get("/").status_code == 302


def test_cookie_flags(client: FlaskClient, create_user: Any) -> None:
    response = sign_in(client, create_user())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_production_cookies_are_secure_and_host_prefixed(app: Flask) -> None:
    from core.app import _apply_config

    probe = Flask("probe")
    _apply_config(probe, app.config["SENIM"].with_overrides(env="production"))
    assert probe.config["SESSION_COOKIE_SECURE"] is True
    assert probe.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert probe.config["SESSION_COOKIE_SAMESITE"] == "Strict"


def test_hsts_only_in_production(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_permission_denials_are_audited(client: FlaskClient, create_user: Any) -> None:
    from core.audit.models import AuditEntry

    operator = create_user("operator")
    _, token = issue_token(operator, "t", None)
    db.session.commit()
    client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "permission.denied")).one()
    assert entry.object_id == "api.list_users" and entry.actor_id == operator.id


def test_sign_in_outcomes_are_audited(client: FlaskClient, create_user: Any) -> None:
    from core.audit.models import AuditEntry

    user = create_user()
    client.post("/login", data={"username": user.username, "password": "wrong password!!",
                                "csrf_token": csrf_token(client, "/login")})
    sign_in(client, user)
    actions = list(db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.sequence)))
    assert actions == ["auth.failure", "auth.success"]
