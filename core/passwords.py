"""Argon2id password hashing (security.md §2), with rehash when parameters change."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from core.config import Argon2Parameters

MIN_LENGTH = 12
MAX_LENGTH = 128
# A valid hash to verify against when the user does not exist, so that unknown users cost
# the same time as known ones (no user enumeration by timing).
_DUMMY_PASSWORD = "senim-dummy-password-for-timing"  # noqa: S105 - not a credential


def hasher(params: Argon2Parameters | None = None) -> PasswordHasher:
    p = params or current_app.config["SENIM"].argon2
    return PasswordHasher(
        time_cost=p.time_cost, memory_cost=p.memory_cost_kib, parallelism=p.parallelism
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    ph = hasher()
    if stored_hash is None:
        with contextlib.suppress(VerificationError):
            ph.verify(ph.hash(_DUMMY_PASSWORD), password)
        return False
    try:
        return ph.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)
