"""The audit trail's table (security.md §3): one row per audited event, hash-chained.

Rows are written only by :func:`core.audit.record` and never changed afterwards. There is no
update path in code: the mapper refuses to flush an UPDATE or DELETE of an entry, and on
PostgreSQL a trigger (migration ``a0d1audit001``) and the application role's privileges refuse
them in the database as well.

The primary key is the chain position itself: a unique ``sequence`` means two concurrent
appends can never both claim the same position, so even a bug in the serialisation could only
make an append fail, never fork the chain.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from core.extensions import db
from core.models.base import UTCDateTime

# Column widths, shared with the validation in core/audit/__init__.py.
ACTION_LENGTH = 64
OBJECT_TYPE_LENGTH = 40
OBJECT_ID_LENGTH = 64
REASON_LENGTH = 1000
REQUEST_ID_LENGTH = 32
ADDRESS_LENGTH = 45  # the longest textual IPv6 address (with an embedded IPv4 part)


class AuditImmutableError(RuntimeError):
    """Something tried to change or delete an audit entry."""


class AuditEntry(db.Model):  # type: ignore[name-defined]
    __tablename__ = "audit_entries"
    __table_args__ = (
        # "What happened to this case/contact/referral": the supervisor pages' main question.
        Index("ix_audit_entries_object", "object_type", "object_id"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The actor is copied, not referenced: the trail must outlive renamed or removed accounts,
    # and a foreign key would let a change elsewhere reach into the audit table.
    actor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    actor_username: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    unit_id: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(ACTION_LENGTH), index=True)
    object_type: Mapped[str | None] = mapped_column(String(OBJECT_TYPE_LENGTH))
    object_id: Mapped[str | None] = mapped_column(String(OBJECT_ID_LENGTH))
    reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    # Names of the fields involved (e.g. decrypted for a view), comma-separated, sorted; never
    # their values. Kept as text so that the hash covers exactly the stored string.
    fields: Mapped[str | None] = mapped_column(Text)
    # Small non-personal values (codes, counts, ids) as canonical JSON text, for the same reason.
    details: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_LENGTH))
    client_address: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def field_names(self) -> list[str]:
        return self.fields.split(",") if self.fields else []

    @property
    def details_map(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.details) if self.details else {}
        return loaded

    def __repr__(self) -> str:
        return f"<AuditEntry {self.sequence} {self.action}>"


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(mapper: Mapper[Any], connection: Any, target: AuditEntry) -> None:
    # A modified or deleted entry in the session would otherwise be flushed as an UPDATE or
    # DELETE; failing here keeps SQLite (which has no trigger) as strict as PostgreSQL.
    raise AuditImmutableError(f"audit entry {target.sequence} is append-only")
