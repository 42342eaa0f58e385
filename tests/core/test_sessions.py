"""Issue 16 item 2: sessions live server-side. A cookie copied before sign-out stops working at
sign-out; users list and end their sessions; administrators end a user's sessions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User, UserSession
from core.roles import Role
from tests.factories import csrf_token, sign_in

CreateUser = Callable[..., User]
PAGE = "/account/password"  # any page every role reaches


def signed_in(app: Flask, user: User, agent: str = "Test browser") -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert sign_in(client, user).status_code == 302
    assert client.get(PAGE).status_code == 200
    return client


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie (an attacker's)."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


def session_ids(html: str) -> list[str]:
    return re.findall(r'action="/(?:account|admin/users/[^/]+)/sessions/([0-9a-f-]{36})/end"', html)


def test_a_cookie_copied_before_sign_out_is_dead_after_it(app: Flask, create_user: CreateUser) -> None:
    client = signed_in(app, create_user())
    thief = copy_of(app, client)
    assert thief.get(PAGE).status_code == 200  # the copy works while the session lives
    client.post("/logout", data={"csrf_token": csrf_token(client, PAGE)})
    assert thief.get(PAGE).status_code == 302
    assert client.get(PAGE).status_code == 302
    [row] = db.session.scalars(select(UserSession))
    assert row.ended_at is not None and row.end_reason == "logout"


def test_users_list_and_end_their_own_sessions(app: Flask, create_user: CreateUser) -> None:
    user = create_user()
    laptop = signed_in(app, user, agent="Laptop browser")
    phone = signed_in(app, user, agent="Phone browser")
    html = laptop.get("/account/sessions").get_data(as_text=True)
    assert "Laptop browser" in html and "Phone browser" in html and "this session" in html
    ids = session_ids(html)
    assert len(ids) == 2
    current = laptop.get("/account/sessions").get_data(as_text=True)
    phone_id = next(i for i in ids if i != _current_id(current))
    response = laptop.post(f"/account/sessions/{phone_id}/end",
                           data={"csrf_token": csrf_token(laptop, PAGE)})
    assert response.status_code == 302
    assert phone.get(PAGE).status_code == 302 and laptop.get(PAGE).status_code == 200
    assert [e.details_map["reason"] for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "session.ended"))] == ["user"]
    other = signed_in(app, user, agent="Third")
    laptop.post("/account/sessions/end-others", data={"csrf_token": csrf_token(laptop, PAGE)})
    assert other.get(PAGE).status_code == 302 and laptop.get(PAGE).status_code == 200


def _current_id(html: str) -> str:
    match = re.search(r'this session</span></td>.*?sessions/([0-9a-f-]{36})/end', html, re.S)
    assert match
    return match.group(1)


def test_nobody_ends_another_users_session_from_their_own_page(
        app: Flask, create_user: CreateUser) -> None:
    victim, attacker = create_user(), create_user()
    victim_client = signed_in(app, victim)
    attacker_client = signed_in(app, attacker)
    victim_session = db.session.scalar(select(UserSession).where(UserSession.user_id == victim.id))
    assert victim_session is not None
    response = attacker_client.post(f"/account/sessions/{victim_session.id}/end",
                                    data={"csrf_token": csrf_token(attacker_client, PAGE)})
    assert response.status_code == 404 and victim_client.get(PAGE).status_code == 200
    assert attacker_client.post("/account/sessions/x%00y/end", data={
        "csrf_token": csrf_token(attacker_client, PAGE)}).status_code == 404


def test_administrators_list_and_end_a_users_sessions(app: Flask, create_user: CreateUser) -> None:
    user = create_user(username="op.sessions")
    browser = signed_in(app, user, agent="Desk browser")
    admin = signed_in(app, create_user(Role.ADMIN))
    html = admin.get(f"/admin/users/{user.id}/sessions").get_data(as_text=True)
    assert "Desk browser" in html
    [session_id] = session_ids(html)
    admin.post(f"/admin/users/{user.id}/sessions/{session_id}/end",
               data={"csrf_token": csrf_token(admin, PAGE)})
    assert browser.get(PAGE).status_code == 302
    again = signed_in(app, user)
    admin.post(f"/admin/users/{user.id}/sessions/end-all", data={"csrf_token": csrf_token(admin, PAGE)})
    assert again.get(PAGE).status_code == 302 and admin.get(PAGE).status_code == 200
    ended = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "session.ended")))
    assert [e.details_map["reason"] for e in ended] == ["admin", "admin"]
    assert {e.actor_role for e in ended} == {"admin"}
    assert signed_in(app, create_user(Role.OPERATOR)).get(
        f"/admin/users/{user.id}/sessions").status_code == 403


def test_timeouts_still_hold_with_the_server_side_store(
        app: Flask, create_user: CreateUser, clock: FrozenClock) -> None:
    client = signed_in(app, create_user())
    thief = copy_of(app, client)
    for _ in range(3):  # activity keeps the row alive past the idle limit
        clock.advance(timedelta(minutes=20))
        assert client.get(PAGE).status_code == 200
    clock.advance(timedelta(minutes=31))
    assert client.get(PAGE).status_code == 302 and thief.get(PAGE).status_code == 302
