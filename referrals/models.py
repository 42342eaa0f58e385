"""Routing data that administrators change: published algorithm versions and decree days off."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import db
from core.models.base import IdMixin, UTCDateTime

DAY_OFF_KINDS = ("transfer", "holiday")
WORKING_DAY = "working_day"  # a Saturday or Sunday that a transfer decree made a working day
CALENDAR_KINDS = (*DAY_OFF_KINDS, WORKING_DAY)


class AlgorithmVersion(IdMixin, db.Model):  # type: ignore[name-defined]
    """One published algorithm document. Rows are never deleted: a decision stores its
    version string, and that version must stay readable to explain the decision."""

    __tablename__ = "algorithm_versions"
    __table_args__ = (
        # At most one current version, even if two administrators publish at once.
        Index("uq_algorithm_versions_one_current", "is_current", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
    )

    version: Mapped[str] = mapped_column(String(40), unique=True)
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the document
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(1000))
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<AlgorithmVersion {self.version}{' current' if self.is_current else ''}>"


class CalendarDayOff(IdMixin, db.Model):  # type: ignore[name-defined]
    """A day an administrator added on top of the CSV: a weekday off (a decree transfer or a
    holiday), or a working Saturday (kind ``working_day``: a transfer decree's other half)."""

    __tablename__ = "calendar_days_off"
    __table_args__ = (
        CheckConstraint("kind IN ('transfer', 'holiday', 'working_day')", name="kind"),
    )

    date: Mapped[dt.date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<CalendarDayOff {self.date.isoformat()} {self.kind}>"
