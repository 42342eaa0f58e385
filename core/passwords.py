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


_DUMMY_HASHES: dict[Argon2Parameters, str] = {}


def dummy_hash(params: Argon2Parameters | None = None) -> str:
    """A hash of the dummy password with today's parameters, made once per process: hashing it
    anew on each unknown username would cost two Argon2 runs where a known one costs one."""
    p = params or current_app.config["SENIM"].argon2
    found = _DUMMY_HASHES.get(p)
    if found is None:
        found = _DUMMY_HASHES[p] = hasher(p).hash(_DUMMY_PASSWORD)
    return found


def verify_password(stored_hash: str | None, password: str) -> bool:
    """One Argon2 verification whether or not the user exists (no enumeration by timing)."""
    ph = hasher()
    if stored_hash is None:
        with contextlib.suppress(VerificationError):
            ph.verify(dummy_hash(), password)
        return False
    try:
        return ph.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)
