"""Encrypted columns: the bridge between ``core.crypto`` (pure) and the models.

Models declare personal fields as ``name = EncryptedText()``; the descriptor keeps the
ciphertext in a ``LargeBinary`` column of the same name and encrypts on assignment, decrypts on
first read, so no view ever handles ciphertext and nobody can forget to encrypt. The associated
data binds each ciphertext to (table, column, row id), which is why rows get their UUIDv7 id in
Python before the INSERT (core/ids.py). Fields with ``blind_index=`` also keep a short keyed hash
column (``<name>_bidx``) for exact-match search (core/crypto/blind_index.py).

Every decryption is noted in the request (``decrypted_fields()``) so that the audit entry of a
case view can list the personal fields that were decrypted for it (security.md §3).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import ColumnElement, Integer, LargeBinary, String, and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from core.crypto import (
    BlindIndexer,
    CiphertextKeyUnknownError,
    FieldCipher,
    KeyRing,
    MasterKey,
    new_data_key,
    wrap_data_key,
)
from core.crypto.flag_bits import bit_positions, codes_of, mask_of
from core.extensions import db
from core.models.keys import ACTIVE, CURRENT, DataKey

log = logging.getLogger(__name__)
KEYRING_TTL_SECONDS = 5.0  # how soon other processes see a rotation's new current key


class CryptoService:
    """One per application: the master key, and the data keys read from the database."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._loaded_at = 0.0
        self._cipher: FieldCipher | None = None
        self._indexer: BlindIndexer | None = None
        # Derived from the keys: emptied whenever the keys are read again.
        self._bits_cache: dict[tuple[int, str, tuple[str, ...]], Mapping[str, int]] = {}

    def __repr__(self) -> str:
        return "<CryptoService>"

    @property
    def master(self) -> MasterKey:
        return self._master

    def keyring(self) -> KeyRing:
        with self._lock:
            if self._ring is None or time.monotonic() - self._loaded_at > KEYRING_TTL_SECONDS:
                self._load()
            assert self._ring is not None  # noqa: S101 - _load sets it or raises
            return self._ring

    @property
    def cipher(self) -> FieldCipher:
        self.keyring()
        assert self._cipher is not None  # noqa: S101
        return self._cipher

    @property
    def indexer(self) -> BlindIndexer:
        self.keyring()
        assert self._indexer is not None  # noqa: S101
        return self._indexer

    def reload(self) -> None:
        with self._lock:
            self._load()

    def forget(self) -> None:
        """Drop the cached keys; the next use reads them again (tests empty the tables)."""
        with self._lock:
            self._ring = None
            self._bits_cache.clear()

    def _load(self) -> None:
        rows = self._read_keys()
        if not rows:
            self.ensure_first_key()
            rows = self._read_keys()
        current = [key_id for key_id, (_, state) in rows.items() if state == CURRENT]
        if len(current) != 1:
            raise RuntimeError(f"expected exactly one current data key, found {len(current)}")
        wrapped = {key_id: blob for key_id, (blob, _) in rows.items()}
        self._ring = KeyRing.from_wrapped(self._master, wrapped, current[0])
        self._bits_cache.clear()  # derived from the keys just read
        self._cipher = FieldCipher(self._ring)
        self._indexer = BlindIndexer(self._ring)
        self._loaded_at = time.monotonic()

    @staticmethod
    def _read_keys() -> dict[int, tuple[bytes, str]]:
        # A connection of its own: key reads must not join (or wait on) the caller's transaction.
        with db.engine.connect() as connection:
            result = connection.execute(select(DataKey.id, DataKey.wrapped, DataKey.state))
            return {row.id: (bytes(row.wrapped), row.state) for row in result}

    def ensure_first_key(self) -> bool:
        """Create data key 1 when there is none; True if this call created it."""
        try:
            with db.engine.begin() as connection:
                if connection.scalar(select(func.count()).select_from(DataKey)):
                    return False
                connection.execute(DataKey.__table__.insert().values(
                    id=1, wrapped=wrap_data_key(self._master, new_data_key()), state=CURRENT,
                    created_at=_now()))
        except IntegrityError:
            return False  # another process created it first
        log.info("created the first data-encryption key")
        return True

    def add_current_key(self) -> int:
        """Start a rotation: a new key becomes current, the old current one stays readable."""
        with db.engine.begin() as connection:
            new_id = int(connection.scalar(select(func.coalesce(func.max(DataKey.id), 0))) or 0) + 1
            connection.execute(DataKey.__table__.update().where(DataKey.state == CURRENT)
                               .values(state=ACTIVE))
            connection.execute(DataKey.__table__.insert().values(
                id=new_id, wrapped=wrap_data_key(self._master, new_data_key()), state=CURRENT,
                created_at=_now()))
        self.reload()
        return new_id

    def code_bits(self, field: str, codes: Sequence[str], key_id: int | None = None
                  ) -> Mapping[str, int]:
        """The keyed bit of each code of an ``EncryptedCodes`` field under one key (the
        current one by default); see core/crypto/flag_bits.py."""
        ring = self.keyring()
        kid = ring.current_id if key_id is None else key_id
        cache_key = (kid, field, tuple(codes))
        bits = self._bits_cache.get(cache_key)
        if bits is None:
            bits = bit_positions(ring.index_key(kid, f"{field}.bits"), codes)
            self._bits_cache[cache_key] = bits
        return bits

    def decrypt(self, blob: bytes, table: str, column: str, row_id: str) -> str:
        try:
            return self.cipher.decrypt(blob, table=table, column=column, row_id=row_id)
        except CiphertextKeyUnknownError:
            self.reload()  # another process may have rotated since we last looked
            return self.cipher.decrypt(blob, table=table, column=column, row_id=row_id)


