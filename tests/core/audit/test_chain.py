"""The canonical encoding, the hash and the chain replay, without a database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.audit.chain import (
    GENESIS_HASH,
    HASHED_COLUMNS,
    ROW_COLUMNS,
    VerifyResult,
    canonical_encoding,
    encode_details,
    encode_row,
    entry_hash,
    format_time,
    verify_rows,
)

T0 = datetime(2026, 11, 20, 5, 0, 0, 123456, tzinfo=UTC)


def entry(sequence: int, prev_hash: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(HASHED_COLUMNS)
    values.update(sequence=sequence, occurred_at=T0 + timedelta(seconds=sequence),
                  action="case.view", object_type="case", object_id=f"case-{sequence}",
                  fields="child_name,phone", prev_hash=prev_hash)
    values.update(changes)
    values["hash"] = entry_hash(values)
    return values


def chain(length: int) -> list[dict[str, Any]]:
    entries, prev = [], GENESIS_HASH
    for sequence in range(1, length + 1):
        entries.append(entry(sequence, prev))
        prev = entries[-1]["hash"]
    return entries


def rows(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(values[name] for name in ROW_COLUMNS) for values in entries]


def test_canonical_encoding_is_sorted_compact_utf8_json_with_utc_microseconds() -> None:
    almaty = timezone(timedelta(hours=5))
    values = entry(7, GENESIS_HASH, occurred_at=datetime(2026, 11, 20, 10, 0, tzinfo=almaty),
                   reason="Шұғыл жағдай", details=encode_details({"b": 2, "a": True}))
    expected = (
        '{"action":"case.view","actor_id":null,"actor_role":null,"actor_username":null,'
        '"client_address":null,"details":"{\\"a\\":true,\\"b\\":2}","fields":"child_name,phone",'
        '"object_id":"case-7","object_type":"case","occurred_at":"2026-11-20T05:00:00.000000+00:00",'
        f'"prev_hash":"{GENESIS_HASH}","reason":"Шұғыл жағдай","request_id":null,"sequence":7,'
        '"unit_id":null}'
    ).encode()
    assert canonical_encoding(values) == expected
    assert values["hash"] == hashlib.sha256(GENESIS_HASH.encode() + expected).hexdigest()


def test_every_hashed_column_changes_the_hash() -> None:
    base = entry(3, "a" * 64)
    for name in HASHED_COLUMNS:
        changed = dict(base)
        if name == "occurred_at":
            changed[name] = base[name] + timedelta(microseconds=1)
        elif name == "sequence":
            changed[name] = 4
        else:
            changed[name] = "b" * 64 if name == "prev_hash" else "x"
        assert entry_hash(changed) != base["hash"], name


def reference(values: dict[str, Any]) -> str:
    return canonical_encoding(values).decode()


def as_row(values: dict[str, Any], *, time_as_text: bool = True) -> tuple[Any, ...]:
    row = tuple(values.get(name, "f" * 64) for name in ROW_COLUMNS)  # the hash is not encoded
    return (row[0], format_time(row[1]), *row[2:]) if time_as_text else row


def test_the_fast_row_encoding_puts_every_column_in_its_place() -> None:
    # A distinct value per column: a swapped index would put one where another belongs.
    values: dict[str, Any] = {name: f"value of {name}" for name in HASHED_COLUMNS}
    values.update(sequence=42, occurred_at=T0)
    assert encode_row(as_row(values)) == reference(values)
    assert encode_row(as_row(values, time_as_text=False)) == reference(values)
    for name in HASHED_COLUMNS:
        if name not in ("sequence", "occurred_at", "action", "prev_hash"):
            assert encode_row(as_row(values | {name: None})) == reference(values | {name: None}), name


AWKWARD = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40) | st.sampled_from(
    ['"', "\\", "\n\r\t\b\f", "\x00\x1f\x7f", "\u2028\u2029", "Шұғыл 🚸", "</script>", "\\u0041"]
)


@given(st.lists(st.none() | AWKWARD, min_size=11, max_size=11), AWKWARD, st.integers(1, 2**62))
def test_the_fast_row_encoding_equals_the_canonical_encoding(
    optional: list[str | None], action: str, sequence: int
) -> None:
    nullable = [name for name in HASHED_COLUMNS if name not in ("sequence", "occurred_at", "action", "prev_hash")]
    values: dict[str, Any] = dict(zip(nullable, optional, strict=True))
    values.update(sequence=sequence, occurred_at=T0, action=action, prev_hash=GENESIS_HASH)
    assert encode_row(as_row(values)) == reference(values)


def test_values_of_unexpected_types_still_encode_canonically() -> None:
    # SQLite keeps whatever was written; a tampered row must mismatch, not crash verification.
    values = entry(1, GENESIS_HASH) | {"action": 7, "object_id": 1.5, "reason": True}
    assert encode_row(as_row(values)) == reference(values)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        canonical_encoding(entry(1, GENESIS_HASH) | {"occurred_at": datetime(2026, 1, 1)})


def test_an_intact_chain_verifies() -> None:
    result = verify_rows(rows(chain(5)))
    assert result == VerifyResult(ok=True, entries=5, verified_from=1, head_hash=chain(5)[-1]["hash"])
    assert result.head_sequence == 5
    assert result.to_json() == {"ok": True, "entries": 5, "verified_from": 1}


def test_an_empty_chain_verifies() -> None:
    assert verify_rows([]).to_json() == {"ok": True, "entries": 0, "verified_from": 1}


def test_an_edited_entry_is_named() -> None:
    entries = chain(5)
    entries[2]["action"] = "case.export"
    result = verify_rows(rows(entries))
    assert (result.ok, result.first_bad, result.entries) == (False, 3, 2)
    assert "edited" in (result.problem or "")
    assert result.to_json() == {"ok": False, "first_bad": 3}


def test_an_entry_rewritten_with_its_hash_recomputed_is_named() -> None:
    entries = chain(5)
    entries[2]["action"] = "case.export"
    entries[2]["hash"] = entry_hash(entries[2])
    result = verify_rows(rows(entries))
    assert (result.ok, result.first_bad) == (False, 3)


def test_a_deleted_entry_is_named() -> None:
    entries = chain(5)
    del entries[1]
    assert verify_rows(rows(entries)).first_bad == 2
    assert verify_rows(rows(chain(5)[1:])).first_bad == 1


def test_swapped_entries_are_detected() -> None:
    entries = chain(5)
    third, fourth = dict(entries[2]), dict(entries[3])
    entries[2] = fourth | {"sequence": 3}
    entries[3] = third | {"sequence": 4}
    assert verify_rows(rows(entries)).first_bad == 3


def test_a_checkpoint_beyond_the_end_reveals_a_cut_off_tail() -> None:
    entries = chain(8)
    pins = {6: entries[5]["hash"]}
    assert verify_rows(rows(entries), checkpoints=pins).ok
    result = verify_rows(rows(entries[:4]), checkpoints=pins)
    assert (result.ok, result.first_bad) == (False, 5)
    assert "checkpoint" in (result.problem or "")
    # Without the checkpoint the shorter chain is indistinguishable from a young one.
    assert verify_rows(rows(entries[:4])).ok


def test_a_rewritten_chain_differs_from_its_checkpoint() -> None:
    original = chain(8)
    pins = {4: original[3]["hash"], 8: original[7]["hash"]}
    rewritten, prev = [], GENESIS_HASH
    for values in original:
        changed = entry(values["sequence"], prev,
                        action="case.export" if values["sequence"] == 6 else values["action"])
        rewritten.append(changed)
        prev = changed["hash"]
    assert verify_rows(rows(rewritten)).ok  # self-consistent
    result = verify_rows(rows(rewritten), checkpoints=pins)
    assert (result.ok, result.first_bad) == (False, 8)


def test_incremental_replay_accepts_the_first_rows_link_and_checks_its_pin() -> None:
    entries = chain(8)
    anchored = verify_rows(rows(entries[4:]), start=5, prev_hash=None,
                           checkpoints={5: entries[4]["hash"]})
    assert (anchored.ok, anchored.entries, anchored.verified_from) == (True, 4, 5)
    wrong_pin = verify_rows(rows(entries[4:]), start=5, prev_hash=None, checkpoints={5: "f" * 64})
    assert (wrong_pin.ok, wrong_pin.first_bad) == (False, 5)
