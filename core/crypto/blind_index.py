"""Blind indexes: exact-match search over encrypted fields.

Beside each encrypted searchable value the database stores a short keyed hash of its normalised
form. A lookup computes the same hash for the query (under every key in the ring, so search
keeps working during a rotation), fetches the rows whose index matches, decrypts them and keeps
only the true matches; the truncated index is deliberately ambiguous, so the *caller* must
filter the candidates.

Construction
------------
``scrypt(password=index_key, salt=normalised value, N=2**9, r=8, p=1)``, truncated to L bits and
written as ``ceil(L/4)`` hex digits.

- The index key is HKDF-derived per field from a data key (``KeyRing.index_key``); data keys
  are stored only wrapped by ``SENIM_MASTER_KEY``, which never enters the database, so a stolen
  database alone cannot be searched or brute-forced.
- The secret sits in scrypt's password slot, i.e. it is the HMAC key of both of scrypt's PBKDF2
  steps: without the key the output is a PRF of the value. Different fields use different
  keys, so equal values in different fields do not collide on purpose.
- The work factor is for the day the key leaks too: IINs (~10^8 plausible for children) and
  Kazakh mobile numbers (~10^8) have small spaces, names smaller still. scrypt is memory-hard
  (128 * r * N = 512 KiB per evaluation), which blunts GPU/ASIC guessing far better than the
  same CPU time of PBKDF2 (PBKDF2-HMAC-SHA256 needed ~4,000 iterations for the same 1.4 ms
  here, and GPUs run those massively in parallel).
- Measured on the development machine (2-core Intel Xeon, Python 3.11.7, OpenSSL 3.0.19), p50
  of 1,000 values: scrypt N=2**9, r=8 alone **1.36 ms**; ``compute()`` including normalisation
  **1.36-1.45 ms** (normalising costs 0.06 ms for a phone, 0.02 ms for an IIN or a name),
  rising to ~2.1 ms while other jobs share the two cores. N=2**10 took 2.8 ms, over the 2 ms
  budget. ``candidates()`` pays this once per key in the ring (twice during a rotation).
  Re-measure with ``benchmarks/bench_crypto.py`` on production hardware; changing the
  parameters changes every index, so it means a re-index (the same job as a key rotation).

Truncation length
-----------------
With R rows indexed and L bits, a lookup returns about C = R / 2^L false candidates besides the
true matches, and each index value is shared by about C different plaintexts. Longer indexes
leak more (at C < 1 most values have a bucket to themselves, and the index becomes a pseudonym
that links every row of the same person and shows value frequencies); shorter ones cost more
decryption per lookup. CipherSweet's index planner keeps 1 < C < sqrt(R), i.e.
log2(R)/2 < L < log2(R): 10 to 20 bits at a million rows. Senim is sized for ten years of
national history: about 1.3 million contacts (domain.md), about a third of them cases with a
child.

- ``phone`` 16 bits: ~1.3M contacts / 65,536 = ~20 false candidates per lookup at full size
  (~20 AES-GCM decryptions of ~6 us each, about 0.1 ms), and a bucket mixes ~20 different
  numbers on average, so an index value does not single out a caller.
- ``iin`` 16 bits: ~0.4-1M children -> 6-15 false candidates per lookup; same reasoning.
- ``child_name`` 16 bits: as many rows as IINs; common names already return many true matches,
  so a longer index would save little work but would show name frequencies more sharply.

16 bits sits in the middle of that range at a million rows. Below 65,536 rows (the first half
year of national use, or a single region) C < 1 and the index links rows of the same person
more than it will later; lowering L there is a one-line change plus a re-index.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from core.crypto.keys import KeyRing
from core.validation import normalize_iin, normalize_phone

# scrypt cost, see the module docstring: 1.36 ms per value (p50) on the development machine,
# 512 KiB of memory per evaluation.
SCRYPT_N: Final = 2**9
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_SCRYPT_MAXMEM: Final = 4 * 1024 * 1024  # 512 KiB needed; refuse anything far larger


def normalize_phone_for_index(value: str) -> str:
    """E.164 of a valid phone (default region KZ); raises ``InvalidPhone`` like the forms do."""
    return normalize_phone(value)


_MAX_FOLD_ROUNDS: Final = 4


def _fold_name_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    # Latin-script Kazakh (2021 alphabet) has İ/i; Unicode's default case folding turns İ into
    # "i" + COMBINING DOT ABOVE, so "İ" and "i" would not match. Map it to plain "i" first.
    text = text.replace("\u0130", "i")
    text = unicodedata.normalize("NFKC", text.casefold())
    # Drop invisible format and control characters (zero-width spaces, soft hyphens, BOMs that
    # come with copy-paste) but keep whitespace, which is collapsed below.
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cf", "Cc"))
    return " ".join(text.split())


def normalize_name(value: str) -> str:
    """Case- and space-folded name for exact-match search.

    NFKC, case folding, invisible characters removed, whitespace collapsed to single spaces and
    trimmed. Letters are never stripped of marks: ә ғ қ ң ө ұ ү һ і stay distinct from а г к н
    о у х и. Idempotent: normalising a normalised name changes nothing.
    """
    if not isinstance(value, str):
        raise TypeError("name must be a str")
    text = value
    for _ in range(_MAX_FOLD_ROUNDS):  # NFKC and case folding can feed each other; reach a fixpoint
        folded = _fold_name_once(text)
        if folded == text:
            break
        text = folded
    return text


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """How one field is indexed: its normaliser and the index length in bits."""

    normalizer: Callable[[str], str]
    bits: int

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 64:
            raise ValueError("blind-index length must be between 1 and 64 bits")


INDEX_FIELDS: Final[Mapping[str, IndexSpec]] = MappingProxyType(
    {
        "phone": IndexSpec(normalize_phone_for_index, bits=16),
        "iin": IndexSpec(normalize_iin, bits=16),
        "child_name": IndexSpec(normalize_name, bits=16),
    }
)


class BlindIndexer:
    """Computes blind indexes with the index keys of a :class:`KeyRing`."""

    __slots__ = ("fields", "keyring")

    def __init__(self, keyring: KeyRing, fields: Mapping[str, IndexSpec] = INDEX_FIELDS) -> None:
        self.keyring = keyring
        self.fields = fields

    def compute(self, field: str, normalized_value: str, key_id: int | None = None) -> str:
        """The index of one value under one key (the ring's current key by default).

        The value is passed through the field's normaliser again (normalisers are idempotent),
        so a caller that forgot to normalise still gets the right index. Raises ``ValueError``
        (``InvalidIIN``/``InvalidPhone`` included) for a value that has no normal form.
        """
        spec = self._spec(field)
        return self._compute(field, spec, self._normalize(spec, normalized_value), key_id)

    def candidates(self, field: str, value: str) -> set[str]:
        """Index values to look for: one per key in the ring, so rotation never hides a row."""
        spec = self._spec(field)
        normalized = self._normalize(spec, value)
        return {self._compute(field, spec, normalized, key_id) for key_id in self.keyring.key_ids}

    def bits(self, field: str) -> int:
        return self._spec(field).bits

    def _spec(self, field: str) -> IndexSpec:
        spec = self.fields.get(field)
        if spec is None:
            raise ValueError(f"no blind index is defined for field {field!r}")
        return spec

    @staticmethod
    def _normalize(spec: IndexSpec, value: str) -> str:
        normalized = spec.normalizer(value)
        if not normalized:
            raise ValueError("nothing to index: the value is empty once normalised")
        return normalized

    def _compute(self, field: str, spec: IndexSpec, normalized: str, key_id: int | None) -> str:
        key = self.keyring.index_key(self.keyring.current_id if key_id is None else key_id, field)
        try:
            salt = normalized.encode("utf-8")
        except UnicodeEncodeError:
            # Not chained: the original exception carries the whole value.
            raise ValueError("value is not encodable as UTF-8 (lone surrogate)") from None
        length = (spec.bits + 7) // 8
        digest = hashlib.scrypt(
            key,
            salt=salt,
            n=SCRYPT_N,
            r=SCRYPT_R,
            p=SCRYPT_P,
            maxmem=_SCRYPT_MAXMEM,
            dklen=length,
        )
        value = int.from_bytes(digest, "big") >> (8 * length - spec.bits)
        return format(value, f"0{(spec.bits + 3) // 4}x")

    def __repr__(self) -> str:
        return f"<BlindIndexer fields={sorted(self.fields)} {self.keyring!r}>"
