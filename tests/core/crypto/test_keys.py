"""The key hierarchy: master key parsing, data-key wrapping, the key ring, HKDF subkeys."""

from __future__ import annotations

import base64
import copy
import os
import pickle

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.crypto import (
    KEY_BYTES,
    KeyRing,
    KeyUnwrapError,
    MasterKey,
    MasterKeyError,
    UnknownKeyError,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _leaks(text: str, secret: bytes) -> bool:
    """Whether ``text`` shows ``secret`` in any of the usual spellings."""
    spellings = {
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        repr(secret),
        str(secret),
        str(list(secret)),
    }
    return any(spelling in text for spelling in spellings)


# --- master key -------------------------------------------------------------------------------


def test_master_key_from_base64_round_trip() -> None:
    raw = os.urandom(32)
    master = MasterKey.from_base64(_b64(raw))
    assert master.export_base64() == _b64(raw)
    assert master == MasterKey(raw)
    assert master != MasterKey(os.urandom(32))


def test_master_key_accepts_urlsafe_alphabet_and_surrounding_whitespace() -> None:
    raw = bytes([0xFB, 0xFF] * 16)  # encodes with + and / in the standard alphabet
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    assert "-" in urlsafe or "_" in urlsafe
    assert MasterKey.from_base64(urlsafe) == MasterKey(raw)
    assert MasterKey.from_base64(f"  {_b64(raw)}\n") == MasterKey(raw)


def test_master_key_generate_is_random() -> None:
    assert MasterKey.generate() != MasterKey.generate()
    assert len(base64.b64decode(MasterKey.generate().export_base64())) == 32


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("not base64 at all!", "not valid base64"),
        (_b64(bytes(range(32)))[:-2], "not valid base64"),  # broken padding
        (_b64(bytes(range(31))), "exactly 32 bytes"),
        (_b64(bytes(range(33))), "exactly 32 bytes"),
        (_b64(bytes(range(16))), "exactly 32 bytes"),
        (_b64(bytes(32)), "single repeated byte"),
    ],
    ids=["empty", "blank", "not-base64", "bad-padding", "31-bytes", "33-bytes", "16-bytes", "zeros"],
)
def test_malformed_master_key_names_the_setting_not_the_value(value: str, reason: str) -> None:
    with pytest.raises(MasterKeyError) as caught:
        MasterKey.from_base64(value)
    message = str(caught.value)
    assert "SENIM_MASTER_KEY" in message
    assert reason in message
    if value.strip():
        assert value.strip() not in message
    assert caught.value.__cause__ is None  # no chained exception repeating the input


def test_master_key_error_names_a_custom_setting() -> None:
    with pytest.raises(MasterKeyError, match="OLD_MASTER_KEY"):
        MasterKey.from_base64("###", setting="OLD_MASTER_KEY")


def test_master_key_constructor_checks_length() -> None:
    with pytest.raises(MasterKeyError):
        MasterKey(os.urandom(16))


def test_master_key_repr_and_str_hide_the_key() -> None:
    raw = os.urandom(32)
    master = MasterKey(raw)
    for shown in (repr(master), str(master), f"{master}", f"{master!r}", repr([master])):
        assert not _leaks(shown, raw)
        assert "redacted" in shown


def test_master_key_cannot_be_pickled_or_copied() -> None:
    master = MasterKey.generate()
    with pytest.raises(TypeError):
        pickle.dumps(master)
    with pytest.raises(TypeError):
        copy.deepcopy(master)


# --- data keys and wrapping -------------------------------------------------------------------


