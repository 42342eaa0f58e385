"""AES-256-GCM encryption of single database fields, bound to their place.

Stored format, version 1::

    +---------+-------------+-------------+----------------------------+
    | version | key id      | nonce       | ciphertext || 16-byte tag |
    | 1 byte  | 4 bytes, BE | 12 bytes    | len(plaintext) + 16 bytes  |
    +---------+-------------+-------------+----------------------------+

- The nonce is 96 random bits from ``os.urandom`` for every encryption. Each (data key, table,
  column) has its own derived key (see ``keys.py``), so the 2^32-messages-per-key birthday
  bound of random GCM nonces applies per column and per data key, far above Senim's volumes.
- The associated data is the canonical length-prefixed encoding of (table, column, row id,
  key id, format version). A ciphertext moved to another row, column or table, or whose header
  was edited, fails authentication. The key id and version are also in the clear header, so a
  reader knows which key and which parser to use before it decrypts.
- Row ids must exist before the INSERT (``core.ids.new_id``), because they are bound into the
  ciphertext.
"""

from __future__ import annotations

import os
import struct
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.crypto.errors import (
    CiphertextKeyUnknownError,
    CiphertextTamperedError,
    CiphertextTruncatedError,
    UnknownKeyError,
    UnsupportedFormatVersionError,
)
from core.crypto.keys import KeyRing, check_key_id, check_name, length_prefixed

FORMAT_VERSION: Final = 1
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
_HEADER: Final = struct.Struct(">BI")  # format version, key id
HEADER_BYTES: Final = _HEADER.size
MIN_CIPHERTEXT_BYTES: Final = HEADER_BYTES + NONCE_BYTES + TAG_BYTES  # an empty plaintext

Blob = bytes | bytearray | memoryview  # psycopg returns bytea as memoryview


def associated_data(table: str, column: str, row_id: str, key_id: int, version: int) -> bytes:
    """The bytes that bind a ciphertext to its place, key and format."""
    return length_prefixed(
        check_name("table", table),
        check_name("column", column),
        check_name("row id", row_id),
        check_key_id(key_id).to_bytes(4, "big"),
        version.to_bytes(1, "big"),
    )


def _place(table: str, column: str, row_id: str) -> str:
    # repr() so that a hostile row id cannot forge lines in a log (log injection).
    return f"{table!r}.{column!r} row {row_id!r}"


def _parse_header(data: bytes, place: str) -> tuple[int, int]:
    if not data:
        raise CiphertextTruncatedError(f"ciphertext for {place} is empty")
    version = data[0]
    if version != FORMAT_VERSION:
        raise UnsupportedFormatVersionError(
            version,
            f"ciphertext for {place} has format version {version}; "
            f"this code reads only version {FORMAT_VERSION}",
        )
    if len(data) < MIN_CIPHERTEXT_BYTES:
        raise CiphertextTruncatedError(
            f"ciphertext for {place} is truncated: {len(data)} bytes, "
            f"format version {version} needs at least {MIN_CIPHERTEXT_BYTES}"
        )
    _, key_id = _HEADER.unpack_from(data)
    return version, key_id


class FieldCipher:
    """Encrypts and decrypts text fields with the keys of a :class:`KeyRing`."""

    __slots__ = ("_aeads", "keyring")

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        # (key id, table, column) -> (derived key, its AESGCM). The derived key is kept only to
        # notice that the ring re-derived it (after a removal), never to be read.
        self._aeads: dict[tuple[int, str, str], tuple[bytes, AESGCM]] = {}

    def encrypt(self, plaintext: str, *, table: str, column: str, row_id: str) -> bytes:
        """Encrypt under the ring's current key, bound to (table, column, row id)."""
        if not isinstance(plaintext, str):
            raise TypeError("plaintext must be a str")
        try:
            data = plaintext.encode("utf-8")
        except UnicodeEncodeError:
            # Not chained: the original exception carries the whole plaintext.
            raise ValueError("plaintext is not encodable as UTF-8 (lone surrogate)") from None
        key_id = self.keyring.current_id
        aad = associated_data(table, column, row_id, key_id, FORMAT_VERSION)
        aead = self._aead(key_id, table, column)
        nonce = os.urandom(NONCE_BYTES)
        return _HEADER.pack(FORMAT_VERSION, key_id) + nonce + aead.encrypt(nonce, data, aad)

    def decrypt(self, blob: Blob, *, table: str, column: str, row_id: str) -> str:
        """Decrypt a value stored at (table, column, row id).

        Raises a :class:`~core.crypto.errors.DecryptionError` subclass naming the reason:
        truncated, unsupported version, unknown key id, or failed authentication (tampered, or
        copied from another row, column or table). Never returns ``None``.
        """
        data = bytes(blob)
        place = _place(table, column, row_id)
        version, key_id = _parse_header(data, place)
        aad = associated_data(table, column, row_id, key_id, version)
        try:
            aead = self._aead(key_id, table, column)
        except UnknownKeyError:
            raise CiphertextKeyUnknownError(
                key_id,
                f"ciphertext for {place} names key id {key_id}, which is not in the key ring "
                f"(held: {list(self.keyring.key_ids)})",
            ) from None
        nonce = data[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        try:
            plaintext = aead.decrypt(nonce, data[HEADER_BYTES + NONCE_BYTES :], aad)
        except InvalidTag:
            raise CiphertextTamperedError(
                f"ciphertext for {place} failed authentication: it was modified or truncated, "
                "or it belongs to another row, column or table"
            ) from None
        return plaintext.decode("utf-8")

    @staticmethod
    def key_id_of(blob: Blob) -> int:
        """The key id a stored value was encrypted under (rotation skips the current one)."""
        _, key_id = _parse_header(bytes(blob), "a stored value")
        return key_id

    def _aead(self, key_id: int, table: str, column: str) -> AESGCM:
        derived = self.keyring.encryption_key(key_id, table, column)
        cached = self._aeads.get((key_id, table, column))
        if cached is not None and cached[0] is derived:
            return cached[1]
        aead = AESGCM(derived)
        self._aeads[(key_id, table, column)] = (derived, aead)
        return aead

    def __repr__(self) -> str:
        return f"<FieldCipher {self.keyring!r}>"
