"""Legal holds (issue 11 item 6): a case under hold is never anonymised by retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.encryption import EncryptedText
from core.extensions import db
from core.models.base import IdMixin, UTCDateTime


class LegalHold(IdMixin, db.Model):  # type: ignore[name-defined]
    """Set and lifted by a supervisor, each with a reason (free text: encrypted). A lifted hold
    stays as history; at most one hold per case is active."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        Index("uq_legal_holds_one_active", "case_id", unique=True,
              sqlite_where=text("lifted_at IS NULL"), postgresql_where=text("lifted_at IS NULL")),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    reason = EncryptedText()
    set_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lifted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lift_reason = EncryptedText()

    @property
    def active(self) -> bool:
        return self.lifted_at is None
