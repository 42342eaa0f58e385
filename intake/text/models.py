"""The anonymous school channel: schools and their QR tokens, text reports and their threads.

A report carries no network identity (no address, no user agent) and no account. The child
holds a follow-up code; only its hash is stored (``intake.text.codes``). Everything the child or
an operator writes is ``EncryptedText``; what a queue needs (times, status, risk codes, region and
district copied from the school) stays in clear so that it can be sorted in SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.encryption import EncryptedText
from core.extensions import db
from core.models.base import IdMixin, UTCDateTime
from intake.models import JsonList

# A report is waiting for the helpline (``open``: new, or the child wrote last), answered
# (the helpline wrote last; the thread stays open) or closed by an operator.
OPEN, ANSWERED, CLOSED = "open", "answered", "closed"
STATUSES = (OPEN, ANSWERED, CLOSED)
CHILD, HELPLINE = "child", "helpline"
SAFE_ANSWERS = ("yes", "no", "unsure")


class School(IdMixin, db.Model):  # type: ignore[name-defined]
    """A school or college. Its name is public information, not personal data."""

    __tablename__ = "schools"
    __table_args__ = (Index("ix_schools_region_district", "region", "district"),)

    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    region: Mapped[str] = mapped_column(String(8))
    district: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tokens: Mapped[list[SchoolToken]] = relationship(back_populates="school",
                                                     order_by="SchoolToken.created_at")

    def name(self, lang: str) -> str:
        return self.name_ru if lang == "ru" else self.name_kk

    @property
    def current_token(self) -> SchoolToken | None:
        return next((t for t in reversed(self.tokens) if t.retired_at is None), None)


class SchoolToken(db.Model):  # type: ignore[name-defined]
    """The opaque token printed in a poster's QR code. Rotating a school's token retires the
    old one: its posters then show a "this code has been replaced" page."""

    __tablename__ = "school_tokens"

    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    school: Mapped[School] = relationship(back_populates="tokens")


class TextReport(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "text_reports"
    __table_args__ = (
        Index("ix_text_reports_queue", "status", "urgent", "waiting_since"),
        Index("ix_text_reports_status_created", "status", "created_at"),
    )

    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), index=True)
    # Copied from the school when the report arrives: where it is routed, even if the school
    # moves or its token is rotated later.
    region: Mapped[str] = mapped_column(String(8), index=True)
    district: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(2))
    age: Mapped[int | None] = mapped_column(Integer)
    safe_now: Mapped[str | None] = mapped_column(String(8))
    contact_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_how = EncryptedText()  # how the child agreed to be contacted: personal
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    risk: Mapped[list[str]] = mapped_column(JsonList, default=list)  # risk codes found
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    # The public API's Idempotency-Key: a replay within the window gets the same code back,
    # kept encrypted beside the key until the window ends (then both are forgotten).
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    replay_code = EncryptedText()
    replay_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    school: Mapped[School] = relationship(lazy="joined")
    messages: Mapped[list[TextMessage]] = relationship(
        back_populates="report", order_by=lambda: [TextMessage.at, TextMessage.id],
        cascade="all, delete-orphan")


class TextMessage(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "text_messages"

    report_id: Mapped[str] = mapped_column(ForeignKey("text_reports.id"), index=True)
    sender: Mapped[str] = mapped_column(String(10))  # child | helpline
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text = EncryptedText()
    risk: Mapped[list[str]] = mapped_column(JsonList, default=list)

    report: Mapped[TextReport] = relationship(back_populates="messages")
