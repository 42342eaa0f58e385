"""Keyed bit positions for a set of codes: query encrypted code sets without decrypting them.

A set of codes from a fixed vocabulary (a child's risk-group flags) is stored encrypted like any
personal field, plus an integer *mask* with one bit per code held. Which bit stands for which
code is a permutation of the 31 usable bits of a positive 32-bit integer, derived from a keyed
hash under the field's index key (``KeyRing.index_key``): without ``SENIM_MASTER_KEY`` the
database shows neither the codes nor which bit means what, yet ``mask & bit`` filters and
``GROUP BY mask`` counts run in SQL under the key.

What it still shows, by design (the price of counting in SQL): how many codes a row holds and
how often each (unnamed) bit occurs. A frequency analysis can guess the commonest bits; it
cannot read a code from the raw bytes. Each mask is stored with the id of the key it was made
under, so during a rotation a query asks for each key's bits in turn (``senim keys rotate``
rewrites the masks with the values).

The vocabulary is append-only: a code's position depends on its place in the list, so a new
code goes at the end, and removing or reordering codes means recomputing every mask.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

USABLE_BITS = 31  # a positive 32-bit integer: portable INTEGER on SQLite and PostgreSQL


def bit_positions(index_key: bytes, codes: Sequence[str]) -> Mapping[str, int]:
    """Each code's bit value (``1 << position``) under one key."""
    if len(codes) > USABLE_BITS:
        raise ValueError(f"at most {USABLE_BITS} codes fit in a mask")
    if len(set(codes)) != len(codes):
        raise ValueError("codes must not repeat")
    order = sorted(range(USABLE_BITS),
                   key=lambda position: hmac.new(index_key, position.to_bytes(1, "big"),
                                                 hashlib.sha256).digest())
    return MappingProxyType({code: 1 << order[i] for i, code in enumerate(codes)})


def mask_of(bits: Mapping[str, int], codes: Iterable[str]) -> int:
    """The mask of a set of codes; codes outside the vocabulary have no bit (they stay only in
    the encrypted value)."""
    mask = 0
    for code in codes:
        mask |= bits.get(code, 0)
    return mask


def codes_of(bits: Mapping[str, int], mask: int) -> list[str]:
    """The codes a mask holds, in vocabulary order."""
    return [code for code, bit in bits.items() if mask & bit]
