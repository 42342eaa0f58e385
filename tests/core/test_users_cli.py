"""`senim users create` and `senim tokens create` exactly as interfaces.md says: the password
from standard input, agency staff attached to their unit, tokens printed once and expiring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from core.clock import FrozenClock
from core.extensions import db
from core.models import ApiToken, User
from core.passwords import verify_password
from referrals import demo

PASSWORD = "a long enough passphrase 7"


@pytest.fixture
def directory(app: Flask) -> None:
    demo.load_directory()
    db.session.commit()


def _cli(app: Flask, *args: str, stdin: str = "") -> Result:
    return app.test_cli_runner().invoke(args=list(args), input=stdin)


def _user(username: str) -> User:
    db.session.expire_all()
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def test_the_password_comes_from_standard_input(app: Flask) -> None:
    result = _cli(app, "users", "create", "aigerim", "--role", "operator", "--region", "KZ-27",
                  stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created aigerim (operator)" in result.output and PASSWORD not in result.output
    user = _user("aigerim")
    assert user.region == "KZ-27" and verify_password(user.password_hash, PASSWORD)
    assert user.totp_secret is None  # enrolled at the first web sign-in


@pytest.mark.usefixtures("directory")
def test_agency_staff_join_the_unit_of_their_district_or_region(app: Flask) -> None:
    for username, place in (("terekti.police", ["--district", "KZ-27-TEREKTI"]),
                            ("region.health", ["--region", "KZ-27"])):
        agency = username.split(".")[1]
        result = _cli(app, "users", "create", username, "--role", "agency_staff",
                      "--agency", agency, *place, stdin=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    terekti = _user("terekti.police").unit
    assert terekti is not None and (terekti.agency, terekti.district) == ("police", "KZ-27-TEREKTI")
    region = _user("region.health").unit
    assert region is not None and (region.agency, region.region, region.district) == (
        "health", "KZ-27", None)


@pytest.mark.usefixtures("directory")
@pytest.mark.parametrize(("args", "message"), [
    (["--role", "agency_staff", "--agency", "police", "--region", "KZ-11",
      "--district", "KZ-27-TEREKTI"], "district KZ-27-TEREKTI is not in region KZ-11"),
    (["--role", "agency_staff", "--agency", "police", "--district", "KZ-99-NOWHERE"],
     "unknown district"),
    (["--role", "agency_staff", "--region", "KZ-27"], "need --agency"),
])
def test_contradictions_are_refused_and_nothing_is_created(app: Flask, args: list[str],
                                                          message: str) -> None:
    result = _cli(app, "users", "create", "someone", *args, stdin=PASSWORD + "\n")
    assert result.exit_code == 1 and message in result.output, result.output
    assert db.session.scalar(select(User).where(User.username == "someone")) is None


def test_a_short_password_is_refused(app: Flask) -> None:
    result = _cli(app, "users", "create", "shorty", "--role", "operator", stdin="short\n")
    assert result.exit_code == 1 and db.session.scalar(
        select(User).where(User.username == "shorty")) is None


def test_a_token_is_printed_once_works_and_expires(app: Flask, clock: FrozenClock) -> None:
    assert _cli(app, "users", "create", "api.operator", "--role", "operator", "--region", "KZ-27",
                stdin=PASSWORD + "\n").exit_code == 0
    result = _cli(app, "tokens", "create", "api.operator")
    assert result.exit_code == 0, result.output
    value = result.output.strip()
    token = db.session.scalars(select(ApiToken)).one()
    assert value not in (token.token_hash, token.hint) and len(value) >= 32
    assert token.expires_at == clock.now() + timedelta(days=90)  # the default
    client = app.test_client()
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    clock.advance(timedelta(days=90, seconds=1))
    assert client.get("/api/v1/cases", headers=headers).status_code == 401
    assert _cli(app, "tokens", "create", "nobody").exit_code == 1
