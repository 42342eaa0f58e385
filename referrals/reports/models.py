"""Reports upward (issue 11): the monthly pre-aggregates, the regions' submissions and exports.

``ReportCell`` holds one additive figure of one month and region (contacts by channel, a
histogram bucket of acknowledgement times...). A report over any period and set of regions is a
sum of cells, which keeps the annual report for the whole country cheap however many contacts
the years hold (``referrals/reports/aggregate.py`` explains how cells are refreshed).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import db
from core.models.base import IdMixin, UTCDateTime
from intake.models import JsonList

ALL_REGIONS = "*"  # cells of every region together (the country's report reads only these)
NO_REGION = "-"  # cells of records without a region (the key is part of the primary key)
NATIONAL = "KZ"  # the ministry's report to the Government, over every region


class ReportCell(db.Model):  # type: ignore[name-defined]
    __tablename__ = "report_cells"
    __table_args__ = (
        # The country's table of regions reads two metrics of every region: by metric first.
        Index("ix_report_cells_metric_month", "metric", "month", "region", "value"),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the month's first day (local)
    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ReportMonth(db.Model):  # type: ignore[name-defined]
    """When a month's cells were last computed (all regions at once)."""

    __tablename__ = "report_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportSubmission(IdMixin, db.Model):  # type: ignore[name-defined]
    """A region's report for a period, submitted upward once; the figures as they stood then
    are kept, so a later correction of the data never changes what was sent."""

    __tablename__ = "report_submissions"
    __table_args__ = (UniqueConstraint("region", "period"),)

    region: Mapped[str] = mapped_column(String(8))  # a region code, or NATIONAL
    period: Mapped[str] = mapped_column(String(7))  # "YYYY-MM" or "YYYY"
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    figures: Mapped[dict[str, Any]] = mapped_column(JsonList, default=dict)


EXPORT_QUEUED, EXPORT_RUNNING, EXPORT_DONE = "queued", "running", "done"
EXPORT_FAILED, EXPORT_EXPIRED = "failed", "expired"


class ExportJob(IdMixin, db.Model):  # type: ignore[name-defined]
    """One export: asked for by a user, run in the request (small) or by the job worker
    (large), downloadable until ``expires_at``, then its file is deleted."""

    __tablename__ = "export_jobs"

    kind: Mapped[str] = mapped_column(String(20))  # "report"
    format: Mapped[str] = mapped_column(String(8))  # "csv" or "xlsx"
    params: Mapped[dict[str, Any]] = mapped_column(JsonList, default=dict)
    identities: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=EXPORT_QUEUED, index=True)
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    steps_total: Mapped[int] = mapped_column(Integer, default=1)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    file_name: Mapped[str | None] = mapped_column(String(80))
    size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(40))

    @property
    def progress(self) -> int:
        """Per cent done (0-100)."""
        if self.status == EXPORT_DONE:
            return 100
        return min(99, int(100 * self.steps_done / max(1, self.steps_total)))

    @property
    def finished(self) -> bool:
        return self.status in (EXPORT_DONE, EXPORT_FAILED, EXPORT_EXPIRED)
