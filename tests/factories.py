"""Factory fixtures (Indico-style): tests ask for ``create_user`` and ``create_unit``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.clock import FrozenClock, utcnow
from core.extensions import db
from core.models import AgencyUnit, User
from core.passwords import hash_password
from core.roles import Role

TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture
def create_unit(app: Flask) -> Callable[..., AgencyUnit]:
    def _create(agency: str = "police", region: str = "KZ-27", district: str | None = None,
                services: list[str] | None = None, **extra: Any) -> AgencyUnit:
        unit = AgencyUnit(
            agency=agency, region=region, district=district,
            name_kk=f"{agency} {district or region} (kk)", name_ru=f"{agency} {district or region} (ru)",
            name_en=f"{agency} {district or region}",
            services=services or [], **extra,
        )
        db.session.add(unit)
        db.session.commit()
        return unit
    return _create


@pytest.fixture
def create_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def _create(role: Role | str = Role.OPERATOR, username: str | None = None,
                unit: AgencyUnit | None = None, password: str = TEST_PASSWORD,
                enrolled: bool = True, **extra: Any) -> User:
        role = Role(role)
        user = User(
            username=username or f"{role.value}{next(counter)}",
            role=role.value, unit=unit, password_hash=hash_password(password),
            **{"display_name": f"Test {role.value}", **extra},
        )
        if enrolled:
            user.totp_secret = pyotp.random_base32()
            user.totp_confirmed_at = utcnow()
        db.session.add(user)
        db.session.commit()
        return user
    return _create


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def totp_code(app: Flask, user: User) -> str:
    """The user's current code; moves the frozen clock on when this step was already used."""
    clock: FrozenClock = app.extensions["senim.clock"]
    totp = pyotp.TOTP(user.totp_secret)
    if user.last_totp_step is not None and totp.timecode(clock.now()) <= user.last_totp_step:
        clock.advance(timedelta(seconds=30))
    return totp.at(clock.now())


def sign_in(client: FlaskClient, user: User, password: str = TEST_PASSWORD,
            lang: str = "en", next_path: str | None = None) -> TestResponse:
    """Password, then the second factor, as a person would."""
    headers = {"Accept-Language": lang}
    query = f"?next={next_path}" if next_path else ""
    response = client.post(f"/login{query}", data={
        "username": user.username, "password": password,
        "csrf_token": csrf_token(client, "/login")}, headers=headers)
    if response.status_code != 302 or "/login/code" not in response.headers["Location"]:
        return response
    location = response.headers["Location"]
    db.session.refresh(user)
    return client.post(location, data={"code": totp_code(client.application, user),
                                       "csrf_token": csrf_token(client, location)},
                       headers=headers)
