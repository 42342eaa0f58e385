"""The hash chain: canonical encoding, hashing and verification of rows. No Flask, no database.

Canonical encoding of an entry (version 1)
------------------------------------------
A JSON object holding every stored column except ``hash`` (the names in ``HASHED_COLUMNS``),
serialised with sorted keys, separators ``,`` and ``:``, no ASCII escaping (``ensure_ascii=False``)
and encoded as UTF-8. Values are JSON strings, integers (``sequence``) or ``null``; the time is
ISO 8601 in UTC with microseconds (``2026-11-20T05:00:00.000000+00:00``), which both PostgreSQL
and SQLite store exactly. ``fields`` and ``details`` are text columns, so the hash covers the exact
stored string.

    hash = SHA-256( prev_hash (64 ASCII hex digits) || canonical encoding ), as lowercase hex

The first entry has sequence 1 and ``prev_hash`` = 64 zeros (``GENESIS_HASH``).

Verification replays the rows in sequence order and stops at the first problem. Checks, in the
order that names the right culprit: a missing sequence number (deletion, or rows renumbered), a
hash that does not match the row's contents (an edit; rows swapped between positions fail here
too because the sequence is hashed), a broken link to the previous entry (an entry rewritten with
a recomputed hash), and a hash that differs from a signed checkpoint (a chain rewritten from some
point on). Finally a checkpoint beyond the last row means the tail was cut off.

Times are deliberately not required to increase: clocks on several hosts drift and step, and a
false alarm in the audit trail is costly. Order is what the chain links prove.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, Final

GENESIS_HASH: Final = "0" * 64

HASHED_COLUMNS: Final = (
    "sequence",
    "occurred_at",
    "actor_id",
    "actor_username",
    "actor_role",
    "unit_id",
    "action",
    "object_type",
    "object_id",
    "reason",
    "fields",
    "details",
    "request_id",
    "client_address",
    "prev_hash",
)
# The order rows are read in for verification: the hashed columns, then the stored hash.
ROW_COLUMNS: Final = (*HASHED_COLUMNS, "hash")
if ROW_COLUMNS.index("prev_hash") != 14 or ROW_COLUMNS.index("hash") != 15:
    raise RuntimeError("verify_rows and _encode_strings index rows by position: update them")

# One encoder for all calls: json.dumps with options builds a new encoder each time, which costs
# more than the encoding of a small entry.
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

_quote: Final = encode_basestring  # the function that encoder quotes strings with


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit times must be aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_encoding(values: Mapping[str, Any]) -> bytes:
    """The bytes hashed for an entry; ``values`` maps every name in ``HASHED_COLUMNS``."""
    document = {name: values[name] for name in HASHED_COLUMNS}
    document["occurred_at"] = format_time(document["occurred_at"])
    return _ENCODER.encode(document).encode("utf-8")


def encode_row(row: Sequence[Any]) -> str:
    """``canonical_encoding`` of a row in ``HASHED_COLUMNS`` order, as text (columns after those
    are ignored). Verification runs this once per entry, so the usual case (every value a string
    or None, the time already formatted by the database, see core/audit/__init__.py) is written
    out as one f-string: about twice as fast as the C encoder, which spends its time building
    and sorting a dictionary. Strings are quoted by that encoder's own function, so the text is
    the same character for character; tests compare both on awkward values."""
    try:
        return _encode_strings(row)
    except TypeError:  # a datetime, or a value of another type (only tampering makes those)
        document = dict(zip(HASHED_COLUMNS, row, strict=False))
        if isinstance(document["occurred_at"], datetime):
            document["occurred_at"] = format_time(document["occurred_at"])
        return _ENCODER.encode(document)


def _encode_strings(r: Sequence[Any]) -> str:
    # Keys in sorted order; r[i] is HASHED_COLUMNS[i]. Non-null columns: action (6), occurred_at
    # (1), prev_hash (14) and the integer sequence (0). _quote raises TypeError on a non-string.
    q = _quote
    return (
        f'{{"action":{q(r[6])}'
        f',"actor_id":{"null" if r[2] is None else q(r[2])}'
        f',"actor_role":{"null" if r[4] is None else q(r[4])}'
        f',"actor_username":{"null" if r[3] is None else q(r[3])}'
        f',"client_address":{"null" if r[13] is None else q(r[13])}'
        f',"details":{"null" if r[11] is None else q(r[11])}'
        f',"fields":{"null" if r[10] is None else q(r[10])}'
        f',"object_id":{"null" if r[8] is None else q(r[8])}'
        f',"object_type":{"null" if r[7] is None else q(r[7])}'
        f',"occurred_at":{q(r[1])}'
        f',"prev_hash":{q(r[14])}'
        f',"reason":{"null" if r[9] is None else q(r[9])}'
        f',"request_id":{"null" if r[12] is None else q(r[12])}'
        f',"sequence":{r[0]!r}'
        f',"unit_id":{"null" if r[5] is None else q(r[5])}}}'
    )


def entry_hash(values: Mapping[str, Any]) -> str:
    prev_hash: str = values["prev_hash"]
    return hashlib.sha256(prev_hash.encode("utf-8") + canonical_encoding(values)).hexdigest()


def encode_details(details: Mapping[str, str | int | bool | None]) -> str:
    """``details`` as stored: canonical JSON text, so that equal details hash equally."""
    return _ENCODER.encode(dict(details))


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of a verification.

    ``entries`` counts the rows that verified, starting at ``verified_from``. ``first_bad`` is
    the sequence number of the first entry found missing, edited or rewritten; ``problem`` says
    what was found, for people (never for the API, which answers only the number).
    """

    ok: bool
    entries: int
    verified_from: int
    first_bad: int | None = None
    problem: str | None = None
    head_hash: str | None = None  # of the last entry verified, when ok and not empty

    @property
    def head_sequence(self) -> int:
        return self.verified_from + self.entries - 1

    def to_json(self) -> dict[str, Any]:
        """The shape of ``GET /api/v1/audit/verify`` (interfaces.md)."""
        if self.ok:
            return {"ok": True, "entries": self.entries, "verified_from": self.verified_from}
        return {"ok": False, "first_bad": self.first_bad}


