"""The helpline's pages for anonymous text reports: the queue (triage order, waiting times),
one report's thread with claim, reply and close, and the school directory with its posters."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from core import audit, permissions
from core.clock import utcnow
from core.extensions import db
from core.models import User
from intake.text import posters, service
from intake.text.models import OPEN, STATUSES, School, TextReport
from intake.text.schools import report_url, rotate_token
from intake.text.service import ClaimedByOther, ReportInvalid, ThreadClosed

bp = Blueprint("text_reports", __name__)
PAGE_SIZE = 50


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


@bp.get("/text-reports")
def queue() -> str:
    user: User = g.user
    wanted = request.args.get("status") or OPEN
    status = wanted if wanted in STATUSES else OPEN
    page = _page()
    query = service.queue_query(user, status)
    order = [c.desc() if desc else c.asc() for c, desc in service.queue_keys(status)]
    rows = list(db.session.scalars(query.order_by(*order).offset((page - 1) * PAGE_SIZE)
                                   .limit(PAGE_SIZE + 1)))
    now = utcnow()
    users = _names({r.claimed_by for r in rows if service.claim_holder(r, now)})
    return render_template("intake/text/queue.html", rows=rows[:PAGE_SIZE], status=status,
                           page=page, has_next=len(rows) > PAGE_SIZE, now=now,
                           counts=service.queue_counts(user, now), users=users,
                           waiting=service.waiting_seconds, holder=service.claim_holder)


def _names(ids: set[str | None]) -> dict[str, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {str(user_id): str(name) for user_id, name in rows}


def _report_or_404(report_id: str) -> TextReport:
    report = service.visible_report(report_id, g.user)
    if report is None:
        abort(404)
    return report


@bp.get("/text-reports/<report_id>")
def report_page(report_id: str) -> str:
    report = _report_or_404(report_id)
    now = utcnow()
    with audit.reading("text_report.viewed", "text_report", report.id):
        holder = service.claim_holder(report, now)
        html = render_template(
            "intake/text/report.html", report=report, now=now, holder=holder,
            holder_name=_names({holder}).get(holder or "", ""), mine=holder == g.user.id,
            waiting=service.waiting_seconds(report, now), can_convert=report.contact_id is None,
            authors=_names({m.author_id for m in report.messages}))
    return html


def _back(report: TextReport) -> Response:
    return redirect(url_for("text_reports.report_page", report_id=report.id))


def _refusal(error: Exception) -> str:
    if isinstance(error, ClaimedByOther):
        return _("Another operator is already answering this report.")
    if isinstance(error, ThreadClosed):
        return _("This report is closed.")
    return _("Write the answer first (at most 5,000 characters).")


def _attempt(act: Callable[[], object]) -> bool:
    """Run one of the service's actions (the request commits it); a refusal (claimed by another
    operator, closed, an empty answer) is rolled back and said. True when it went through."""
    try:
        act()
    except (ClaimedByOther, ThreadClosed, ReportInvalid) as refused:
        db.session.rollback()  # the page redirects (302): the refused part must not commit
        flash(_refusal(refused), "error")
        return False
    return True


@bp.post("/text-reports/<report_id>/claim")
def claim(report_id: str) -> Response:
    report = _report_or_404(report_id)
    _attempt(lambda: service.claim(report, g.user, utcnow()))
    return _back(report)


@bp.post("/text-reports/<report_id>/release")
def release(report_id: str) -> Response:
    report = _report_or_404(report_id)
    service.release(report, g.user, utcnow())
    return redirect(url_for("text_reports.queue"))


@bp.post("/text-reports/<report_id>/reply")
def reply(report_id: str) -> Response:
    report = _report_or_404(report_id)
    if _attempt(lambda: service.reply(report, g.user, request.form.get("text"), utcnow())):
        flash(_("The answer is sent. The child reads it with their code."), "info")
    return _back(report)


@bp.route("/text-reports/<report_id>/close", methods=["GET", "POST"])
def close(report_id: str) -> Response | str:
    report = _report_or_404(report_id)
    if request.method == "GET":
        return render_template("intake/text/confirm_close.html", report=report)
    if not _attempt(lambda: service.close(report, g.user, utcnow())):
        return _back(report)
    flash(_("The conversation is closed. The child sees it closed, with the numbers to call."), "info")
    return redirect(url_for("text_reports.queue"))


# ---- schools -----------------------------------------------------------------------------------


def _require_school_manager() -> None:
    if not permissions.can_manage_schools(g.user):
        abort(403)


@bp.get("/schools")
def schools() -> str:
    _require_school_manager()
    page = _page()
    query = select(School).order_by(School.region, School.district, School.name_kk, School.id)
    rows = list(db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    total = db.session.scalar(select(func.count()).select_from(School))
    return render_template("intake/text/schools.html", rows=rows[:PAGE_SIZE], page=page,
                           has_next=len(rows) > PAGE_SIZE, total=total, report_url=report_url)


def _school_or_404(school_id: str) -> School:
    _require_school_manager()
    school = db.session.get(School, school_id)
    if school is None:
        abort(404)
    return school


@bp.get("/schools/<school_id>/poster.<fmt>")
def poster(school_id: str, fmt: str) -> Response:
    school = _school_or_404(school_id)
    wanted = request.args.get("lang") or "kk"
    lang = wanted if wanted in posters.POSTER_LANGUAGES else "kk"
    if fmt not in ("pdf", "png"):
        abort(404)
    token = school.current_token
    if token is None:
        abort(404)
    data = posters.poster_pdf(school, token.token, lang) if fmt == "pdf" else \
        posters.poster_png(school, token.token, lang)
    audit.record("school.poster", object_type="school", object_id=school.id,
                 details={"format": fmt, "lang": lang})
    response = Response(data, mimetype="application/pdf" if fmt == "pdf" else "image/png")
    response.headers["Content-Disposition"] = f'attachment; filename="poster-{lang}.{fmt}"'
    return response


@bp.route("/schools/<school_id>/rotate", methods=["GET", "POST"])
def rotate(school_id: str) -> Response | str:
    school = _school_or_404(school_id)
    if request.method == "GET":
        return render_template("intake/text/confirm_rotate.html", school=school)
    rotate_token(school, utcnow(), g.user)
    flash(_("The school has a new code. Print its new posters: the old ones now say that "
            "their code was replaced."), "info")
    return redirect(url_for("text_reports.schools"))
