"""Legal holds on the web: a case's hold (set, lift, history) and the list of active holds."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from core import audit, permissions
from core.access import note_denied
from core.clock import utcnow
from core.extensions import db
from core.models import User
from intake.models import Case
from referrals.retention import holds

bp = Blueprint("retention", __name__)
PAGE_SIZE = 50


def _case_or_404(case_id: str) -> Case:
    user: User = g.user
    case = db.session.get(Case, case_id)
    if case is None or not permissions.can_manage_legal_hold(user, case):
        if case is not None:
            note_denied("case", case.id)
        abort(404)
    return case


def _error(problem: str) -> str:
    return {
        "short": _("Write a reason of at least %(count)s characters.", count=holds.REASON_MIN),
        "long": _("Write at most %(count)s characters.", count=holds.REASON_MAX),
        "already": _("This case is already under legal hold."),
        "none": _("This case is not under legal hold."),
    }[problem]


def _page(case: Case, reason: str = "", error: str | None = None, status: int = 200) -> tuple[str, int]:
    with audit.reading("legal_hold.viewed", "case", case.id):
        html = render_template("referrals/retention/legal_hold.html", case=case,
                               hold=holds.active_hold(case.id), history=holds.history(case.id),
                               reason=reason, error=error, max_length=holds.REASON_MAX)
    return html, status


@bp.get("/cases/<case_id>/legal-hold")
def legal_hold(case_id: str) -> tuple[str, int]:
    return _page(_case_or_404(case_id))


@bp.post("/cases/<case_id>/legal-hold")
def change_legal_hold(case_id: str) -> Response | tuple[str, int]:
    case = _case_or_404(case_id)
    reason = request.form.get("reason", "")
    action = request.form.get("action")
    if action not in ("set", "lift"):
        abort(400)
    try:
        if action == "set":
            holds.set_hold(g.user, case, reason, utcnow())
        else:
            holds.lift_hold(g.user, case, reason, utcnow())
    except holds.HoldRefused as refused:
        db.session.rollback()
        status = 409 if refused.problem in ("already", "none") else 422
        return _page(case, reason, _error(refused.problem), status)
    flash(_("Legal hold set: retention will not anonymise this case.") if action == "set"
          else _("Legal hold lifted."), "success")
    return redirect(url_for("retention.legal_hold", case_id=case.id))


@bp.get("/supervision/legal-holds")
def legal_holds() -> str:
    user: User = g.user
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows = holds.active_holds(user.region, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return render_template("referrals/retention/legal_holds.html", rows=rows[:PAGE_SIZE], page=page,
                           has_next=len(rows) > PAGE_SIZE)
