"""The registers' pages: the risk-group register, a child's flag history, and the monthly
reconciliation act on screen, in print and as PDF, with its sign-off form."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from core import audit
from core.access import note_denied
from core.clock import utcnow
from core.extensions import db
from core.models import User
from core.permissions import (
    RECONCILIATION_READERS,
    RECONCILIATION_SIGNERS,
    RECONCILING_AGENCIES,
    REGISTER_READERS,
    can_sign_reconciliation,
    register_endpoints,
)
from core.reference import districts_of, regions
from core.roles import Role
from intake.models import RISK_FLAGS, Child
from referrals.registers import reconciliation as acts
from referrals.registers import risk_group as register
from referrals.registers import service
from referrals.registers.reconciliation import DISCREPANCIES, Act, BadMonth
from referrals.supervision import display

bp = Blueprint("registers", __name__)
PAGE_SIZE = 50

register_endpoints({
    "registers.risk_group": REGISTER_READERS,
    "registers.child_history": REGISTER_READERS,
    "registers.reconciliation": RECONCILIATION_READERS,
    "registers.reconciliation_pdf": RECONCILIATION_READERS,
    "registers.sign": RECONCILIATION_SIGNERS,
})


def _render(template: str, **context: Any) -> str:
    return render_template(f"referrals/registers/{template}", code_label=display.code_label,
                           **context)


def _region_choice(user: User) -> tuple[str | None, list[str]]:
    """The region asked for (else the user's own) and the regions the user may pick from."""
    own = service.default_region(user)
    fixed = user.role == Role.AGENCY_HEAD or (user.role == Role.SUPERVISOR and user.region)
    choices = [own] if fixed and own else sorted(regions())
    return request.args.get("region") or own or (choices[0] if choices else None), choices


# ---- the risk-group register -----------------------------------------------------------------


@bp.get("/registers/risk-group")
def risk_group() -> str:
    user: User = g.user
    region, choices = _region_choice(user)
    district = request.args.get("district") or None
    try:
        view = service.register_view(user, region, district)
    except service.NotVisible:
        if region in regions():
            note_denied("risk_group_register", region or "")
        abort(404)
    assert region is not None  # noqa: S101
    district = district or view.district
    flags = [f for f in request.args.getlist("flag") if f in RISK_FLAGS]
    if any(f in view.hidden_flags for f in flags):
        abort(404)
    with audit.reading("register.risk_group_viewed", "risk_group_register", region) as read:
        counts = register.counts(view, region, district, flags)
        entries: list[register.Entry] = []
        next_cursor: str | None = None
        if view.items:
            entries, next_cursor = register.entries(view, region, district, flags, PAGE_SIZE,
                                                      request.args.get("cursor"))
        html = _render("risk_group.html", view=view, region=region, district=district,
                       regions=choices, districts=districts_of(region), flags=flags,
                       all_flags=register.visible_flags(view), counts=counts, entries=entries,
                       next_cursor=next_cursor, first_page=not request.args.get("cursor"))
        read.details = {"district": district or "", "flags": ",".join(flags),
                        "items": len(entries), "identities": view.identities, "via": "web"}
    return html


@bp.get("/registers/risk-group/children/<child_id>")
def child_history(child_id: str) -> str:
    user: User = g.user

    found = db.session.get(Child, child_id)
    try:
        view = service.register_view(user, found.region if found else None)
    except service.NotVisible:
        if found is not None:
            note_denied("child", child_id)
        abort(404)
    with audit.reading("register.child_viewed", "child",
                       details={"identities": view.identities}) as read:
        child = register.child_in_register(view, child_id)
        if child is None:
            note_denied("child", child_id)
            abort(404)  # leaves the block by an exception: no read is recorded
        read.object_id = child.id
        html = _render("child_history.html", view=view, child=child,
                       flags=view.flags(child.risk_flags), changes=register.history(view, child))
    return html


# ---- the reconciliation act ----------------------------------------------------------------


def _previous_month(today: date) -> date:
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def _act_request(user: User) -> tuple[str | None, date, list[str]]:
    region, choices = _region_choice(user)
    tz = current_app.config["SENIM"].tz
    raw = request.values.get("month")
    try:
        month = acts.parse_month(raw) if raw else _previous_month(
            utcnow().astimezone(tz).date())
    except BadMonth:
        abort(404)
    return request.values.get("region") or region, month, choices


def _visible_act(user: User, region: str | None, month: date, now: datetime) -> Act:
    try:
        return service.visible_act(user, region, month, now)
    except service.NotVisible:
        if region in regions():
            note_denied("reconciliation_act", f"{region}/{month:%Y-%m}")
        abort(404)


def _act_context(user: User, act: Act, now: datetime) -> dict[str, Any]:
    unit = service.unit_of(user)
    tz = current_app.config["SENIM"].tz
    signable = (unit is not None and can_sign_reconciliation(user, unit, act.region)
                and act.signoff(unit.agency) is None)
    first = acts.parse_month(act.month)
    return {"act": act, "agencies": RECONCILING_AGENCIES, "discrepancy_codes": DISCREPANCIES,
            "counts": acts.counts_by_discrepancy(act), "signable": signable,
            "month_over": acts.month_is_over(first, now, tz),
            "my_agency": unit.agency if unit is not None else None,
            "links_to_cases": user.role == Role.SUPERVISOR, "generated_at": now}


@bp.get("/reports/reconciliation")
def reconciliation() -> str:
    user: User = g.user
    region, month, choices = _act_request(user)
    now = utcnow()
    act = _visible_act(user, region, month, now)
    html = _render("reconciliation.html", regions=choices, **_act_context(user, act, now))
    service.audit_act_view(act, "web")
    return html


@bp.get("/reports/reconciliation.pdf")
def reconciliation_pdf() -> Response:
    from weasyprint import CSS, HTML  # a heavy library (Pango), loaded only for this PDF

    user: User = g.user
    region, month, _choices = _act_request(user)
    now = utcnow()
    act = _visible_act(user, region, month, now)
    html = _render("reconciliation_print.html", **_act_context(user, act, now))
    # The stylesheet from the file, not over HTTP: the PDF is made inside this request.
    sheet = CSS(filename=str(Path(current_app.static_folder or "") / "css" / "act-print.css"))
    pdf = HTML(string=html, base_url=request.url_root).write_pdf(stylesheets=[sheet])
    service.audit_act_view(act, "pdf")
    name = f"reconciliation-{act.region}-{act.month}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/reports/reconciliation/sign")
def sign() -> Any:
    user: User = g.user
    region, month, _choices = _act_request(user)
    now = utcnow()
    act = _visible_act(user, region, month, now)
    back = url_for("registers.reconciliation", region=act.region, month=act.month)
    if request.form.get("confirmed") != "1":
        return _render("confirm_sign.html", **_act_context(user, act, now))
    try:
        service.sign(user, act.region, month, now)
    except service.Refused:
        abort(403)
    except service.AlreadySigned:
        flash(_("Your agency has already signed this act."), "warning")
        act = _visible_act(user, act.region, month, now)
        return _render("reconciliation.html", regions=[act.region],
                       **_act_context(user, act, now)), 409
    except service.NotOver:
        flash(_("A month can be signed once it is over."), "warning")
        return redirect(back)
    flash(_("The act is signed for your agency."), "success")
    return redirect(back)
