"""Signed checkpoints of the audit chain, kept outside the database (security.md §3).

Someone who can write to the database can cut off the chain's tail or rewrite it from some
entry on with recomputed hashes; the chain alone cannot tell. A checkpoint is an Ed25519
signature over (sequence, head hash, time) written to a file in a folder the database cannot
reach: a later chain must still contain that entry with that hash.

One JSON file per checkpoint, ``checkpoint-<sequence, 12 digits>.json``::

    {"format": "senim-audit-checkpoint/v1", "sequence": 1200, "hash": "<64 hex>",
     "signed_at": "2026-11-20T05:00:00.000000+00:00", "key_id": "<16 hex>",
     "signature": "<base64>"}

The signature covers ``SIGNING_CONTEXT`` followed by the canonical JSON (sorted keys, no spaces)
of the four fields ``sequence``, ``hash``, ``signed_at`` and ``key_id``. ``key_id`` is the start of
SHA-256 of the raw public key, so a file signed by another key says so.

The folder also holds ``last-verified``: the sequence of the newest checkpoint up to which the
chain last verified, where the API's incremental verification starts, and the number of
entries that followed it then (``"1200 37"``). The sequence is only a starting point: the
checkpoint it names is re-checked (signature and hash) on every run. The count catches a tail
cut after the newest checkpoint: a head below 1200 + 37 means entries seen before are gone.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

log = logging.getLogger(__name__)

FORMAT: Final = "senim-audit-checkpoint/v1"
SIGNING_CONTEXT: Final = b"senim-audit-checkpoint/v1\n"
LAST_VERIFIED_FILE: Final = "last-verified"
_FILE_PATTERN: Final = re.compile(r"^checkpoint-(\d{12,})\.json$")
_HASH_PATTERN: Final = re.compile(r"^[0-9a-f]{64}$")


class CheckpointError(Exception):
    """A checkpoint cannot be written, or the signing key cannot be loaded."""


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    hash: str
    signed_at: str
    key_id: str
    path: Path


@dataclass(frozen=True)
class CheckpointProblem:
    """A checkpoint file that does not verify. ``sequence`` is the one its name claims."""

    path: Path
    sequence: int
    problem: str


def checkpoint_name(sequence: int) -> str:
    return f"checkpoint-{sequence:012d}.json"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signed_payload(sequence: int, head_hash: str, signed_at: str, signer: str) -> bytes:
    fields = {"sequence": sequence, "hash": head_hash, "signed_at": signed_at, "key_id": signer}
    return SIGNING_CONTEXT + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign(key: Ed25519PrivateKey, sequence: int, head_hash: str, signed_at: str) -> dict[str, Any]:
    signer = key_id(key.public_key())
    signature = key.sign(signed_payload(sequence, head_hash, signed_at, signer))
    return {
        "format": FORMAT, "sequence": sequence, "hash": head_hash, "signed_at": signed_at,
        "key_id": signer, "signature": base64.b64encode(signature).decode("ascii"),
    }


def check(document: Any, public_key: Ed25519PublicKey, path: Path) -> Checkpoint | str:
    """The checkpoint in ``document``, or what is wrong with it."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return "not a checkpoint file"
    sequence, head_hash = document.get("sequence"), document.get("hash")
    signed_at, signer = document.get("signed_at"), document.get("key_id")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        return "invalid sequence"
    if not isinstance(head_hash, str) or not _HASH_PATTERN.match(head_hash):
        return "invalid hash"
    if not isinstance(signed_at, str) or not isinstance(signer, str):
        return "invalid signing time or key id"
    if signer != key_id(public_key):
        return f"signed by another key ({signer})"
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
        public_key.verify(signature, signed_payload(sequence, head_hash, signed_at, signer))
    except (InvalidSignature, binascii.Error, ValueError):
        return "bad signature"
    return Checkpoint(sequence, head_hash, signed_at, signer, path)