def test_new_data_key_is_32_random_bytes() -> None:
    keys = {new_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(isinstance(key, bytes) and len(key) == KEY_BYTES for key in keys)


def test_wrap_round_trip() -> None:
    master = MasterKey.generate()
    key = new_data_key()
    wrapped = wrap_data_key(master, key)
    assert len(wrapped) == 40  # RFC 3394: key + one 64-bit block
    assert key not in wrapped
    assert unwrap_data_key(master, wrapped) == key


def test_wrap_is_deterministic_and_key_specific() -> None:
    master = MasterKey.generate()
    key = new_data_key()
    assert wrap_data_key(master, key) == wrap_data_key(master, key)
    assert wrap_data_key(master, key) != wrap_data_key(MasterKey.generate(), key)


def test_unwrap_with_wrong_master_key_fails() -> None:
    wrapped = wrap_data_key(MasterKey.generate(), new_data_key())
    with pytest.raises(KeyUnwrapError, match="SENIM_MASTER_KEY"):
        unwrap_data_key(MasterKey.generate(), wrapped)


@pytest.mark.parametrize("position", [0, 7, 8, 20, 39])
def test_unwrap_of_corrupted_value_fails(position: int) -> None:
    master = MasterKey.generate()
    wrapped = bytearray(wrap_data_key(master, new_data_key()))
    wrapped[position] ^= 0x01
    with pytest.raises(KeyUnwrapError):
        unwrap_data_key(master, bytes(wrapped))


@pytest.mark.parametrize("length", [0, 8, 16, 24, 32, 39])
def test_unwrap_of_truncated_value_fails(length: int) -> None:
    master = MasterKey.generate()
    wrapped = wrap_data_key(master, new_data_key())
    with pytest.raises(KeyUnwrapError):
        unwrap_data_key(master, wrapped[:length])


def test_wrap_refuses_a_key_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_data_key(MasterKey.generate(), os.urandom(16))


# --- key ring ---------------------------------------------------------------------------------


def test_key_ring_from_wrapped_keys() -> None:
    master = MasterKey.generate()
    keys = {1: new_data_key(), 2: new_data_key()}
    ring = KeyRing.from_wrapped(master, {i: wrap_data_key(master, k) for i, k in keys.items()}, 2)
    assert ring.current_id == 2
    assert ring.key_ids == (1, 2)
    assert 1 in ring and 3 not in ring
    assert len(ring) == 2
    assert ring.index_key(1, "phone") == KeyRing({1: keys[1]}, 1).index_key(1, "phone")


def test_key_ring_from_wrapped_with_wrong_master_fails() -> None:
    wrapped = {1: wrap_data_key(MasterKey.generate(), new_data_key())}
    with pytest.raises(KeyUnwrapError):
        KeyRing.from_wrapped(MasterKey.generate(), wrapped, 1)


def test_key_ring_repr_and_str_hide_every_key() -> None:
    keys = {1: new_data_key(), 2: new_data_key()}
    ring = KeyRing(keys, current_id=2)
    ring.encryption_key(1, "cases", "summary")  # fill the derived-key cache too
    derived = ring.encryption_key(2, "cases", "summary")
    for shown in (repr(ring), str(ring), f"{ring}", repr({"ring": ring})):
        for secret in (*keys.values(), derived):
            assert not _leaks(shown, secret)
    assert "key_ids=[1, 2]" in repr(ring)
    assert "current_id=2" in repr(ring)


def test_key_ring_cannot_be_pickled() -> None:
    ring = KeyRing({1: new_data_key()}, 1)
    with pytest.raises(TypeError):
        pickle.dumps(ring)


def test_key_ring_current_id_must_be_held() -> None:
    with pytest.raises(UnknownKeyError):
        KeyRing({1: new_data_key()}, current_id=2)


@pytest.mark.parametrize("key_id", [-1, 2**32, True])
def test_key_ring_rejects_key_ids_outside_four_bytes(key_id: int) -> None:
    with pytest.raises((ValueError, TypeError)):
        KeyRing({key_id: new_data_key()}, current_id=key_id)


def test_key_ring_accepts_the_extreme_key_ids() -> None:
    ring = KeyRing({0: new_data_key(), 2**32 - 1: new_data_key()}, current_id=0)
    assert ring.key_ids == (0, 2**32 - 1)


def test_key_ring_rejects_keys_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing({1: os.urandom(31)}, current_id=1)


def test_rotation_add_make_current_remove() -> None:
    ring = KeyRing({1: new_data_key()}, current_id=1)
    ring.add(2, new_data_key())
    assert ring.current_id == 1
    ring.set_current(2)
    assert ring.current_id == 2
    ring.add(3, new_data_key(), make_current=True)
    assert ring.current_id == 3
    with pytest.raises(ValueError, match="current"):
        ring.remove(3)
    ring.index_key(1, "phone")
    ring.remove(1)
    assert ring.key_ids == (2, 3)
    with pytest.raises(UnknownKeyError):  # the cached subkey went with it
        ring.index_key(1, "phone")
    with pytest.raises(UnknownKeyError):
        ring.remove(1)
    with pytest.raises(UnknownKeyError):
        ring.set_current(9)


def test_key_ids_are_never_reused_for_different_bytes() -> None:
    key = new_data_key()
    ring = KeyRing({1: key}, current_id=1)
    ring.add(1, key)  # the same key again is harmless
    with pytest.raises(ValueError, match="different key"):
        ring.add(1, new_data_key())


def test_unknown_key_id_is_a_lookup_error() -> None:
    ring = KeyRing({1: new_data_key()}, current_id=1)
    with pytest.raises(UnknownKeyError) as caught:
        ring.encryption_key(5, "cases", "summary")
    assert caught.value.key_id == 5
    assert isinstance(caught.value, LookupError)


# --- HKDF subkeys -----------------------------------------------------------------------------


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing({1: new_data_key(), 2: new_data_key()}, current_id=1)


def test_subkeys_are_32_bytes_deterministic_and_cached(ring: KeyRing) -> None:
    first = ring.encryption_key(1, "cases", "summary")
    assert len(first) == 32
    assert ring.encryption_key(1, "cases", "summary") is first
    assert len(ring.index_key(1, "phone")) == 32


def test_subkeys_differ_per_purpose_place_field_and_key(ring: KeyRing) -> None:
    subkeys = [
        ring.encryption_key(1, "cases", "summary"),
        ring.encryption_key(1, "cases", "child_name"),
        ring.encryption_key(1, "contacts", "summary"),
        ring.encryption_key(2, "cases", "summary"),
        ring.index_key(1, "phone"),
        ring.index_key(1, "iin"),
        ring.index_key(1, "child_name"),
        ring.index_key(2, "phone"),
        # names that a naive concatenation would confuse
        ring.encryption_key(1, "ab", "c"),
        ring.encryption_key(1, "a", "bc"),
        ring.index_key(1, "cases"),
    ]
    assert len(set(subkeys)) == len(subkeys)
    assert not any(
        ring.encryption_key(1, "cases", "summary") == ring.index_key(1, k)
        for k in ("cases", "summary", "casessummary")
    )


def test_subkeys_never_equal_the_data_key() -> None:
    key = new_data_key()
    ring = KeyRing({1: key}, current_id=1)
    assert ring.encryption_key(1, "t", "c") != key
    assert ring.index_key(1, "phone") != key


def test_subkey_labels_are_stable() -> None:
    """The HKDF labels are part of the stored format: changing them orphans every ciphertext."""
    key = new_data_key()
    ring = KeyRing({7: key}, current_id=7)

    def hkdf(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)

    def lp(text: str) -> bytes:
        raw = text.encode()
        return len(raw).to_bytes(4, "big") + raw

    assert ring.encryption_key(7, "cases", "summary") == hkdf(
        b"senim/v1/field-encryption" + lp("cases") + lp("summary")
    )
    assert ring.index_key(7, "phone") == hkdf(b"senim/v1/blind-index" + lp("phone"))


@pytest.mark.parametrize(("table", "column"), [("", "c"), ("t", "")])
def test_subkey_names_must_not_be_empty(ring: KeyRing, table: str, column: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        ring.encryption_key(1, table, column)
    with pytest.raises(ValueError, match="empty"):
        ring.index_key(1, "")
