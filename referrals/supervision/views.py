"""The supervisor's pages (issue 8): the dashboard, the routing audit of a case and across
cases, a case's access log, and break-the-glass."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from core import audit, permissions
from core.access import note_denied
from core.audit.models import AuditEntry
from core.clock import utcnow
from core.extensions import db
from core.models import User
from core.models.break_glass import (
    GRANT_DURATION,
    REASON_MAX_LENGTH,
    REASON_MIN_LENGTH,
    active_grants,
    grants_for,
)
from core.templating import localtime
from intake import queries
from intake.models import Case
from intake.views import visible_case_or_404
from referrals.supervision import access_log as access
from referrals.supervision import dashboard as board
from referrals.supervision import display, stats
from referrals.supervision.break_glass import BreakGlassRefused, open_grant
from referrals.supervision.routing_audit import changed_by_hand
from referrals.supervision.routing_audit import routing_audit as build_audit

bp = Blueprint("supervision", __name__)
FILTER_PAGE_SIZE = 50


def _render(template: str, **context: Any) -> str:
    """A page of this package, labelling codes with one look-up of the algorithm per request."""
    return render_template(f"referrals/supervision/{template}", code_label=display.code_label,
                           version_label=display.version_label,
                           is_current_version=display.is_current_version, **context)


# ---- the dashboard -----------------------------------------------------------------------------


def supervisor_home(user: User) -> str:
    """`/` for supervisors (registered through ``core.views.register_home``)."""
    tz = current_app.config["SENIM"].tz
    now = utcnow()
    choice = board.choose_period(request.args, now.astimezone(tz).date(), tz)
    return _render("dashboard.html", user=user, now=now,
                   today=now.astimezone(tz).date(), choice=choice,
                   board=board.build(stats.Scope.of(user), choice, now))


@bp.get("/supervision")
def dashboard() -> str:
    return supervisor_home(g.user)


# ---- the routing audit across cases ------------------------------------------------------------


@bp.get("/supervision/routing")
def routing() -> str:
    user: User = g.user
    now = utcnow()
    kind = request.args.get("filter", "overridden")
    if kind not in stats.ROUTING_FILTERS:
        abort(404)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = stats.filtered_cases(queries.case_scope(user), kind, now)
    if request.args.get("status") in ("open", "closed"):
        query = query.where(Case.status == request.args["status"])
    rows = list(db.session.scalars(query.order_by(Case.opened_at.desc(), Case.id.desc())
                                   .offset((page - 1) * FILTER_PAGE_SIZE).limit(FILTER_PAGE_SIZE + 1)))
    cases = rows[:FILTER_PAGE_SIZE]
    return _render("routing.html", kind=kind, kinds=stats.ROUTING_FILTERS,
                   cases=cases, referrals=stats.referrals_of([c.id for c in cases]),
                   page=page, has_next=len(rows) > FILTER_PAGE_SIZE,
                   status=request.args.get("status", ""), now=now)


# ---- one case ----------------------------------------------------------------------------------


@bp.get("/cases/<case_id>/routing-audit")
def routing_audit(case_id: str) -> str:
    user: User = g.user
    case = visible_case_or_404(case_id, user)
    with audit.reading("case.routing_audit_viewed", "case", case.id):
        audit_view = build_audit(case, utcnow())
        html = _render("routing_audit.html", case=case, audit=audit_view,
                       changes=changed_by_hand(audit_view.decisions))
    return html


@bp.get("/cases/<case_id>/access-log")
def access_log(case_id: str) -> str:
    user: User = g.user
    case, now = db.session.get(Case, case_id), utcnow()
    grants = grants_for(user, case, now) if case is not None else ()
    if case is None:
        abort(404)
    if not permissions.can_read_access_log(user, case, grants, now):
        note_denied("case", case.id)
        abort(404)
    with audit.reading("case.access_log_viewed", "case", case.id):
        log = access.access_log(case, before=request.args.get("before", type=int))
        html = _render("access_log.html", case=case, log=log,
                       show_case_link=permissions.can_view_case(user, case, grants, now))
    return html


# ---- break-the-glass ---------------------------------------------------------------------------


@bp.route("/cases/<case_id>/break-glass", methods=["GET", "POST"])
def break_glass(case_id: str) -> Response | tuple[str, int]:
    user: User = g.user
    case, now = db.session.get(Case, case_id), utcnow()
    if case is None or not permissions.can_break_glass(user):
        abort(404)
    if _may_already_view(user, case, now):
        return redirect(url_for("intake.case_page", case_id=case.id))
    reason = request.form.get("reason", "") if request.method == "POST" else ""
    if request.method == "GET":
        # the form tells that the case exists and where: on record, like any look at a case
        audit.record("btg.form_viewed", object_type="case", object_id=case.id)
        return _break_glass_form(case, reason, None, 200)
    try:
        grant = open_grant(user, case, reason, now)
    except BreakGlassRefused as refused:
        db.session.rollback()
        return _break_glass_form(case, reason, _reason_error(refused.problem), 422)
    # "The access is logged before anything is decrypted" (security.md §2) still holds without a
    # commit here: this request decrypts nothing (the message names the case by its number, in
    # clear), and the case is read only by the request the redirect leads to, which comes after
    # this one has committed the grant and its entry at its end. Were that commit to fail, the
    # answer is a 500 instead of the redirect, and no grant exists to read the case with.
    flash(_("You may read case %(number)s until %(until)s. The opening is recorded and the other "
            "supervisors see it.", number=case.number, until=localtime(grant.expires_at)), "warning")
    return redirect(url_for("intake.case_page", case_id=case.id))


def _may_already_view(user: User, case: Case, now: datetime) -> bool:
    if not permissions.needs_break_glass(user, case):
        return True
    return permissions.has_break_glass(user, case, active_grants(user.id, now), now)


def _reason_error(problem: str) -> str:
    if problem == "long":
        return _("Write at most %(count)s characters.", count=REASON_MAX_LENGTH)
    if problem == "short":
        return _("Write a sentence of at least %(count)s characters.", count=REASON_MIN_LENGTH)
    return _("Write why you need to open this case.")


def _break_glass_form(case: Case, reason: str, error: str | None, status: int) -> tuple[str, int]:
    return _render("break_glass.html", case=case, reason=reason,
                   error=error, minutes=int(GRANT_DURATION.total_seconds() // 60),
                   max_length=REASON_MAX_LENGTH), status


@bp.get("/supervision/break-glass")
def find_case() -> Response | str:
    """A case outside one's region, found by its number (search shows only one's scope)."""
    number = (request.args.get("number") or "").strip()
    if not number:
        return _render("find_case.html", number="", missing=False)
    case_id = _case_id_by_number(number)
    if case_id is None:
        return _render("find_case.html", number=number, missing=True)
    return redirect(url_for("supervision.break_glass", case_id=case_id))


def _case_id_by_number(number: str) -> str | None:
    match = queries.CASE_NUMBER.match(number)
    if match is None:
        return None
    year, serial = match.groups()
    return db.session.scalar(select(Case.id).where(Case.number == f"{year}-{int(serial):06d}"))


# ---- the auditor's pages -------------------------------------------------------------------------

RECENT_AUDIT_ACTIONS = ("permission.denied", "btg.opened", "auth.failure", "auth.lockout")


def auditor_home(user: User) -> str:
    """What an auditor starts from: a case's access log by number, the chain's check, and the
    latest denials, break-the-glass openings and failed sign-ins."""
    return _auditor_page(user, number="", missing=False)


def _auditor_page(user: User, number: str, missing: bool) -> str:
    recent = list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(RECENT_AUDIT_ACTIONS))
        .order_by(AuditEntry.sequence.desc()).limit(25)))
    return _render("auditor_home.html", user=user, recent=recent, number=number, missing=missing)


@bp.get("/audit/access-log")
def find_access_log() -> Response | str:
    number = (request.args.get("number") or "").strip()
    case_id = _case_id_by_number(number) if number else None
    if case_id is None:
        return _auditor_page(g.user, number, missing=bool(number))
    return redirect(url_for("supervision.access_log", case_id=case_id))


@bp.get("/audit/verify")
def audit_verify_page() -> str:
    """The chain from the last verified checkpoint to the head, checked now (as the API does),
    or the whole chain when asked (``?full=1``): the page says which it did."""
    full = request.args.get("full") == "1"
    result = audit.verify() if full else audit.verify_incremental()
    audit.record("audit.verified", details={"ok": result.ok, "full": full})
    return _render("audit_verify.html", result=result, full=full)
