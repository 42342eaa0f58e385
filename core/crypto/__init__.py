"""Field encryption, blind indexes and the key hierarchy (security.md §1).

Pure Python on top of ``cryptography``: no Flask, no SQLAlchemy. The column type and the CLI
build a :class:`KeyRing` from ``SENIM_MASTER_KEY`` and the wrapped data keys in the database,
then use one :class:`FieldCipher` and one :class:`BlindIndexer` for the whole process.
"""

from core.crypto.blind_index import (
    INDEX_FIELDS,
    BlindIndexer,
    IndexSpec,
    normalize_name,
    normalize_phone_for_index,
)
from core.crypto.cipher import FORMAT_VERSION, FieldCipher, associated_data
from core.crypto.errors import (
    CiphertextKeyUnknownError,
    CiphertextTamperedError,
    CiphertextTruncatedError,
    CryptoError,
    DecryptionError,
    KeyUnwrapError,
    MasterKeyError,
    UnknownKeyError,
    UnsupportedFormatVersionError,
)
from core.crypto.keys import (
    KEY_BYTES,
    MASTER_KEY_SETTING,
    KeyRing,
    MasterKey,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from core.validation import normalize_iin

__all__ = [
    "FORMAT_VERSION",
    "INDEX_FIELDS",
    "KEY_BYTES",
    "MASTER_KEY_SETTING",
    "BlindIndexer",
    "CiphertextKeyUnknownError",
    "CiphertextTamperedError",
    "CiphertextTruncatedError",
    "CryptoError",
    "DecryptionError",
    "FieldCipher",
    "IndexSpec",
    "KeyRing",
    "KeyUnwrapError",
    "MasterKey",
    "MasterKeyError",
    "UnknownKeyError",
    "UnsupportedFormatVersionError",
    "associated_data",
    "new_data_key",
    "normalize_iin",
    "normalize_name",
    "normalize_phone_for_index",
    "unwrap_data_key",
    "wrap_data_key",
]
