"""Staff accounts. The public has none (the school channel is anonymous)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.encryption import EncryptedText
from core.extensions import db
from core.models.base import IdMixin, UTCDateTime
from core.models.directory import AgencyUnit
from core.roles import UNIT_ROLES, Role


class User(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("agency_units.id"), index=True)
    # Helpline staff may be limited to one region; None means the whole helpline.
    region: Mapped[str | None] = mapped_column(String(8))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(5))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped whenever every session must end (password change, disabling, 2FA reset).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The TOTP seed is a secret like any personal field: encrypted, bound to this row.
    totp_secret = EncryptedText()
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last 30-second step a code was accepted for: older or equal steps are replays.
    last_totp_step: Mapped[int | None] = mapped_column(Integer)

    unit: Mapped[AgencyUnit | None] = relationship(lazy="joined")

    # Flask-Login protocol. The id carries the epoch so that old sessions stop matching.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch}"

    def end_all_sessions(self) -> None:
        self.session_epoch += 1

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def agency(self) -> str | None:
        return self.unit.agency if self.unit and self.role_enum in UNIT_ROLES else None

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
