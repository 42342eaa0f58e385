"""Issue 16 item 3: an unknown username costs the same Argon2 work as a known one (counted, not
timed): one verification and no fresh hash on either path, from the very first attempt."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from flask import Flask

from core import passwords
from core.models import User
from tests.factories import csrf_token


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    calls: Counter[str] = Counter()
    for name in ("hash", "verify"):
        original = getattr(PasswordHasher, name)

        def counted(self: PasswordHasher, *args: object, _name: str = name,
                    _original: Callable[..., object] = original, **kwargs: object) -> object:
            calls[_name] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(PasswordHasher, name, counted)
    monkeypatch.setattr(passwords, "_DUMMY_HASHES", {}, raising=False)  # a fresh worker
    return calls


def attempt(app: Flask, username: str, calls: Counter[str]) -> Counter[str]:
    client = app.test_client()
    token = csrf_token(client, "/login")
    calls.clear()
    response = client.post("/login", data={"username": username, "password": "not the password!",
                                           "csrf_token": token})
    assert response.status_code == 200
    return Counter(calls)


@pytest.mark.parametrize("first", ["unknown", "known"])
def test_unknown_and_known_usernames_cost_the_same_hashing(
        app: Flask, create_user: Callable[..., User], argon2_calls: Counter[str], first: str) -> None:
    create_user(username="real.user")
    names = {"unknown": "no.such.user", "known": "real.user"}
    order = [first, "known" if first == "unknown" else "unknown"]
    counts = {kind: attempt(app, names[kind], argon2_calls) for kind in order}
    second = order[1]
    assert counts[second]["verify"] == 1 and counts[second]["hash"] == 0
    # the first attempt of the process also makes the dummy hash, whichever name it carries
    assert counts[first]["verify"] == 1 and counts[first]["hash"] == 1