def _now() -> Any:
    return utcnow()


def crypto() -> CryptoService:
    service: CryptoService = current_app.extensions["senim.crypto"]
    return service


# ---- the column --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedField:
    model: type
    name: str
    blind_index: str | None

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)  # type: ignore[attr-defined]


ENCRYPTED_FIELDS: list[EncryptedField] = []


class EncryptedText:
    """An encrypted text attribute (see the module docstring)."""

    def __init__(self, *, blind_index: str | None = None) -> None:
        self.blind_index = blind_index
        self.name = ""
        self.table = ""

    def __set_name__(self, owner: type, name: str) -> None:
        # Runs while the class is created, before SQLAlchemy's declarative scan, so the columns
        # added here are mapped like any other.
        self.name = name
        self.table = owner.__dict__["__tablename__"]
        setattr(owner, self.ciphertext_attr, mapped_column(name, LargeBinary, nullable=True))
        if self.blind_index:
            setattr(owner, self.index_attr,
                    mapped_column(f"{name}_bidx", String(16), nullable=True, index=True))
        ENCRYPTED_FIELDS.append(EncryptedField(owner, name, self.blind_index))

    @property
    def ciphertext_attr(self) -> str:
        return f"_{self.name}_ciphertext"

    @property
    def index_attr(self) -> str:
        return f"{self.name}_bidx"

    @property
    def _cache_attr(self) -> str:
        return f"_{self.name}_plaintext"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        blob = getattr(instance, self.ciphertext_attr)
        if blob is None:
            return None
        cached = instance.__dict__.get(self._cache_attr)
        if cached is not None and cached[0] == blob:
            return cached[1]
        plaintext = crypto().decrypt(bytes(blob), self.table, self.name, instance.id)
        instance.__dict__[self._cache_attr] = (blob, plaintext)
        note_decrypted(self.table, self.name)
        return plaintext

    def __set__(self, instance: Any, value: str | None) -> None:
        if value is None:
            setattr(instance, self.ciphertext_attr, None)
            if self.blind_index:
                setattr(instance, self.index_attr, None)
            instance.__dict__.pop(self._cache_attr, None)
            return
        if not isinstance(value, str):
            raise TypeError(f"{self.table}.{self.name} takes text, not {type(value).__name__}")
        if not getattr(instance, "id", None):
            raise ValueError(f"{self.table}.{self.name}: the row needs its id before encryption")
        service = crypto()
        blob = service.cipher.encrypt(value, table=self.table, column=self.name, row_id=instance.id)
        setattr(instance, self.ciphertext_attr, blob)
        if self.blind_index:
            setattr(instance, self.index_attr, index_or_none(self.blind_index, value))
        instance.__dict__[self._cache_attr] = (blob, value)


