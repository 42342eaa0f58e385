"""Errors of the field-encryption layer.

Every failure raises; nothing here ever returns ``None`` for a value it could not decrypt, so a
damaged or misplaced ciphertext can never pass for an empty field.

Messages say *why* an operation failed and *where* (table, column, row id, key id, format
version: all of them metadata, none of them personal), and never carry key material or
plaintext. Callers may log them as they are.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by ``core.crypto``."""


class MasterKeyError(CryptoError):
    """``SENIM_MASTER_KEY`` is missing or malformed (the message names the setting)."""


class KeyUnwrapError(CryptoError):
    """A wrapped data key failed its integrity check: wrong master key, or a corrupted value."""


class UnknownKeyError(CryptoError, LookupError):
    """A key id that the key ring does not hold."""

    def __init__(self, key_id: int, message: str | None = None) -> None:
        self.key_id = key_id
        super().__init__(message or f"key id {key_id} is not in the key ring")


class DecryptionError(CryptoError):
    """A stored ciphertext could not be turned back into its plaintext.

    Catch this class to handle every decryption failure; the subclasses say which one.
    """


class CiphertextTamperedError(DecryptionError):
    """Authentication failed: the bytes were modified, cut short, or belong to another place."""


class CiphertextTruncatedError(DecryptionError):
    """Too short to hold the header, the nonce and the authentication tag."""


class UnsupportedFormatVersionError(DecryptionError):
    """The first byte names a storage format this code does not know."""

    def __init__(self, version: int, message: str) -> None:
        self.version = version
        super().__init__(message)


class CiphertextKeyUnknownError(DecryptionError, UnknownKeyError):
    """The ciphertext names a key id that is not in the key ring (retired, or never existed)."""

    def __init__(self, key_id: int, message: str) -> None:
        UnknownKeyError.__init__(self, key_id, message)
