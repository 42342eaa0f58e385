"""The audit trail (security.md §3): append-only, hash-chained, with signed checkpoints.

Writing::

    from core import audit
    audit.record("case.view", object_type="case", object_id=case.id, fields=["child_name"])

``record`` adds the entry in the caller's current transaction (``db.session``): it commits or
rolls back with the change it describes, so a rolled-back action leaves no entry and no gap.
Entries name fields, never their values; ``details`` carry small non-personal values only
(codes, counts, ids).

``record_kept`` is for the entries that must exist even when the request's changes roll back
(permission denials, failed sign-ins, reads): it appends at the request's end, with its commit
or in a transaction of its own after its rollback (core/transactions.py). ``reading`` wraps a
read: ``with audit.reading("case.viewed", "case", case.id): ...`` records one kept entry naming
the personal fields decrypted inside the block.

How appends stay one linear chain:

- PostgreSQL: ``pg_advisory_xact_lock(APPEND_LOCK_KEY)``, then read the head, then insert at
  head + 1. The lock is held until the caller's transaction ends, so concurrent writers queue
  behind it; under READ COMMITTED (the default) the head read after the lock sees the previous
  holder's committed entry. The primary key on ``sequence`` backs this up: two writers can
  never both take one position, at worst an append fails (as it would under REPEATABLE READ,
  whose snapshot may predate the lock). Because the lock lasts until commit, call ``record``
  late in the transaction, after the rows it describes are written: that keeps the queue short
  and cannot deadlock with row locks taken afterwards.
- SQLite: one writer at a time is the database's own rule, but pysqlite opens transactions
  lazily (``BEGIN`` before the first INSERT/UPDATE/DELETE), so a head read could come before the
  write lock is taken. When the connection has no transaction yet, ``record`` starts one with
  ``BEGIN IMMEDIATE``, which takes the write lock before the head is read; when it already has
  one, the caller's earlier write holds that lock already.

Checking: :func:`verify` replays the whole chain and every checkpoint (``senim audit verify``,
which then signs the head, and ``?full=1`` on the API and the auditor's page);
:func:`verify_incremental` starts from the last checkpoint that verified
(``GET /api/v1/audit/verify``, the auditor's page); :func:`write_checkpoint` verifies, then
signs the head (``senim audit checkpoint`` from cron, and ``core.audit.timer`` in the running
app). Both compare the head with the number of entries a previous run saw after its newest
checkpoint, so a tail cut after that checkpoint is found too (``CheckpointStore.successors_seen``).

Settings (``app.config``): ``AUDIT_CHECKPOINT_DIR`` (default ``<instance>/audit-checkpoints``)
and ``AUDIT_SIGNING_KEY_PATH`` (default ``<instance>/audit-signing-key``; generated outside
production, required in production).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import Connection, insert, select, text

# The models package first: it imports core.audit.models, which needs core.models.base, so
# entering through this package must not leave core.models half-initialised.
import core.models  # noqa: F401
from core import transactions
from core.audit.chain import (
    GENESIS_HASH,
    ROW_COLUMNS,
    VerifyResult,
    encode_details,
    entry_hash,
    format_time,
    verify_rows,
)
from core.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointProblem,
    CheckpointStore,
    load_signing_key,
)
from core.audit.models import (
    ACTION_LENGTH,
    ADDRESS_LENGTH,
    OBJECT_ID_LENGTH,
    OBJECT_TYPE_LENGTH,
    REASON_LENGTH,
    REQUEST_ID_LENGTH,
    AuditEntry,
    AuditImmutableError,
)
from core.clock import utcnow
from core.encryption import decrypted_fields, reset_decrypted_fields
from core.extensions import db

if TYPE_CHECKING:
    from core.models.users import User

__all__ = [
    "APPEND_LOCK_KEY",
    "GENESIS_HASH",
    "AuditChainError",
    "AuditEntry",
    "AuditImmutableError",
    "AuditValueError",
    "Checkpoint",
    "CheckpointError",
    "Reading",
    "VerifyResult",
    "batched",
    "checkpoint_store",
    "reading",
    "record",
    "record_kept",
    "sign_head",
    "verify",
    "verify_incremental",
    "write_checkpoint",
]

# The advisory lock that serialises appends on PostgreSQL ("SENIM" "A0D1" in hex). Advisory
# lock keys are global to the database, so this one must stay unique to the audit chain.
APPEND_LOCK_KEY: Final = 0x53454E494D_A0D1
VERIFY_BATCH: Final = 10_000  # rows per round trip while verifying
_BATCH: Final = "senim.audit_batch"  # session.info: entries waiting for the end of batched()
_HEAD: Final = "senim.audit_head"  # session.info: (position, sequence, hash) appended last

DetailValue = str | int | bool | None

_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
_OBJECT_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
_FIELD_LENGTH: Final = 64
_DETAIL_VALUE_LENGTH: Final = 200


class AuditValueError(ValueError):
    """A ``record`` argument that could carry values where names belong, or is malformed."""


class AuditChainError(RuntimeError):
    """The chain did not verify, so it must not be signed."""

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(result.problem or "the audit chain does not verify")
        self.result = result


# --- writing -----------------------------------------------------------------------------------

def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    reason: str | None = None,
    fields: Sequence[str] = (),
    details: Mapping[str, DetailValue] | None = None,
    actor: User | None = None,
    public: bool = False,
) -> AuditEntry:
    """Append an entry in the caller's transaction and return it.

    ``actor`` defaults to the signed-in user of the current request (none: a system job or an
    anonymous visitor). ``public=True`` marks a public endpoint: no client address is kept.
    The returned object is a snapshot of the row and is not attached to the session (inside
    :func:`batched`, its sequence and hashes are filled in when the batch is appended).
    An entry made in a request authenticated by an API token names that token in ``details``
    (``api_token``): the actor is the token's owner, and the entry says which credential acted.
    """
    entry = _entry(action, object_type=object_type, object_id=object_id, reason=reason,
                   fields=fields, details=details, actor=actor, public=public)
    batch: list[AuditEntry] | None = db.session.info.get(_BATCH)
    if batch is not None:
        batch.append(entry)  # appended, and numbered, when the batch ends
        return entry
    _append([entry])
    return entry


def record_kept(
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    fields: Sequence[str] = (),
    details: Mapping[str, DetailValue] | None = None,
    actor: User | None = None,
    public: bool = False,
) -> AuditEntry:
    """Record an entry that must exist whether or not the request's own changes commit: a
    permission denial, a failed sign-in, a read (the data was shown even when the request
    then answers an error status).

    The entry is made now (its time, actor and request are those of this moment) and appended
    at the end of the request (core/transactions.py ``regardless``): with the request's
    changes when they commit, else in a short transaction of its own after their rollback. It
    therefore never commits what the caller has pending, and never waits beside the request
    for SQLite's write lock or the chain's advisory lock. Outside a request it is appended at
    once, in the caller's transaction. Validation errors are raised here, at the call.
    """
    entry = _entry(action, object_type=object_type, object_id=object_id, reason=None,
                   fields=fields, details=details, actor=actor, public=public)
    transactions.regardless(partial(_append_copy, entry))
    return entry


def _append_copy(entry: AuditEntry) -> None:
    # A fresh row each time: a first attempt that was rolled back (its commit failed) must not
    # leave its sequence and hashes on the entry appended again after the rollback.
    _append([AuditEntry(**_row_values(entry))])


@dataclass
class Reading:
    """What a :func:`reading` block may still say about itself before it ends."""

    object_id: str | None = None
    details: dict[str, DetailValue] = field(default_factory=dict)


@contextmanager
def reading(action: str, object_type: str, object_id: str | None = None, *,
            details: Mapping[str, DetailValue] | None = None) -> Iterator[Reading]:
    """Audit a read: one entry, recorded when the block ends without an error, names every
    personal field decrypted inside the block (security.md §3: one entry per request and
    object, listing the fields decrypted for it)::

        with audit.reading("case.viewed", "case", case.id):
            html = render_template(...)

    The block may set ``object_id`` and ``details`` on the object it gets (a search knows its
    result count only at the end). The entry is kept (:func:`record_kept`): the page was
    shown even if the request then rolls back. An error inside the block records nothing,
    since nothing was shown.
    """
    reset_decrypted_fields()
    read = Reading(object_id=object_id, details=dict(details or {}))
    yield read
    record_kept(action, object_type=object_type, object_id=read.object_id,
                fields=decrypted_fields(), details=read.details or None)


def _entry(action: str, *, object_type: str | None, object_id: str | None,
           reason: str | None, fields: Sequence[str], details: Mapping[str, DetailValue] | None,
           actor: User | None, public: bool) -> AuditEntry:
    token_id = _api_token_id()
    if token_id is not None:
        details = {**(details or {}), "api_token": token_id}
    values: dict[str, object] = {
        "action": _name(action, "action", ACTION_LENGTH),
        **_object(object_type, object_id),
        "reason": _reason(reason),
        "fields": _fields(fields),
        "details": _details(details),
        **_actor(actor if actor is not None else _current_user()),
        **_request_context(public),
        "occurred_at": utcnow().astimezone(UTC),
    }
    return AuditEntry(**values)


@contextmanager
def batched() -> Iterator[None]:
    """Append the entries recorded inside the block together, when it ends without error.

    For a request that records several entries while it writes many rows (a contact
    submission: contact, decision, each referral): the append lock is then taken once, at the
    end, just before the caller commits, instead of at the first entry, where it would make
    every concurrent writer queue behind the rest of this transaction. The entries ``record``
    returns inside the block get their sequence and hashes when the block ends. An exception
    drops the batch (the caller's transaction rolls back with it). Nested blocks join the
    outer one.
    """
    session = db.session
    if session.info.get(_BATCH) is not None:
        yield
        return
    batch: list[AuditEntry] = []
    session.info[_BATCH] = batch
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)
    if batch:
        _append(batch)


def _append(entries: Sequence[AuditEntry]) -> None:
    """Number, hash and insert ``entries`` at the head of the chain, in one statement."""
    session = db.session
    with session.no_autoflush:  # the caller's pending objects are theirs to flush
        connection = session.connection()
        sequence, prev_hash = _locked_head(session, connection)
        rows = []
        for entry in entries:
            values = _row_values(entry)
            sequence += 1
            values.update(sequence=sequence, prev_hash=prev_hash)
            digest = entry_hash(values)
            values["hash"] = digest
            entry.sequence, entry.prev_hash, entry.hash = sequence, prev_hash, digest
            prev_hash = digest
            rows.append(values)
        # A Core INSERT runs at once, inside the session's transaction: the next append in the
        # same transaction continues from this head (kept in session.info, see _locked_head).
        session.execute(insert(AuditEntry.__table__), rows)
    session.info[_HEAD] = (_position(connection), sequence, prev_hash)


_ROW_KEYS: Final = tuple(column.key for column in AuditEntry.__table__.columns)


def _row_values(entry: AuditEntry) -> dict[str, object]:
    return {key: getattr(entry, key) for key in _ROW_KEYS
            if key not in ("sequence", "prev_hash", "hash")}


def _locked_head(session: Any, connection: Connection) -> tuple[int, str]:
    """The chain's head, with the append lock held until the transaction ends.

    The first append of a transaction takes the lock and reads the head; later ones in the
    same transaction already hold the lock (nobody else can append), so the head is the entry
    they wrote last. The memo names the transaction and savepoint it was written in and counts
    only there: a savepoint that ended may have rolled entries back, so the head is read again.
    """
    memo = session.info.get(_HEAD)
    if memo is not None and memo[0] == _position(connection):
        return int(memo[1]), str(memo[2])
    _serialise_appends(connection)
    return _head(connection)


def _position(connection: Connection) -> tuple[object, object]:
    # The objects themselves (kept alive by the memo), so identity cannot be reused.
    return connection.get_transaction(), connection.get_nested_transaction()


def _serialise_appends(connection: Connection) -> None:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    elif dialect == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not getattr(raw, "in_transaction", True):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _head(connection: Connection) -> tuple[int, str]:
    table = AuditEntry.__table__
    row = connection.execute(
        select(table.c.sequence, table.c.hash).order_by(table.c.sequence.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def _api_token_id() -> str | None:
    if not has_request_context():
        return None
    token_id = g.get("api_token_id")
    return str(token_id) if token_id else None


def _current_user() -> User | None:
    if not has_request_context():
        return None
    authenticated: User | None = g.get("user")  # set by core/access.py, for the API as well
    if authenticated is not None:
        return authenticated

    if not getattr(current_user, "is_authenticated", False):
        return None
    user: User = current_user._get_current_object()
    return user


def _actor(user: User | None) -> dict[str, str | None]:
    if user is None:
        return {"actor_id": None, "actor_username": None, "actor_role": None, "unit_id": None}
    return {"actor_id": user.id, "actor_username": user.username, "actor_role": user.role,
            "unit_id": user.unit_id}


def _request_context(public: bool) -> dict[str, str | None]:
    if not has_request_context():
        return {"request_id": None, "client_address": None}
    request_id = g.get("request_id")
    address = None if public else request.remote_addr
    return {
        "request_id": str(request_id)[:REQUEST_ID_LENGTH] if request_id else None,
        "client_address": address[:ADDRESS_LENGTH] if address else None,
    }


# --- validation: names only, so that values cannot slip in where names belong ------------------

def _name(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or not _NAME.match(value):
        raise AuditValueError(f"{what} must be a dotted lowercase name of at most {limit} characters")
    return value


def _object(object_type: str | None, object_id: str | None) -> dict[str, str | None]:
    if object_type is None:
        if object_id is not None:
            raise AuditValueError("object_id needs an object_type")
        return {"object_type": None, "object_id": None}
    _name(object_type, "object_type", OBJECT_TYPE_LENGTH)
    if object_id is not None and (
        not isinstance(object_id, str) or len(object_id) > OBJECT_ID_LENGTH
        or not _OBJECT_ID.match(object_id)
    ):
        raise AuditValueError(f"object_id must be an id of at most {OBJECT_ID_LENGTH} characters")
    return {"object_type": object_type, "object_id": object_id}


def _reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    if len(reason) > REASON_LENGTH:
        raise AuditValueError(f"reason is longer than {REASON_LENGTH} characters")
    return reason.strip()


def _fields(fields: Sequence[str]) -> str | None:
    if isinstance(fields, str):
        raise AuditValueError("fields must be a sequence of field names, not a string")
    names = {_name(field, "a field name", _FIELD_LENGTH) for field in fields}
    return ",".join(sorted(names)) or None


def _details(details: Mapping[str, DetailValue] | None) -> str | None:
    if not details:
        return None
    for key, value in details.items():
        _name(key, "a details key", _FIELD_LENGTH)
        if value is not None and not isinstance(value, str | int):  # bool is an int
            raise AuditValueError(f"details[{key!r}] must be a string, integer, boolean or None")
        if isinstance(value, str) and (len(value) > _DETAIL_VALUE_LENGTH or not value.isprintable()):
            raise AuditValueError(f"details[{key!r}] must be short printable text")
    return encode_details(details)


# --- checking ----------------------------------------------------------------------------------

def checkpoint_store() -> CheckpointStore:
    config = current_app.config
    instance = Path(current_app.instance_path)
    directory = Path(config.get("AUDIT_CHECKPOINT_DIR") or instance / "audit-checkpoints")
    key_path = Path(config.get("AUDIT_SIGNING_KEY_PATH") or instance / "audit-signing-key")
    settings = config.get("SENIM")
    production = bool(getattr(settings, "is_production", False))
    return CheckpointStore(directory, load_signing_key(key_path, create=not production))


def verify(start_sequence: int | None = None) -> VerifyResult:
    """Replay the chain from ``start_sequence`` (default: the first entry) to the head and check
    every checkpoint at or after it. Reads committed data on a connection of its own."""
    store = checkpoint_store()
    start = start_sequence or 1
    # Checkpoints are listed before the chain is read: one signed meanwhile could name an entry
    # appended after the read, which would look like a cut-off tail.
    checkpoints, problems = store.load(from_sequence=start)
    result = _replay(start, GENESIS_HASH if start == 1 else None, checkpoints, problems)
    return _against_the_tail_seen(result, store, checkpoints)


def _against_the_tail_seen(result: VerifyResult, store: CheckpointStore,
                           checkpoints: Sequence[Checkpoint]) -> VerifyResult:
    """Compare the head with what the last successful run saw after its newest checkpoint (a
    tail cut after that checkpoint), then remember this run's newest checkpoint and count."""
    if not result.ok:
        return result
    head = result.head_sequence
    seen = store.successors_seen()
    if seen is not None and head < seen[0] + seen[1]:
        expected = seen[0] + seen[1]
        return VerifyResult(
            ok=False, entries=result.entries, verified_from=result.verified_from,
            first_bad=head + 1,
            problem=f"the chain ends at entry {head} but entry {expected} was verified before, "
                    f"{seen[1]} entries after checkpoint {seen[0]} (entries cut off)")
    if checkpoints:
        newest = checkpoints[-1].sequence
        store.remember_verified(newest, max(head - newest, 0))
    return result


def verify_incremental() -> VerifyResult:
    """Verify from the last checkpoint that verified (or the first entry) to the head."""
    store = checkpoint_store()
    anchor = store.last_verified()
    checkpoints, problems = store.load(from_sequence=anchor or 0)
    if anchor is None or not any(checkpoint.sequence == anchor for checkpoint in checkpoints):
        return verify()
    # The anchor entry's own link is accepted: its signed hash pins it and everything before.
    result = _against_the_tail_seen(_replay(anchor, None, checkpoints, problems), store, checkpoints)
    if not result.ok:
        # Speed matters only while all is well; after tampering, name the earliest bad entry
        # (a cut may reach below the anchor, an edit may sit before it).
        return verify()
    return result


def write_checkpoint() -> Checkpoint | None:
    """Verify up to the head, then sign the head; ``None`` while the chain is empty."""
    result = verify_incremental()
    if not result.ok:
        raise AuditChainError(result)
    if result.head_hash is None:
        return None
    return sign_head(result)


def sign_head(result: VerifyResult) -> Checkpoint | None:
    """Sign the head a successful verification ended at (``senim audit verify`` does this, so
    every full check also pins the tail it saw); None for an empty chain."""
    if not result.ok or result.head_hash is None:
        return None
    store = checkpoint_store()
    checkpoint = store.write(result.head_sequence, result.head_hash, format_time(utcnow()))
    store.remember_verified(checkpoint.sequence, 0)
    return checkpoint


def _replay(start: int, prev_hash: str | None, checkpoints: Sequence[Checkpoint],
            problems: Sequence[CheckpointProblem]) -> VerifyResult:
    pinned = {checkpoint.sequence: checkpoint.hash for checkpoint in checkpoints}
    with db.engine.connect() as connection, _rows_from(connection, start) as rows:
        result = verify_rows(rows, start=start, prev_hash=prev_hash, checkpoints=pinned)
    return _with_problems(result, problems)


# The time column as its canonical text (chain.format_time), computed by the database: parsing
# and formatting a datetime per row in Python would cost a third of the verification.
# SQLite holds what SQLAlchemy stored, naive UTC as "YYYY-MM-DD HH:MM:SS.ffffff"; a value in
# any other shape can only come from tampering and yields a hash mismatch.
_CANONICAL_TIME_SQL: Final = {
    "postgresql": """to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')""",
    "sqlite": "replace(occurred_at, ' ', 'T') || '+00:00'",
}
_PLACEHOLDER: Final = {"postgresql": "%s", "sqlite": "?"}


@contextmanager
def _rows_from(connection: Connection, start: int) -> Iterator[Iterable[Sequence[Any]]]:
    """Rows from ``start`` on, in ``ROW_COLUMNS`` order, streamed in batches.

    On PostgreSQL and SQLite this reads through the driver's own cursor (a server-side one on
    PostgreSQL): SQLAlchemy's result rows would cost as much as the hashing. The SQL is built
    from constant column names only.
    """
    dialect = connection.dialect.name
    if dialect not in _CANONICAL_TIME_SQL:
        yield _rows_through_sqlalchemy(connection, start)
        return
    columns = ", ".join(_CANONICAL_TIME_SQL[dialect] if name == "occurred_at" else name
                        for name in ROW_COLUMNS)
    query = (f"SELECT {columns} FROM audit_entries "  # noqa: S608  (constants only)
             f"WHERE sequence >= {_PLACEHOLDER[dialect]} ORDER BY sequence")
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor(name="senim_audit_verify") if dialect == "postgresql" else driver.cursor()
    try:
        cursor.execute(query, (start,))
        yield itertools.chain.from_iterable(iter(partial(cursor.fetchmany, VERIFY_BATCH), []))
    finally:
        cursor.close()


def _rows_through_sqlalchemy(connection: Connection, start: int) -> Iterable[Sequence[Any]]:
    table = AuditEntry.__table__
    return connection.execute(
        select(*(table.c[name] for name in ROW_COLUMNS))
        .where(table.c.sequence >= start)
        .order_by(table.c.sequence)
        .execution_options(yield_per=VERIFY_BATCH)
    )


def _with_problems(result: VerifyResult, problems: Sequence[CheckpointProblem]) -> VerifyResult:
    """A checkpoint file that fails its own check makes the verification fail too: a forged
    file is tampering, even if the chain is intact."""
    if not problems:
        return result
    problem = problems[0]
    if not result.ok and (result.first_bad or 0) <= problem.sequence:
        return result
    return VerifyResult(ok=False, entries=result.entries, verified_from=result.verified_from,
                        first_bad=problem.sequence,
                        problem=f"checkpoint {problem.path.name}: {problem.problem}")
