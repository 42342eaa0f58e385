"""Intake fixtures: the demo directory, helpline users with tokens, and a contact builder."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.extensions import db
from core.models import User
from core.users_service import issue_token
from referrals import demo

TEREKTI_GIRL: dict[str, Any] = {
    "channel": "phone", "contact_type": "third_party", "language": "kk",
    "started_at": "2026-11-20T09:50:00+05:00", "ended_at": "2026-11-20T09:59:00+05:00",
    "caller": {"relation": "teacher", "name": "Гүлнар Сапарова", "phone": "+77011234567",
               "callback_consent": True},
    "child": {"name": "Әсел Қайратқызы", "iin": "140315600018", "sex": "female", "age": 12,
              "region": "KZ-27", "district": "KZ-27-TEREKTI",
              "address": "Теректі ауданы, Фёдоровка, Мектеп көшесі 7", "school": "№3 мектеп",
              "flags": ["dysfunctional_family", "mental_illness"]},
    "categories": ["violence.sexual"], "urgency": "P2",
    "perpetrator": {"relation": "stranger", "lives_with_child": False},
    "flags": [], "place": "street",
    "summary": "Қыз мектептен қайтып келе жатқанда бейтаныс адам тиісті дейді.",
}


@pytest.fixture
def directory(app: Flask) -> None:
    demo.load_directory()
    db.session.commit()


@pytest.fixture
def contact() -> Callable[..., dict[str, Any]]:
    def _make(**changes: Any) -> dict[str, Any]:
        data = copy.deepcopy(TEREKTI_GIRL)
        for dotted, value in changes.items():
            target = data
            *parents, last = dotted.split("__")
            for part in parents:
                target = target.setdefault(part, {})
            if value is ...:
                target.pop(last, None)
            else:
                target[last] = value
        return data
    return _make


@pytest.fixture
def bearer(app: Flask) -> Callable[[User], dict[str, str]]:
    def _headers(user: User) -> dict[str, str]:
        _, value = issue_token(user, "test", None)
        db.session.commit()
        return {"Authorization": f"Bearer {value}"}
    return _headers


@pytest.fixture
def operator(create_user: Any) -> User:
    return create_user("operator")


@pytest.fixture
def api(client: FlaskClient, bearer: Any, operator: User) -> Any:
    headers = bearer(operator)

    class Api:
        def post(self, path: str, body: Any, **extra: Any) -> Any:
            return client.post(f"/api/v1{path}", json=body,
                               headers={**headers, **extra.pop("headers", {})}, **extra)

        def get(self, path: str, **extra: Any) -> Any:
            return client.get(f"/api/v1{path}", headers={**headers, **extra.pop("headers", {})}, **extra)

    return Api()
