"""The sign-offs of the monthly reconciliation act (WKO plan item 30)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.models import User
from core.models.base import IdMixin, UTCDateTime
from intake.models import JsonList


class ReconciliationSignoff(IdMixin, db.Model):  # type: ignore[name-defined]
    """One agency's signature on one region's act for one month.

    ``snapshot`` is the act as signed (case ids, codes, statuses: no personal data) and
    ``digest`` its SHA-256, so a later change to a signed month shows as an amendment instead of
    silently rewriting what was signed. The unique constraint makes "once per agency" hold even
    when two heads of the same agency press the button at once."""

    __tablename__ = "reconciliation_signoffs"
    __table_args__ = (UniqueConstraint("region", "month", "agency"),)

    region: Mapped[str] = mapped_column(String(8))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    agency: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[str] = mapped_column(ForeignKey("agency_units.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    digest: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonList)

    user: Mapped[User] = relationship(lazy="joined")
