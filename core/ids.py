"""Row ids that exist before the INSERT.

Encrypted columns bind their ciphertext to the row id (security.md §1), so the id must be known
when the value is encrypted, i.e. before the database assigns anything. UUIDv7 gives that, is
opaque to API clients (interfaces.md), cannot be enumerated like a sequence, and is time-ordered,
so B-tree indexes stay compact and "newest first" is an index scan.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    """RFC 9562 UUID version 7: 48-bit Unix milliseconds, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | rand & ((1 << 80) - 1)
    value = value & ~(0xF << 76) | (0x7 << 76)  # version 7
    value = value & ~(0x3 << 62) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


def new_id() -> str:
    return str(uuid7())
