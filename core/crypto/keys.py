"""The key hierarchy: master key -> wrapped data keys -> per-purpose subkeys.

- The **master key** comes from ``SENIM_MASTER_KEY`` (base64 of 32 random bytes), never from the
  database. It is used for one thing only: wrapping and unwrapping data keys.
- **Data keys** are 32 random bytes each, numbered by an integer key id, stored in the database
  only in wrapped form (AES key wrap, RFC 3394; 32-byte keys are a multiple of 8 bytes, so the
  padded variant of RFC 5649 is not needed). During a rotation the ring holds several of them;
  new ciphertexts use ``current_id``, old ones name their own key id.
- **Subkeys** are derived from a data key with HKDF-SHA256 and a label per purpose and place:
  one AES-256-GCM key per (table, column), one blind-index key per indexed field. The labels
  start with different purpose tags, so an encryption key can never equal an index key, and
  every component is length-prefixed, so no two different places share a label.

Key bytes live in private slots of objects whose ``repr``/``str`` show only key ids, and the
objects refuse to be pickled, so they do not end up in logs, tracebacks, caches or sessions.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import threading
from collections.abc import Mapping
from typing import Final, NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from core.crypto.errors import KeyUnwrapError, MasterKeyError, UnknownKeyError

KEY_BYTES: Final = 32
MAX_KEY_ID: Final = 2**32 - 1  # the stored format keeps key ids in 4 bytes
MASTER_KEY_SETTING: Final = "SENIM_MASTER_KEY"

_ENCRYPTION_LABEL: Final = b"senim/v1/field-encryption"
_INDEX_LABEL: Final = b"senim/v1/blind-index"


def length_prefixed(*parts: bytes) -> bytes:
    """Canonical, unambiguous encoding of a tuple of byte strings: 4-byte length + bytes each.

    ``("ab", "c")`` and ``("a", "bc")`` encode differently, which a plain join would not do.
    """
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def check_key_id(key_id: int) -> int:
    if isinstance(key_id, bool) or not isinstance(key_id, int):
        raise TypeError("key id must be an int")
    if not 0 <= key_id <= MAX_KEY_ID:
        raise ValueError(f"key id must be between 0 and {MAX_KEY_ID}")
    return key_id


def check_name(kind: str, value: str) -> bytes:
    """Validate a table, column or field name and return its UTF-8 bytes."""
    if not isinstance(value, str):
        raise TypeError(f"{kind} must be a str")
    if not value:
        raise ValueError(f"{kind} must not be empty")
    return value.encode("utf-8")


def _refuse_pickle(kind: str) -> NoReturn:
    raise TypeError(f"{kind} holds key material and cannot be pickled or copied")


class MasterKey:
    """The key-encryption key. Its bytes never appear in ``repr``/``str``."""

    __slots__ = ("__key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise MasterKeyError(f"the master key must be exactly {KEY_BYTES} bytes")
        if len(set(key)) == 1:
            raise MasterKeyError("the master key is a single repeated byte; it must be 32 random bytes")
        self.__key = key

    @classmethod
    def from_base64(cls, value: str, *, setting: str = MASTER_KEY_SETTING) -> MasterKey:
        """Parse ``SENIM_MASTER_KEY``: standard or URL-safe base64 of exactly 32 bytes.

        Surrounding whitespace (a trailing newline in a key file) is ignored. Errors name the
        setting and never repeat its value.
        """
        if not isinstance(value, str):
            raise MasterKeyError(f"{setting} must be a string of base64")
        text = value.strip()
        if not text:
            raise MasterKeyError(f"{setting} is empty; set it to base64 of 32 random bytes")
        try:
            raw = base64.b64decode(text, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise MasterKeyError(
                f"{setting} is not valid base64; set it to base64 of 32 random bytes"
            ) from None
        if len(raw) != KEY_BYTES:
            raise MasterKeyError(f"{setting} must decode to exactly {KEY_BYTES} bytes, not {len(raw)}")
        try:
            return cls(raw)
        except MasterKeyError:
            raise MasterKeyError(
                f"{setting} is a single repeated byte; set it to base64 of 32 random bytes"
            ) from None

    @classmethod
    def generate(cls) -> MasterKey:
        """A fresh random master key (development instances write it to the instance folder)."""
        return cls(os.urandom(KEY_BYTES))

    def export_base64(self) -> str:
        """The key as ``SENIM_MASTER_KEY`` expects it. Only for writing a key file or a vault."""
        return base64.b64encode(self.__key).decode("ascii")

    def wrap(self, data_key: bytes) -> bytes:
        return aes_key_wrap(self.__key, data_key)

    def unwrap(self, wrapped: bytes) -> bytes:
        return aes_key_unwrap(self.__key, wrapped)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKey):
            return NotImplemented
        return hmac.compare_digest(self.__key, other.__key)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<MasterKey (redacted)>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        _refuse_pickle("MasterKey")


def new_data_key() -> bytes:
    """32 random bytes for a new data key. Wrap it at once; never store or log it unwrapped."""
    return os.urandom(KEY_BYTES)


def wrap_data_key(master: MasterKey, key: bytes) -> bytes:
    """AES key wrap (RFC 3394) of a data key under the master key: 40 bytes to store."""
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"a data key must be exactly {KEY_BYTES} bytes")
    return master.wrap(key)


def unwrap_data_key(master: MasterKey, wrapped: bytes) -> bytes:
    """Inverse of :func:`wrap_data_key`; raises :class:`KeyUnwrapError` on any mismatch."""
    try:
        key = master.unwrap(bytes(wrapped))
    except (InvalidUnwrap, ValueError):
        raise KeyUnwrapError(
            "a wrapped data key failed its integrity check: the master key "
            f"({MASTER_KEY_SETTING}) is not the one it was wrapped with, or the stored value "
            "is corrupted"
        ) from None
    if len(key) != KEY_BYTES:
        raise KeyUnwrapError(f"an unwrapped data key is {len(key)} bytes, not {KEY_BYTES}")
    return key


def _hkdf(key: bytes, info: bytes) -> bytes:
    # The input key material is already 32 uniformly random bytes, so HKDF's extract step needs
    # no salt (RFC 5869 §3.1); the info label alone separates the subkeys.
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(key)


class KeyRing:
    """Unwrapped data keys by key id, with the id that new ciphertexts use.

    Holds several keys while a rotation re-encrypts old values. Derived subkeys are cached;
    removing a key also drops its subkeys. Safe to share between threads.
    """

    __slots__ = ("__cache", "__current_id", "__keys", "__lock")

    def __init__(self, keys: Mapping[int, bytes], current_id: int) -> None:
        self.__keys: dict[int, bytes] = {}
        self.__cache: dict[tuple[int, bytes], bytes] = {}
        self.__lock = threading.Lock()
        for key_id, key in keys.items():
            self.__insert(key_id, key)
        if check_key_id(current_id) not in self.__keys:
            raise UnknownKeyError(current_id, f"current key id {current_id} is not in the ring")
        self.__current_id = current_id

    @classmethod
    def from_wrapped(cls, master: MasterKey, wrapped: Mapping[int, bytes], current_id: int) -> KeyRing:
        """Build the ring from the wrapped keys stored in the database."""
        keys = {key_id: unwrap_data_key(master, blob) for key_id, blob in wrapped.items()}
        return cls(keys, current_id)

    @property
    def current_id(self) -> int:
        return self.__current_id

    @property
    def key_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.__keys))

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.__keys

    def __len__(self) -> int:
        return len(self.__keys)

    def add(self, key_id: int, key: bytes, *, make_current: bool = False) -> None:
        """Add a data key (the first step of a rotation); ids are never reused for other bytes."""
        with self.__lock:
            self.__insert(key_id, key)
            if make_current:
                self.__current_id = key_id

    def set_current(self, key_id: int) -> None:
        with self.__lock:
            if check_key_id(key_id) not in self.__keys:
                raise UnknownKeyError(key_id)
            self.__current_id = key_id

    def remove(self, key_id: int) -> None:
        """Retire a key once nothing is encrypted under it any more. The current key stays."""
        with self.__lock:
            if key_id == self.__current_id:
                raise ValueError("the current key cannot be removed; make another key current")
            if key_id not in self.__keys:
                raise UnknownKeyError(key_id)
            del self.__keys[key_id]
            for entry in [entry for entry in self.__cache if entry[0] == key_id]:
                del self.__cache[entry]

    def encryption_key(self, key_id: int, table: str, column: str) -> bytes:
        """The AES-256-GCM key for one column of one table under data key ``key_id``.

        Raw key material: pass it straight to a cipher, never log or store it.
        """
        info = _ENCRYPTION_LABEL + length_prefixed(check_name("table", table), check_name("column", column))
        return self.__derive(key_id, info)

    def index_key(self, key_id: int, field_name: str) -> bytes:
        """The blind-index key for one indexed field under data key ``key_id``.

        Raw key material: pass it straight to the keyed hash, never log or store it.
        """
        info = _INDEX_LABEL + length_prefixed(check_name("field name", field_name))
        return self.__derive(key_id, info)

    def __derive(self, key_id: int, info: bytes) -> bytes:
        key = self.__keys.get(key_id)
        if key is None:
            raise UnknownKeyError(key_id)
        cache_key = (key_id, info)
        derived = self.__cache.get(cache_key)
        if derived is None:
            derived = _hkdf(key, info)
            with self.__lock:
                if self.__keys.get(key_id) is key:  # not removed (or replaced) meanwhile
                    self.__cache[cache_key] = derived
        return derived

    def __insert(self, key_id: int, key: bytes) -> None:
        check_key_id(key_id)
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ValueError(f"data key {key_id} must be exactly {KEY_BYTES} bytes")
        existing = self.__keys.get(key_id)
        if existing is not None and not hmac.compare_digest(existing, key):
            raise ValueError(f"key id {key_id} already holds a different key")
        self.__keys[key_id] = key

    def __repr__(self) -> str:
        return f"<KeyRing key_ids={list(self.key_ids)} current_id={self.__current_id}>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        _refuse_pickle("KeyRing")