class CheckpointStore:
    """The checkpoint files in one folder, signed and checked with one key."""

    def __init__(self, directory: Path, signing_key: Ed25519PrivateKey) -> None:
        self.directory = directory
        self._key = signing_key
        self.public_key = signing_key.public_key()

    def write(self, sequence: int, head_hash: str, signed_at: str) -> Checkpoint:
        """Sign and store a checkpoint; idempotent for the same (sequence, hash)."""
        path = self.directory / checkpoint_name(sequence)
        document = sign(self._key, sequence, head_hash, signed_at)
        data = json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"
        try:
            _create_exclusively(path, data, mode=0o644)
        except FileExistsError:
            existing = self._read(path, sequence)
            if isinstance(existing, Checkpoint) and existing.hash == head_hash:
                return existing  # another process wrote the same checkpoint first
            raise CheckpointError(f"{path} already exists with different contents") from None
        return Checkpoint(sequence, head_hash, signed_at, document["key_id"], path)

    def load(self, *, from_sequence: int = 0) -> tuple[list[Checkpoint], list[CheckpointProblem]]:
        """The valid checkpoints at ``from_sequence`` or later, in order, and the files that fail
        their check."""
        found: list[Checkpoint] = []
        problems: list[CheckpointProblem] = []
        for sequence, path in self._files():
            if sequence < from_sequence:
                continue
            checked = self._read(path, sequence)
            if isinstance(checked, str):
                problems.append(CheckpointProblem(path, sequence, checked))
            else:
                found.append(checked)
        return found, problems

    def _last_verified_fields(self) -> list[int] | None:
        try:
            fields = [int(part) for part in (self.directory / LAST_VERIFIED_FILE).read_text().split()]
        except (OSError, ValueError):
            return None
        return fields if fields and all(value >= 0 for value in fields) else None

    def last_verified(self) -> int | None:
        fields = self._last_verified_fields()
        return fields[0] if fields else None

    def successors_seen(self) -> tuple[int, int] | None:
        """(checkpoint sequence, entries seen after it) at the last successful verification.
        Entries appended after the newest checkpoint are pinned by no signature, but a later
        chain whose head falls short of checkpoint + successors has lost its tail."""
        fields = self._last_verified_fields()
        return (fields[0], fields[1]) if fields and len(fields) >= 2 else None

    def newest(self) -> Checkpoint | None:
        """The newest valid checkpoint, or None."""
        for sequence, path in reversed(self._files()):
            checked = self._read(path, sequence)
            if isinstance(checked, Checkpoint):
                return checked
        return None

    def remember_verified(self, sequence: int, successors: int = 0) -> None:
        """Where the next incremental run starts, and how many entries followed that checkpoint
        when the chain last verified. The folder is out of the database's reach, so someone who
        can only write to the database cannot lower the count to hide a cut tail. A web worker
        that cannot write here still verifies correctly, with less memory of the tail."""
        target = self.directory / LAST_VERIFIED_FILE
        temporary = self.directory / f".last-verified-{secrets.token_hex(4)}"
        try:
            temporary.write_text(f"{sequence} {successors}\n")
            os.replace(temporary, target)
        except OSError as error:
            log.warning("cannot record the last verified audit checkpoint in %s: %s", target, error)
            with contextlib.suppress(OSError):
                temporary.unlink()

    def _files(self) -> list[tuple[int, Path]]:
        if not self.directory.is_dir():
            return []
        files: list[tuple[int, Path]] = []
        for path in self.directory.glob("checkpoint-*"):
            match = _FILE_PATTERN.match(path.name)
            if match is None:
                # Not a checkpoint by name, so not one at all: like a removed checkpoint, it
                # weakens nothing that the remaining checkpoints prove.
                log.warning("ignoring %s in the audit checkpoint folder", path)
                continue
            files.append((int(match.group(1)), path))
        return sorted(files)

    def _read(self, path: Path, sequence: int) -> Checkpoint | str:
        try:
            document = json.loads(path.read_bytes())
        except (OSError, ValueError) as error:
            return f"unreadable ({error.__class__.__name__})"
        checked = check(document, self.public_key, path)
        if isinstance(checked, Checkpoint) and checked.sequence != sequence:
            return "file name and signed sequence differ"
        return checked


def load_signing_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path`` (base64 of the 32 raw private bytes); generated when missing
    and ``create`` is true (development and tests), with 0600 permissions."""
    if not path.exists():
        if not create:
            raise CheckpointError(f"audit signing key {path} is missing")
        _generate_signing_key(path)
    if path.stat().st_mode & 0o077:
        log.warning("audit signing key %s is readable by others than its owner (chmod 600 it)", path)
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (OSError, binascii.Error, ValueError) as error:
        raise CheckpointError(f"audit signing key {path} is unreadable or malformed") from error


def _generate_signing_key(path: Path) -> None:
    raw = Ed25519PrivateKey.generate().private_bytes_raw()
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process generated it first: use theirs
        _create_exclusively(path, base64.b64encode(raw) + b"\n", mode=0o600)
        log.warning("generated a development audit signing key in %s", path)


def _create_exclusively(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``data`` to ``path`` all at once: readers never see a partial file, and an existing
    file is never replaced (raises ``FileExistsError``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # atomic, and fails if the name is taken
    finally:
        temporary.unlink()
