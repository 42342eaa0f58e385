"""Data-encryption keys, stored only wrapped by SENIM_MASTER_KEY (security.md §1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import db
from core.models.base import UTCDateTime

CURRENT, ACTIVE, RETIRED = "current", "active", "retired"


class DataKey(db.Model):  # type: ignore[name-defined]
    """One data key. ``current`` encrypts new values; ``active`` still decrypts old ones;
    ``retired`` keys have nothing left under them and may be destroyed (row deleted)."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(10), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KeyRotation(db.Model):  # type: ignore[name-defined]
    """A rotation run; ``progress`` (JSON: table -> last row id done) makes it resumable."""

    __tablename__ = "key_rotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    new_key_id: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress: Mapped[str] = mapped_column(Text, default="{}")
