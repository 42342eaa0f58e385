"""The directory of agency units: the concrete offices that receive referrals (routing.md §5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.models.base import IdMixin, UTCDateTime

AGENCIES = ("police", "education", "health", "commission")
#: Default working time of an office-hours unit (issue 14), in minutes after local midnight.
DEFAULT_WORK_START, DEFAULT_WORK_END = 9 * 60, 18 * 60


class AgencyUnit(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "agency_units"
    __table_args__ = (
        CheckConstraint("work_start_minute >= 0 AND work_start_minute < work_end_minute "
                        "AND work_end_minute <= 1440", name="working_hours"),
    )

    agency: Mapped[str] = mapped_column(String(40), index=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(8), index=True)
    district: Mapped[str | None] = mapped_column(String(40), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Working time on working days, local: what an office-hours service's P1/P2 clocks count.
    work_start_minute: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_WORK_START, server_default=text(str(DEFAULT_WORK_START)))
    work_end_minute: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_WORK_END, server_default=text(str(DEFAULT_WORK_END)))

    service_rows: Mapped[list[UnitService]] = relationship(
        back_populates="unit", cascade="all, delete-orphan", lazy="selectin",
        order_by="UnitService.service",
    )

    @property
    def services(self) -> list[str]:
        return [row.service for row in self.service_rows]

    @services.setter
    def services(self, codes: list[str]) -> None:
        wanted = list(dict.fromkeys(codes))
        self.service_rows = [
            next((r for r in self.service_rows if r.service == code), UnitService(service=code))
            for code in wanted
        ]

    def name(self, lang: str) -> str:
        return {"kk": self.name_kk, "ru": self.name_ru}.get(lang, self.name_en)

    def __repr__(self) -> str:
        return f"<AgencyUnit {self.agency} {self.district or self.region}>"


class UnitService(db.Model):  # type: ignore[name-defined]
    """A service code a unit offers. Service codes belong to the routing algorithm's data."""

    __tablename__ = "agency_unit_services"
    __table_args__ = (UniqueConstraint("unit_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("agency_units.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(80), index=True)

    unit: Mapped[AgencyUnit] = relationship(back_populates="service_rows")