def verify_rows(
    rows: Iterable[Sequence[Any]],
    *,
    start: int = 1,
    prev_hash: str | None = GENESIS_HASH,
    checkpoints: Mapping[int, str] | None = None,
) -> VerifyResult:
    """Replay ``rows`` (tuples in ``ROW_COLUMNS`` order, ascending sequence) from ``start``.

    ``prev_hash`` is the hash the first row must link to; ``None`` accepts the first row's own
    link, which is how an incremental run starts at a checkpointed entry (whose hash the signed
    checkpoint pins, and with it the link it contains). ``checkpoints`` maps sequence numbers to
    signed head hashes; every one at or after ``start`` is checked.
    """
    pinned = dict(checkpoints or {})
    expected = start
    prev = prev_hash
    prev_pinned = prev_hash is not None  # a link to a known-good hash: the culprit is this row
    # Locals and literal indexes (0: sequence, 14: prev_hash, 15: hash): this loop runs once per
    # entry and its cost is the verification's speed.
    fast, sha256 = _encode_strings, hashlib.sha256
    for row in rows:
        sequence = row[0]
        if sequence != expected:
            return _bad(start, expected, f"entry {expected} is missing (deleted, or entries renumbered)")
        try:
            encoded = fast(row)
        except TypeError:
            encoded = encode_row(row)
        digest = sha256((row[14] + encoded).encode()).hexdigest()
        if digest != row[15]:
            return _bad(start, sequence, f"entry {sequence} does not match its hash (edited)")
        if prev is not None and row[14] != prev:
            return _broken_link(start, sequence, prev_pinned)
        signed = pinned.get(sequence)
        if signed is not None and signed != digest:
            return _bad(start, sequence, f"entry {sequence} differs from its signed checkpoint "
                                         "(the chain was rewritten up to here)")
        prev, prev_pinned = digest, signed is not None
        expected += 1
    return _check_tail(start, expected - 1, pinned, prev if expected > start else None)


def _broken_link(start: int, sequence: int, prev_pinned: bool) -> VerifyResult:
    # Both entries are self-consistent, so one was rewritten with a recomputed hash. Almost
    # always that is the earlier one (editing a link achieves nothing), unless a checkpoint
    # vouches for it.
    if prev_pinned or sequence <= start:
        return _bad(start, sequence, f"entry {sequence} does not link to the entry before it")
    return _bad(start, sequence - 1, f"entry {sequence - 1} was rewritten "
                                     f"(entry {sequence} does not link to it)")


def _check_tail(start: int, last: int, pinned: Mapping[int, str], head_hash: str | None) -> VerifyResult:
    beyond = sorted(sequence for sequence in pinned if sequence > last)
    if beyond:
        return _bad(start, last + 1, f"the chain ends at entry {last} but a checkpoint was signed "
                                     f"at entry {beyond[-1]} (entries cut off)")
    return VerifyResult(ok=True, entries=last - start + 1, verified_from=start, head_hash=head_hash)


def _bad(start: int, first_bad: int, problem: str) -> VerifyResult:
    return VerifyResult(ok=False, entries=max(first_bad - start, 0), verified_from=start,
                        first_bad=first_bad, problem=problem)
