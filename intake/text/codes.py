"""Secrets of the school channel: the child's follow-up code and the schools' poster tokens.

The follow-up code is the child's only key to the thread, so it must be unguessable and must
not be recoverable from a copied database: 16 symbols of Crockford's base32 (5 bits each, so
80 bits from ``secrets``), shown in groups of four, read back case-insensitively and forgiving
the letters children confuse (O for 0, I and L for 1). Only a SHA-256 digest is stored: with 80
bits of randomness nobody can search the digest space, so a slow hash would add nothing but
cost, and a plain digest survives key rotations unchanged.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_SYMBOLS = 16
CODE_BITS = CODE_SYMBOLS * 5
GROUP = 4
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
TOKEN_BYTES = 12  # a poster's token: 16 URL-safe characters, opaque and never guessed in bulk


def new_code() -> str:
    """A fresh follow-up code, grouped for reading: ``K7QM-3XRT-9PWD-HF2A``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))
    return "-".join(raw[i:i + GROUP] for i in range(0, CODE_SYMBOLS, GROUP))


def normalise(code: str) -> str | None:
    """The code's 16 symbols, or None when what was typed cannot be a code."""
    cleaned = "".join(ch for ch in code.upper() if not ch.isspace() and ch != "-")
    cleaned = cleaned.translate(_CONFUSABLE)
    if len(cleaned) != CODE_SYMBOLS or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def code_hash(code: str) -> str | None:
    normal = normalise(code)
    if normal is None:
        return None
    return hashlib.sha256(b"senim-follow-up-code:" + normal.encode()).hexdigest()


def new_school_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)
