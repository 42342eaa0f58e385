"""The pages of the reports upward: a report, the submissions of a period, exports."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from core import audit, permissions, reference, transactions
from core.access import note_denied
from core.clock import utcnow
from core.extensions import db
from core.i18n import current_language
from core.models import User
from referrals.reports import exports, indicators, page, submissions
from referrals.reports.indicators import BadPeriod, ReportPeriod
from referrals.reports.models import NATIONAL, NO_REGION, ExportJob
from referrals.supervision import display

bp = Blueprint("reports", __name__)
RECENT_MONTHS = 13
RECENT_YEARS = 3


def _render(template: str, **context: Any) -> str:
    return render_template(f"referrals/reports/{template}", code_label=display.code_label,
                           NATIONAL=NATIONAL, NO_REGION=NO_REGION, **context)


def _today() -> date:
    return utcnow().astimezone(current_app.config["SENIM"].tz).date()


def _period(default: ReportPeriod) -> ReportPeriod:
    text = request.values.get("period")
    if not text:
        return default
    try:
        return ReportPeriod.parse(text)
    except BadPeriod:
        abort(404)


def _scope(user: User) -> str | None:
    """The region asked for (None: the whole country); outside the reader's scope is 404."""
    asked = request.values.get("region") or user.region
    region = None if asked in (None, "", NATIONAL) else asked
    if region is not None and region not in reference.regions():
        abort(404)
    if not permissions.can_read_report(user, region):
        note_denied("report", region or NATIONAL)
        abort(404)
    return region


def period_choices(today: date) -> list[ReportPeriod]:
    latest = indicators.latest_closed_month(today)
    months, period = [], latest
    for _index in range(RECENT_MONTHS):
        months.append(period)
        period = period.previous()
    years = [ReportPeriod(today.year - offset) for offset in range(RECENT_YEARS)]
    return months + years


@bp.get("/reports")
def report() -> str:
    user: User = g.user
    today, tz = _today(), current_app.config["SENIM"].tz
    period = _period(indicators.latest_closed_month(today))
    region = _scope(user)
    built = indicators.build(region, period, utcnow(), tz)
    audit.record("report.viewed", object_type="report", object_id=region or NATIONAL,
                 details={"period": period.code})
    scope = region or NATIONAL
    status = next(row for row in submissions.statuses(period, today, tz) if row.scope == scope)
    return _render("report.html", report=built, charts=page.build_charts(built), compared=page.compared,
                   Compared=page.Compared, breach_rate=page.breach_rate, period=period,
                   choices=period_choices(today), regions=reference.regions(), user=user,
                   status=status, may_submit=permissions.can_submit_report(user, scope),
                   may_export=permissions.can_export(user, exports.KIND_REPORT),
                   period_over=period.is_over(today), today=today)


@bp.get("/reports/submissions")
def submission_list() -> str:
    user: User = g.user  # every supervisor sees who has submitted (no figures on this page)
    today, tz = _today(), current_app.config["SENIM"].tz
    period = _period(indicators.latest_closed_month(today))
    rows = submissions.statuses(period, today, tz)
    return _render("submissions.html", rows=rows, period=period, choices=period_choices(today),
                   today=today, user=user,
                   may_submit=lambda scope: permissions.can_submit_report(user, scope))


@bp.post("/reports/submit")
def submit() -> Response:
    user: User = g.user
    period = _period(indicators.latest_closed_month(_today()))
    scope = request.form.get("region") or NATIONAL
    if not permissions.can_submit_report(user, scope):
        note_denied("report", scope)
        abort(404)
    back = url_for("reports.report", region=scope, period=period.code)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm that the figures are ready to be sent."), "error")
        return redirect(back)
    try:
        submissions.submit(user, scope, period, utcnow(), current_app.config["SENIM"].tz)
    except submissions.SubmissionRefused as refused:
        db.session.rollback()
        flash(_("The period is not over yet.") if refused.problem == "not_over"
              else _("This report was already submitted."), "error")
        return redirect(back)
    flash(_("Report submitted. Its figures are kept as they stand now."), "success")
    return redirect(url_for("reports.submission_list", period=period.code))


# ---- exports -----------------------------------------------------------------------------------


@bp.post("/reports/export")
def export() -> Response:
    user: User = g.user
    period = _period(indicators.latest_closed_month(_today()))
    region = _scope(user)
    fmt = request.form.get("format", "")
    if fmt not in exports.FORMATS:
        abort(400)
    if not permissions.can_export(user, exports.KIND_REPORT):
        abort(404)
    job = exports.request_report_export(user, region, period, fmt, current_language())
    exports.start(job)
    return redirect(url_for("reports.export_page", export_id=job.id))


def _own_job(export_id: str) -> ExportJob:
    user: User = g.user
    job = db.session.get(ExportJob, export_id)
    if job is None or not permissions.can_download_export(user, job.requested_by):
        if job is not None:
            note_denied("export", job.id)
        abort(404)
    return job


@bp.get("/exports/<export_id>")
def export_page(export_id: str) -> str:
    job = _own_job(export_id)
    now = utcnow()
    if job.status == "done" and exports.expired(job, now):
        exports.expire(job)
        audit.record("export.expired", object_type="export", object_id=job.id, details={"count": 1})
    return _render("export.html", job=job, name=exports.download_name(job), now=now)


@bp.get("/exports")
def export_list() -> str:
    return _render("exports.html", jobs=exports.recent_jobs(g.user), now=utcnow())


@bp.get("/exports/<export_id>/download")
def download(export_id: str) -> Response | tuple[str, int]:
    job = _own_job(export_id)
    if exports.expired(job, utcnow()):
        if job.status != "expired":
            exports.expire(job)
            audit.record("export.expired", object_type="export", object_id=job.id,
                         details={"count": 1})
            # The answer (410) says what this request established: the file is deleted, so
            # the job must be recorded expired although the status is an error's.
            transactions.commit_despite_error_status()
        return _render("export.html", job=job, name=exports.download_name(job), now=utcnow()), 410
    path = exports.file_path(job)
    if path is None:
        abort(404)
    audit.record("export.downloaded", object_type="export", object_id=job.id,
                 details={"kind": job.kind, "format": job.format, "identities": job.identities})
    mimetype = "text/csv" if job.format == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return send_file(path, mimetype=mimetype, as_attachment=True,
                     download_name=exports.download_name(job), max_age=0)
