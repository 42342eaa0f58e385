"""AES-256-GCM field encryption bound to (table, column, row id, key id, version)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from core.crypto import (
    FORMAT_VERSION,
    CiphertextKeyUnknownError,
    CiphertextTamperedError,
    CiphertextTruncatedError,
    DecryptionError,
    FieldCipher,
    KeyRing,
    UnknownKeyError,
    UnsupportedFormatVersionError,
    new_data_key,
)
from core.crypto import cipher as cipher_module

ROW = "0193a0c2-6d1e-7c3a-9b2f-4e5d6c7b8a90"
PLACE = {"table": "cases", "column": "child_name", "row_id": ROW}
OVERHEAD = 1 + 4 + 12 + 16


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing({1: new_data_key()}, current_id=1)


@pytest.fixture
def cipher(ring: KeyRing) -> FieldCipher:
    return FieldCipher(ring)


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext",
    [
        "Әсел Қайратқызы",
        "Ұлан, Ғалым, Өмір, Үміт, Һ, Ңң, Іі — Алматы қ., Абай даңғылы 10, пәтер 5",
        "Anna Ivanova",
        "",
        " ",
        "\x00 null byte inside",
        "emoji 👧🏽 and RTL שלום",
        "ә" * 100_000,
    ],
    ids=["kazakh-name", "kazakh-address", "latin", "empty", "space", "nul", "emoji", "long"],
)
def test_round_trip(cipher: FieldCipher, plaintext: str) -> None:
    blob = cipher.encrypt(plaintext, **PLACE)
    assert isinstance(blob, bytes)
    assert len(blob) == OVERHEAD + len(plaintext.encode("utf-8"))
    assert cipher.decrypt(blob, **PLACE) == plaintext


def test_plaintext_is_not_in_the_ciphertext(cipher: FieldCipher) -> None:
    plaintext = "Айгерім Нұрланқызы Сейітова"
    blob = cipher.encrypt(plaintext, **PLACE)
    assert plaintext.encode() not in blob
    assert "Айгерім".encode() not in blob


def test_stored_format(cipher: FieldCipher) -> None:
    ring = KeyRing({0x01020304: new_data_key()}, current_id=0x01020304)
    blob = FieldCipher(ring).encrypt("x", **PLACE)
    assert blob[0] == FORMAT_VERSION == 1
    assert blob[1:5] == bytes([1, 2, 3, 4])  # key id, big-endian
    assert FieldCipher.key_id_of(blob) == 0x01020304
    assert len(blob) == 1 + 4 + 12 + 1 + 16


def test_format_is_reproducible_from_the_specification() -> None:
    """Decrypt with a hand-built key and AAD: pins HKDF labels, AAD encoding and layout."""
    ring = KeyRing({42: new_data_key()}, current_id=42)
    blob = FieldCipher(ring).encrypt("Әсел", **PLACE)

    def lp(raw: bytes) -> bytes:
        return len(raw).to_bytes(4, "big") + raw

    aad = lp(b"cases") + lp(b"child_name") + lp(ROW.encode()) + lp((42).to_bytes(4, "big")) + lp(b"\x01")
    key = ring.encryption_key(42, "cases", "child_name")
    plaintext = AESGCM(key).decrypt(blob[5:17], blob[17:], aad)
    assert plaintext.decode() == "Әсел"
    assert cipher_module.associated_data("cases", "child_name", ROW, 42, 1) == aad


def test_same_plaintext_encrypts_differently(cipher: FieldCipher) -> None:
    blobs = {cipher.encrypt("same", **PLACE) for _ in range(50)}
    assert len(blobs) == 50


def test_nonce_comes_from_os_urandom(cipher: FieldCipher, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def fake_urandom(size: int) -> bytes:
        calls.append(size)
        return b"\xab" * size

    monkeypatch.setattr(os, "urandom", fake_urandom)
    blob = cipher.encrypt("x", **PLACE)
    assert calls == [12]
    assert blob[5:17] == b"\xab" * 12


@pytest.mark.slow
def test_a_million_encryptions_never_repeat_a_nonce(cipher: FieldCipher) -> None:
    encrypt = cipher.encrypt
    nonces = {encrypt("x", table="t", column="c", row_id="r")[5:17] for _ in range(1_000_000)}
    assert len(nonces) == 1_000_000


def test_accepts_bytearray_and_memoryview(cipher: FieldCipher) -> None:
    blob = cipher.encrypt("Қанат", **PLACE)
    assert cipher.decrypt(bytearray(blob), **PLACE) == "Қанат"
    assert cipher.decrypt(memoryview(blob), **PLACE) == "Қанат"  # psycopg's bytea


# --- the ciphertext is bound to its place -----------------------------------------------------


@pytest.mark.parametrize(
    "elsewhere",
    [
        {"row_id": "0193a0c2-6d1e-7c3a-9b2f-4e5d6c7b8a91"},
        {"column": "caller_name"},
        {"table": "contacts"},
        {"table": "contacts", "column": "caller_name", "row_id": "other"},
    ],
    ids=["other-row", "other-column", "other-table", "everything"],
)
def test_ciphertext_moved_elsewhere_fails(cipher: FieldCipher, elsewhere: dict[str, str]) -> None:
    blob = cipher.encrypt("Әсел Қайратқызы", **PLACE)
    with pytest.raises(CiphertextTamperedError) as caught:
        cipher.decrypt(blob, **{**PLACE, **elsewhere})
    assert isinstance(caught.value, DecryptionError)
    assert "another row, column or table" in str(caught.value)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (("ab", "c", "r"), ("a", "bc", "r")),
        (("t", "ab", "c"), ("t", "a", "bc")),
        (("t", "c", "1"), ("t", "c", "12")),
    ],
)
def test_place_encoding_is_unambiguous(
    cipher: FieldCipher, written: tuple[str, str, str], read: tuple[str, str, str]
) -> None:
    # Different columns use different keys anyway; the AAD must also tell them apart.
    aad_written = cipher_module.associated_data(*written, 1, 1)
    aad_read = cipher_module.associated_data(*read, 1, 1)
    assert aad_written != aad_read
    blob = cipher.encrypt("x", table=written[0], column=written[1], row_id=written[2])
    with pytest.raises(CiphertextTamperedError):
        cipher.decrypt(blob, table=read[0], column=read[1], row_id=read[2])


def test_header_key_id_rewritten_to_another_held_key_fails() -> None:
    ring = KeyRing({1: new_data_key(), 2: new_data_key()}, current_id=1)
    cipher = FieldCipher(ring)
    blob = bytearray(cipher.encrypt("Әсел", **PLACE))
    blob[1:5] = (2).to_bytes(4, "big")
    with pytest.raises(CiphertextTamperedError):
        cipher.decrypt(bytes(blob), **PLACE)


# --- damaged ciphertexts ----------------------------------------------------------------------


def test_every_single_bit_flip_fails(cipher: FieldCipher) -> None:
    blob = cipher.encrypt("Әсел Қайратқызы", **PLACE)
    for position in range(len(blob)):
        for bit in range(8):
            damaged = bytearray(blob)
            damaged[position] ^= 1 << bit
            with pytest.raises(DecryptionError):
                cipher.decrypt(bytes(damaged), **PLACE)


def test_bit_flip_in_body_or_tag_is_reported_as_tampering(cipher: FieldCipher) -> None:
    blob = cipher.encrypt("Әсел", **PLACE)
    for position in (5, 16, 17, len(blob) - 17, len(blob) - 1):
        damaged = bytearray(blob)
        damaged[position] ^= 0x80
        with pytest.raises(CiphertextTamperedError, match="failed authentication"):
            cipher.decrypt(bytes(damaged), **PLACE)


def test_every_truncation_fails(cipher: FieldCipher) -> None:
    blob = cipher.encrypt("Әсел", **PLACE)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            cipher.decrypt(blob[:length], **PLACE)


@pytest.mark.parametrize("length", [0, 1, 5, 17, OVERHEAD - 1])
def test_too_short_is_reported_as_truncated(cipher: FieldCipher, length: int) -> None:
    blob = cipher.encrypt("Әсел", **PLACE)
    with pytest.raises(CiphertextTruncatedError, match="empty|truncated"):
        cipher.decrypt(blob[:length], **PLACE)
    if length:
        with pytest.raises(CiphertextTruncatedError):
            FieldCipher.key_id_of(blob[:length])


def test_truncated_body_is_reported_as_tampering(cipher: FieldCipher) -> None:
    blob = cipher.encrypt("a longer value", **PLACE)
    with pytest.raises(CiphertextTamperedError, match="truncated"):
        cipher.decrypt(blob[:-1], **PLACE)


def test_appended_bytes_fail(cipher: FieldCipher) -> None:
    blob = cipher.encrypt("Әсел", **PLACE)
    with pytest.raises(CiphertextTamperedError):
        cipher.decrypt(blob + b"\x00", **PLACE)


def test_unknown_key_id_fails_with_a_clear_error(cipher: FieldCipher) -> None:
    other = FieldCipher(KeyRing({7: new_data_key()}, current_id=7))
    blob = other.encrypt("Әсел", **PLACE)
    with pytest.raises(CiphertextKeyUnknownError) as caught:
        cipher.decrypt(blob, **PLACE)
    assert caught.value.key_id == 7
    assert "key id 7" in str(caught.value)
    assert "not in the key ring" in str(caught.value)
    assert isinstance(caught.value, DecryptionError)
    assert isinstance(caught.value, UnknownKeyError)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version_fails(cipher: FieldCipher, version: int) -> None:
    blob = bytearray(cipher.encrypt("Әсел", **PLACE))
    blob[0] = version
    with pytest.raises(UnsupportedFormatVersionError) as caught:
        cipher.decrypt(bytes(blob), **PLACE)
    assert caught.value.version == version
    assert f"format version {version}" in str(caught.value)
    with pytest.raises(UnsupportedFormatVersionError):
        FieldCipher.key_id_of(bytes(blob))


def test_error_messages_hold_no_plaintext_or_key(ring: KeyRing, cipher: FieldCipher) -> None:
    plaintext = "Әсел Қайратқызы"
    blob = cipher.encrypt(plaintext, **PLACE)
    key = ring.encryption_key(1, "cases", "child_name")
    damaged = bytearray(blob)
    damaged[-1] ^= 1
    failures = [
        (bytes(damaged), PLACE),
        (blob, {**PLACE, "row_id": "elsewhere"}),
        (blob[:10], PLACE),
        (b"\x09" + blob[1:], PLACE),
    ]
    for data, place in failures:
        with pytest.raises(DecryptionError) as caught:
            cipher.decrypt(data, **place)
        message = str(caught.value)
        assert plaintext not in message
        assert key.hex() not in message
        # no chained cryptography exception trailing behind in a traceback
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_hostile_row_id_cannot_forge_log_lines(cipher: FieldCipher) -> None:
    blob = cipher.encrypt("x", **PLACE)
    with pytest.raises(DecryptionError) as caught:
        cipher.decrypt(blob, table="cases", column="child_name", row_id="1\nFAKE LOG LINE")
    assert "\n" not in str(caught.value)


def test_decryption_never_returns_none(cipher: FieldCipher) -> None:
    for data in (b"", b"\x01", b"\x01" + bytes(40), os.urandom(64)):
        with pytest.raises(DecryptionError):
            cipher.decrypt(data, **PLACE)


# --- rotation ---------------------------------------------------------------------------------


def test_rotation_keeps_old_values_readable(ring: KeyRing, cipher: FieldCipher) -> None:
    old = cipher.encrypt("Әсел", **PLACE)
    ring.add(2, new_data_key(), make_current=True)
    new = cipher.encrypt("Әсел", **PLACE)
    assert FieldCipher.key_id_of(old) == 1
    assert cipher.key_id_of(new) == 2
    assert cipher.decrypt(old, **PLACE) == cipher.decrypt(new, **PLACE) == "Әсел"
    ring.remove(1)
    with pytest.raises(CiphertextKeyUnknownError):
        cipher.decrypt(old, **PLACE)  # the cipher's own cache does not outlive the key
    assert cipher.decrypt(new, **PLACE) == "Әсел"


def test_key_id_zero_works() -> None:
    cipher = FieldCipher(KeyRing({0: new_data_key()}, current_id=0))
    blob = cipher.encrypt("x", **PLACE)
    assert cipher.key_id_of(blob) == 0
    assert cipher.decrypt(blob, **PLACE) == "x"


# --- bad arguments ----------------------------------------------------------------------------


def test_plaintext_must_be_text(cipher: FieldCipher) -> None:
    with pytest.raises(TypeError):
        cipher.encrypt(b"bytes", **PLACE)  # type: ignore[arg-type]  # bytes, not text: the refusal is the test
    with pytest.raises(TypeError):
        cipher.encrypt(None, **PLACE)  # type: ignore[arg-type]  # None, not text: the refusal is the test


def test_unencodable_plaintext_is_refused_without_echoing_it(cipher: FieldCipher) -> None:
    with pytest.raises(ValueError, match="surrogate") as caught:
        cipher.encrypt("secret\ud800name", **PLACE)
    assert "secret" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("field", ["table", "column", "row_id"])
def test_place_must_be_non_empty_text(cipher: FieldCipher, field: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        cipher.encrypt("x", **{**PLACE, field: ""})
    with pytest.raises(TypeError):
        cipher.encrypt("x", **{**PLACE, field: 5})  # type: ignore[arg-type]  # a wrong-typed place: the refusal is the test


def test_repr_shows_no_key(ring: KeyRing, cipher: FieldCipher) -> None:
    cipher.encrypt("x", **PLACE)
    key = ring.encryption_key(1, "cases", "child_name")
    assert key.hex() not in repr(cipher)
    assert "KeyRing" in repr(cipher)


# --- properties -------------------------------------------------------------------------------

_names = st.text(min_size=1, max_size=40)  # hypothesis leaves out lone surrogates
_PROPERTY_CIPHER = FieldCipher(KeyRing({3: new_data_key()}, current_id=3))


@given(plaintext=st.text(), table=_names, column=_names, row_id=_names)
def test_round_trip_property(plaintext: str, table: str, column: str, row_id: str) -> None:
    blob = _PROPERTY_CIPHER.encrypt(plaintext, table=table, column=column, row_id=row_id)
    assert _PROPERTY_CIPHER.decrypt(blob, table=table, column=column, row_id=row_id) == plaintext


@given(plaintext=st.text(max_size=50), row_id=_names, other=_names)
def test_other_row_fails_property(plaintext: str, row_id: str, other: str) -> None:
    blob = _PROPERTY_CIPHER.encrypt(plaintext, table="t", column="c", row_id=row_id)
    if other == row_id:
        assert _PROPERTY_CIPHER.decrypt(blob, table="t", column="c", row_id=other) == plaintext
    else:
        with pytest.raises(CiphertextTamperedError):
            _PROPERTY_CIPHER.decrypt(blob, table="t", column="c", row_id=other)