class EncryptedCodes(EncryptedText):
    """An encrypted set of codes from a fixed vocabulary, still countable and filterable in SQL.

    The list is stored as encrypted JSON (the column ``<name>``), beside a keyed bitmask
    (``<name>_mask``) and the id of the key the mask was made under (``<name>_key``); see
    core/crypto/flag_bits.py for what the mask reveals and what it does not. Reads return a
    list (empty for none); assigning a list rewrites all three columns, so a key rotation
    (``senim keys rotate`` re-assigns every value) moves the mask to the new key as well.
    ``mask_filter`` and ``decode_mask`` are the query side."""

    def __init__(self, codes: Sequence[str], *, bits_field: str) -> None:
        super().__init__()
        self.codes = tuple(codes)
        self.bits_field = bits_field

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)
        setattr(owner, self.mask_attr, mapped_column(f"{name}_mask", Integer, nullable=False,
                                                     default=0, index=True))
        setattr(owner, self.key_attr, mapped_column(f"{name}_key", Integer, nullable=True))

    @property
    def mask_attr(self) -> str:
        return f"{self.name}_mask"

    @property
    def key_attr(self) -> str:
        return f"{self.name}_key"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        text = super().__get__(instance, owner)
        return list(json.loads(text)) if text else []

    def __set__(self, instance: Any, value: Any) -> None:
        codes = list(dict.fromkeys(value or []))
        if not all(isinstance(code, str) for code in codes):
            raise TypeError(f"{self.table}.{self.name} takes a list of codes")
        if not codes:
            super().__set__(instance, None)
            setattr(instance, self.mask_attr, 0)
            setattr(instance, self.key_attr, None)
            return
        super().__set__(instance, json.dumps(codes))
        key_id = FieldCipher.key_id_of(bytes(getattr(instance, self.ciphertext_attr)))
        bits = crypto().code_bits(self.bits_field, self.codes, key_id)
        setattr(instance, self.mask_attr, mask_of(bits, codes))
        setattr(instance, self.key_attr, key_id)

    # ---- the query side ------------------------------------------------------------------------

    def _columns(self, model: type) -> tuple[Any, Any]:
        return getattr(model, self.mask_attr), getattr(model, self.key_attr)

    def mask_filter(self, model: type, codes: Iterable[str]) -> ColumnElement[bool]:
        """Rows holding at least one of ``codes``, under whichever key their mask was made."""
        mask, key = self._columns(model)
        wanted = list(codes)
        clauses = []
        for key_id in crypto().keyring().key_ids:
            bits = mask_of(crypto().code_bits(self.bits_field, self.codes, key_id), wanted)
            if bits:
                clauses.append(and_(key == key_id, mask.op("&")(bits) != 0))
        return or_(*clauses) if clauses else false()  # no code has a bit: nothing matches

    def decode_mask(self, key_id: int | None, mask: int) -> list[str]:
        """The codes of a stored (key, mask) pair, e.g. from ``GROUP BY key, mask``."""
        if key_id is None or not mask:
            return []
        return codes_of(crypto().code_bits(self.bits_field, self.codes, key_id), mask)


def index_or_none(field: str, value: str) -> str | None:
    """The blind index of a value, or None when the value has no normal form (an empty name)."""
    try:
        return crypto().indexer.compute(field, value)
    except ValueError:
        return None


def index_candidates(field: str, value: str) -> set[str]:
    """Index values to search for (one per key in the ring); empty when nothing to index."""
    try:
        return crypto().indexer.candidates(field, value)
    except ValueError:
        return set()


def note_decrypted(table: str, column: str) -> None:
    if has_request_context():
        g.setdefault("decrypted_fields", set()).add(f"{table}.{column}")


def decrypted_fields() -> list[str]:
    """The personal fields decrypted so far in this request, for its audit entry."""
    return sorted(g.get("decrypted_fields", set())) if has_request_context() else []


def reset_decrypted_fields() -> None:
    if has_request_context():
        g.decrypted_fields = set()


def init_app(app: Flask) -> None:
    master = MasterKey.from_base64(app.config["SENIM"].master_key)
    service = CryptoService(master)
    app.extensions["senim.crypto"] = service
    app.extensions.setdefault("senim.after_upgrade", []).append(
        lambda: ensure_key_if_schema_exists(app))


def ensure_key_if_schema_exists(app: Flask) -> None:
    """At start-up, create the first data key when the schema exists but has no key yet."""
    with app.app_context():
        try:
            crypto().ensure_first_key()
        except (OperationalError, ProgrammingError):
            db.session.rollback()  # not migrated yet: `senim db upgrade` will do it
