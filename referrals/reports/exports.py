"""Exports of the reports upward (issue 11 item 4): CSV and XLSX, audited, expiring.

An export is an ``ExportJob`` row. A small one (one region, one month) runs in the request; a
large one (a year, or the whole country) is handed to the job queue (``jobs.dispatch``) and
the requester watches its progress on the job's page. The file lives in the instance folder's
``exports/`` until ``expires_at`` (``SENIM_EXPORT_EXPIRY_HOURS``); then ``senim exports sweep``
(cron) or the next attempt to download it deletes it.

Every export is on the audit trail: requested, finished, downloaded, expired. What goes into a
file is decided by the policy (``core.permissions.export_includes_identities``): the report
exports hold aggregates only, codes and counts, never a name, a phone or a case number.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core import audit, permissions, reference, transactions
from core.clock import utcnow
from core.extensions import db
from core.i18n import current_language
from core.models import User
from intake.labels import label
from referrals.reports import aggregate, indicators, jobs
from referrals.reports.indicators import ReportPeriod
from referrals.reports.models import (
    EXPORT_DONE,
    EXPORT_EXPIRED,
    EXPORT_FAILED,
    EXPORT_QUEUED,
    EXPORT_RUNNING,
    NATIONAL,
    NO_REGION,
    ExportJob,
)

log = logging.getLogger(__name__)
FORMATS: Final = ("csv", "xlsx")
KIND_REPORT: Final = "report"
SWEEP_BATCH: Final = 500


class ExportRefused(Exception):
    pass


def export_dir() -> Path:
    path = Path(current_app.instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_large(region: str | None, period: ReportPeriod) -> bool:
    """A year, or the whole country: run by the job queue, not in the request."""
    return region is None or period.annual


def request_report_export(user: User, region: str | None, period: ReportPeriod, fmt: str,
                          language: str) -> ExportJob:
    """Create the job (audited); the caller then ``start``s it, which waits for the commit."""
    if fmt not in FORMATS or not permissions.can_export(user, KIND_REPORT) \
            or not permissions.can_read_report(user, region):
        raise ExportRefused(fmt)
    identities = permissions.export_includes_identities(user, KIND_REPORT)
    job = ExportJob(kind=KIND_REPORT, format=fmt, requested_by=user.id, requested_at=utcnow(),
                    identities=identities, status=EXPORT_QUEUED,
                    params={"region": region, "period": period.code, "language": language},
                    steps_total=len(indicators.months_to_compute(period)) + 2)
    db.session.add(job)
    db.session.flush()
    audit.record("export.requested", object_type="export", object_id=job.id,
                 details={"kind": KIND_REPORT, "format": fmt, "region": region or NATIONAL,
                          "period": period.code, "identities": identities,
                          "background": is_large(region, period)})
    return job


def start(job: ExportJob) -> None:
    """Run the export once the request has committed its job row (``transactions.after_commit``):
    a worker on another connection, or ``run`` itself with its progress commits, must find it."""
    region, period = job.params.get("region"), ReportPeriod.parse(job.params["period"])
    export_id = job.id
    if is_large(region, period):
        transactions.after_commit(lambda: jobs.dispatch(run, export_id))
    else:
        transactions.after_commit(lambda: run(export_id))


def run(export_id: str) -> None:
    """The job: do the export, committing progress after each step (the job's page reads it,
    from another request, while the job runs; an interruption keeps what was done)."""
    job = db.session.get(ExportJob, export_id)
    if job is None or job.status not in (EXPORT_QUEUED, EXPORT_RUNNING):
        return
    job.status = EXPORT_RUNNING
    db.session.commit()
    try:
        _run(job)
    except Exception:
        db.session.rollback()
        job = db.session.get(ExportJob, export_id)
        if job is not None:
            job.status, job.error = EXPORT_FAILED, "internal"
            audit.record("export.failed", object_type="export", object_id=job.id, actor=None)
            db.session.commit()
        raise


def _run(job: ExportJob) -> None:
    config = current_app.config["SENIM"]
    tz = config.tz
    region, period = job.params.get("region"), ReportPeriod.parse(job.params["period"])
    for month in indicators.months_to_compute(period):
        now = utcnow()
        if month in aggregate.stale_months([month], now, tz):
            aggregate.compute_month(month, now, tz)
        job.steps_done += 1
        db.session.commit()
    report = indicators.build(region, period, utcnow(), tz, ensure=False)
    job.steps_done += 1
    db.session.commit()
    # The requester's language, also in a worker, where there is no request to take it from.
    with force_locale(job.params.get("language") or "kk"):
        rows = list(report_rows(report))
        content = to_csv(rows) if job.format == "csv" else to_xlsx(rows, report)
    name = f"{job.id}.{job.format}"
    path = export_dir() / name
    path.write_bytes(content)
    finished = utcnow()
    job.steps_done = job.steps_total
    job.status, job.file_name, job.size = EXPORT_DONE, name, path.stat().st_size
    job.finished_at = finished
    job.expires_at = finished + timedelta(hours=config.retention.export_hours)
    requester = db.session.get(User, job.requested_by)
    audit.record("export.completed", object_type="export", object_id=job.id, actor=requester,
                 details={"kind": job.kind, "format": job.format, "rows": len(rows),
                          "identities": job.identities})
    db.session.commit()


# ---- the table ---------------------------------------------------------------------------------

Row = tuple[str, str, str, int | float | None, int | float | None]


def report_rows(report: indicators.Report) -> Iterator[Row]:
    """(section, code, label, this period, previous period), in the report's order; times in
    hours. Aggregates only: codes and counts."""
    now, before = report.current, report.previous
    yield "contacts", "total", _("Contacts"), now.contacts, before.contacts
    yield "contacts", "repeat", _("Repeat contacts"), now.repeat_contacts, before.repeat_contacts
    for section, kind, mine, theirs in (("channel", "channel", now.channels, before.channels),
                                        ("type", "contact_type", now.types, before.types),
                                        ("category", "category_group", now.categories, before.categories)):
        for code in sorted(set(mine) | set(theirs)):
            yield section, code, label(kind, code), mine.get(code, 0), theirs.get(code, 0)
    for agency in sorted(set(now.referrals) | set(before.referrals)):
        yield ("referrals", agency, label("agency", agency), now.referrals.get(agency, 0),
               before.referrals.get(agency, 0))
    pairs: tuple[tuple[str, dict[tuple[str, str], int], dict[tuple[str, str], int], str], ...] = (
        ("service", now.services, before.services, "service"),
        ("outcome", now.outcomes, before.outcomes, "outcome"))
    for section, ours, earlier, kind in pairs:
        for agency, code in sorted(set(ours) | set(earlier)):
            yield (section, f"{agency}|{code}", f"{label('agency', agency)}: {label(kind, code)}",
                   ours.get((agency, code), 0), earlier.get((agency, code), 0))
    for agency in sorted(set(now.breaches) | set(before.breaches)):
        for name in aggregate.BREACH_COUNTS:
            yield ("deadlines", f"{agency}|{name}",
                   f"{label('agency', agency)}: {breach_label(name)}",
                   now.breaches.get(agency, {}).get(name, 0), before.breaches.get(agency, {}).get(name, 0))
    for agency in sorted(set(now.timing) | set(before.timing)):
        for measure in ("acknowledge_p50", "acknowledge_p90", "complete_p50", "complete_p90"):
            yield ("timing_hours", f"{agency}|{measure}",
                   f"{label('agency', agency)}: {timing_label(measure)}",
                   _hours(getattr(now.timing.get(agency), measure, None)),
                   _hours(getattr(before.timing.get(agency), measure, None)))
    for row in report.regions:
        name = reference.place_name(row.region, _current_lang()) if row.region != NO_REGION \
            else _("no region")
        yield "region_contacts", row.region, name, row.contacts, row.previous_contacts
        yield "region_referrals", row.region, name, row.referrals, row.previous_referrals


def _current_lang() -> str:
    return current_language()


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def breach_label(name: str) -> str:
    return {"ack_due": _("acknowledgement deadlines due"),
            "ack_breached": _("acknowledgement deadlines missed"),
            "action_due": _("action deadlines due"),
            "action_breached": _("action deadlines missed")}[name]


def timing_label(measure: str) -> str:
    return {"acknowledge_p50": _("time to acknowledge, median"),
            "acknowledge_p90": _("time to acknowledge, 90th percentile"),
            "complete_p50": _("time to complete, median"),
            "complete_p90": _("time to complete, 90th percentile")}[measure]


def _header() -> list[str]:
    return [_("Section"), _("Code"), _("Indicator"), _("This period"), _("Previous period")]


def to_csv(rows: list[Row]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_header())
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    # UTF-8 with a byte-order mark: spreadsheet programs then read Cyrillic correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written as text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def to_xlsx(rows: list[Row], report: indicators.Report) -> bytes:
    # openpyxl is loaded only when a spreadsheet is asked for (it takes a while to import)
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet: Any = book.active
    sheet.title = report.period.code
    sheet.append([_("Report"), report.scope_code, report.period.code])
    sheet.append([_("Previous period"), report.period.previous().code])
    sheet.append([])
    sheet.append(_header())
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(value) for value in row])
    for column, width in zip("ABCDE", (14, 28, 60, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ---- download and expiry -----------------------------------------------------------------------


def expired(job: ExportJob, now: datetime) -> bool:
    return job.status == EXPORT_EXPIRED or (job.expires_at is not None and job.expires_at <= now)


def expire(job: ExportJob) -> None:
    """Delete the file and mark the job (the caller audits and commits)."""
    if job.file_name:
        (export_dir() / job.file_name).unlink(missing_ok=True)
    job.status, job.file_name = EXPORT_EXPIRED, None


def sweep(now: datetime) -> int:
    """Expire every finished export past its time; one audit entry per batch."""
    total = 0
    while True:
        batch = list(db.session.scalars(
            select(ExportJob).where(ExportJob.status == EXPORT_DONE, ExportJob.expires_at <= now)
            .order_by(ExportJob.expires_at).limit(SWEEP_BATCH)))
        if not batch:
            return total
        for job in batch:
            expire(job)
        total += len(batch)
        audit.record("export.expired", object_type="export", details={"count": len(batch)})
        db.session.commit()


def file_path(job: ExportJob) -> Path | None:
    if job.status != EXPORT_DONE or not job.file_name:
        return None
    path = export_dir() / job.file_name
    return path if path.exists() else None


def download_name(job: ExportJob) -> str:
    scope = job.params.get("region") or NATIONAL
    return f"senim-report-{scope}-{job.params.get('period')}.{job.format}"


def recent_jobs(user: User, limit: int = 20) -> list[ExportJob]:
    return list(db.session.scalars(
        select(ExportJob).where(ExportJob.requested_by == user.id)
        .order_by(ExportJob.requested_at.desc()).limit(limit)))
