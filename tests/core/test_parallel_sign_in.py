"""Issue 16 item 7, on PostgreSQL with real parallel requests: a second-factor code signs in
one half-signed-in session only, and 30 simultaneous wrong passwords have at most 5 evaluated."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.auth import views as auth_views
from core.extensions import db
from core.models import LoginThrottle, User
from tests.factories import TEST_PASSWORD, csrf_token, totp_code

pytestmark = pytest.mark.postgres_only


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def half_signed_in(app: Flask, user: User) -> tuple[FlaskClient, str]:
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302 and "/login/code" in response.headers["Location"]
    return client, csrf_token(client, "/login/code")


def test_one_code_signs_in_one_of_several_parallel_sessions(
        app: Flask, create_user: Callable[..., User]) -> None:
    user = create_user()
    pending = [half_signed_in(app, user) for _ in range(5)]
    db.session.refresh(user)
    code = totp_code(app, user)

    def submit(client: FlaskClient, token: str) -> int:
        return client.post("/login/code", data={"code": code, "csrf_token": token}).status_code

    statuses = in_parallel([functools.partial(submit, c, t) for c, t in pending])
    assert all(isinstance(status, int) for status in statuses), statuses
    assert statuses.count(302) == 1, statuses


def test_thirty_parallel_wrong_passwords_evaluate_at_most_five(
        app: Flask, create_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch) -> None:
    username = create_user().username
    evaluated: list[str] = []
    lock = threading.Lock()
    original = auth_views.authenticate

    def counting(username: str, password: str) -> User | None:
        with lock:
            evaluated.append(username)
        return original(username, password)
    monkeypatch.setattr(auth_views, "authenticate", counting)

    clients = [app.test_client() for _ in range(30)]
    tokens = [csrf_token(client, "/login") for client in clients]

    def attempt(client: FlaskClient, token: str) -> int:
        return client.post("/login", data={"username": username, "password": "wrong guess 123",
                                           "csrf_token": token}).status_code

    statuses = in_parallel([functools.partial(attempt, c, t) for c, t in zip(clients, tokens, strict=True)])
    assert all(isinstance(status, int) for status in statuses), statuses
    assert len(evaluated) <= 5 and statuses.count(429) >= 25, (len(evaluated), statuses)
    db.session.expire_all()
    row = db.session.scalar(select(LoginThrottle))
    assert row is not None and row.locked_until is not None
