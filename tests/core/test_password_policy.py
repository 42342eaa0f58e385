"""Issue 16 item 9: the common-password check is a real one (zxcvbn's breach-derived lists and
patterns), not a list of seventy entries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from core.common_passwords import is_common
from core.models import User
from core.users_service import UserError, check_password_policy
from tests.factories import TEST_PASSWORD, csrf_token, sign_in

WEAK = ["Password123!", "Qwerty123456!", "Iloveyou2024!", "Passw0rd!2025", "Football1234!",
        "Welcome@12345", "x7Q!" * 32]
STRONG = ["correct horse battery staple", "a brand new passphrase 42", "ktfr-9wqp-2mzh-xv7c",
          "Бала құқығы — басты міндет 7"]


@pytest.mark.parametrize("password", WEAK)
def test_guessable_passwords_are_refused(password: str) -> None:
    assert is_common(password)
    with pytest.raises(UserError) as refused:
        check_password_policy(password)
    assert refused.value.code == "too_common"


@pytest.mark.parametrize("password", STRONG)
def test_strong_passwords_pass(password: str) -> None:
    assert not is_common(password)
    check_password_policy(password)


def test_the_longest_allowed_password_is_checked_without_error() -> None:
    long = hashlib.sha512(b"senim").hexdigest()  # 128 characters: zxcvbn reads the first 72
    assert len(long) == 128 and not is_common(long)


def test_the_password_page_refuses_password123(client: FlaskClient,
                                               create_user: Callable[..., User]) -> None:
    sign_in(client, create_user())
    response = client.post("/account/password", data={
        "current": TEST_PASSWORD, "new": "Password123!", "confirm": "Password123!",
        "csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 200 and b"field-error" in response.data
