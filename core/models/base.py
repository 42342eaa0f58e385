"""Column types and mixins shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from core.ids import new_id


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite forgets the offset; this restores it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: use aware UTC datetimes")
        converted = value.astimezone(UTC)
        return converted.replace(tzinfo=None) if dialect.name == "sqlite" else converted

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class IdMixin:
    """A UUIDv7 primary key assigned in Python at construction (see core/ids.py)."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)

    def __init__(self, **kwargs: Any) -> None:
        # The id first: encrypted attributes among the kwargs bind their ciphertext to it.
        self.id = kwargs.pop("id", None) or new_id()
        super().__init__(**kwargs)
