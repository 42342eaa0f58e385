"""Supervision fixtures: the demo directory, helpline users, a submitted case, signed-in
clients per role, and a way to move a referral along through the public API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.extensions import db
from core.models import User
from referrals.handoffs.models import Referral
from tests.factories import sign_in
from tests.intake.conftest import api, bearer, contact, directory, operator  # noqa: F401
from tests.referrals.supervision.referral_rows import Data

SignedIn = Callable[..., FlaskClient]


@pytest.fixture
def supervisor(create_user: Any) -> User:
    """A supervisor of the whole helpline (no region)."""
    user: User = create_user("supervisor", username="supervisor.national")
    return user


@pytest.fixture
def almaty_supervisor(create_user: Any) -> User:
    """A supervisor of Almaty region (KZ-19): the West Kazakhstan cases are outside their scope."""
    user: User = create_user("supervisor", username="supervisor.almaty", region="KZ-19")
    return user


@pytest.fixture
def signed_in(app: Flask) -> SignedIn:
    def _client(user: User, lang: str = "en") -> FlaskClient:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang  # every request, not only the sign-in
        response = sign_in(client, user, lang=lang)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return _client


@pytest.fixture
def case_id(api: Any, contact: Any) -> str:  # noqa: F811
    """A sexual-violence report about a girl in Terekti (KZ-27): four mandatory referrals."""
    response = api.post("/contacts", contact())
    assert response.status_code == 201, response.json
    found: str = response.json["case_id"]
    return found


@pytest.fixture
def referrals_of() -> Callable[[str], dict[str, Referral]]:
    def _by_service(case: str) -> dict[str, Referral]:
        db.session.expire_all()
        return {r.service: r for r in db.session.scalars(select(Referral).where(Referral.case_id == case))}
    return _by_service


@pytest.fixture
def data(app: Flask) -> Data:
    """Cases and referrals written straight to the tables, with the timestamps a test chooses."""
    return Data()
