"""Fixtures of the school channel: a school in Terekti with its token, and helpers to report
as a child and to act as the helpline through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.clock import utcnow
from core.extensions import db
from intake.text.models import School
from intake.text.schools import add_school
from tests.reading import poster_token

BULLYING_KK = "Сыныптастарым мені күнде мазақтайды, сөмкемді тығып қояды. Мектепке барғым келмейді."
SUICIDE_RU = "Мне очень плохо, я больше не хочу жить, думаю покончить с собой."


@pytest.fixture
def school(app: Flask) -> School:
    found = add_school("№3 жалпы білім беретін мектеп", "Общеобразовательная школа №3",
                       "KZ-27", "KZ-27-TEREKTI", utcnow())
    db.session.commit()
    return found


@pytest.fixture
def token(school: School) -> str:
    return poster_token(school)


@pytest.fixture
def report(client: FlaskClient, token: str) -> Callable[..., Any]:
    def _report(text: str = BULLYING_KK, **extra: Any) -> Any:
        body = {"school_token": token, "text": text, "age": 13, "safe_now": "yes",
                "contact_ok": False, "language": "kk", **extra}
        return client.post("/api/v1/public/reports", json=body)
    return _report


@pytest.fixture
def thread(client: FlaskClient) -> Callable[[str], Any]:
    def _thread(code: str) -> Any:
        return client.post("/api/v1/public/reports/thread", json={"follow_up_code": code})
    return _thread
