"""The helpline's pages: the contact form, the routing preview, drafts, repeat callers, the
case page, case search and the operator's queue."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from core import audit, permissions, reference
from core.access import note_denied
from core.clock import utcnow
from core.encryption import decrypted_fields, index_candidates, reset_decrypted_fields
from core.extensions import db
from core.i18n import current_language
from core.models import User
from core.models.break_glass import can_read_case
from intake import corrections, drafts, queries
from intake.forms import FormState, contact_from_form
from intake.models import NO_CASE_TYPES, Case, Contact
from intake.ports import routing
from intake.serialize import viewer_field_view
from intake.service import ContactInvalid, IdempotencyConflict, facts_of, submit_contact
from intake.text import service as text_service
from intake.text.models import TextReport
from intake.text.service import queue_counts
from referrals.routing import Decision, FactsError, parse_rfc3339

bp = Blueprint("intake", __name__)
PAGE_SIZE = 50


@dataclass
class PreviewReferral:
    service: str
    agency: str
    mandatory: bool
    rules: tuple[str, ...]
    unit_name: str | None
    ack_due_at: datetime
    action_due_at: datetime


@dataclass
class Preview:
    decision: Decision | None
    referrals: list[PreviewReferral]
    errors: dict[str, str]


def build_preview(data: dict[str, Any], now: datetime, lang: str) -> Preview:
    child = data.get("child") or {}
    try:
        decision = routing().decide(facts_of(data, now), now)
    except FactsError as error:
        return Preview(None, [], dict(error.fields))
    rows = []
    for proposal in decision.referrals:
        unit = routing().unit_for(proposal.service, child.get("region"), child.get("district"))
        rows.append(PreviewReferral(proposal.service, proposal.agency, proposal.mandatory,
                                    proposal.rules, unit.name(lang) if unit else None,
                                    proposal.ack_due_at, proposal.action_due_at))
    return Preview(decision, rows, {})


def _form_times() -> tuple[datetime | None, datetime]:
    raw = request.form.get("started_at")
    try:
        started = parse_rfc3339(raw) if raw else None
    except ValueError:
        started = None
    return started, utcnow()


def _render_form(state: FormState, preview: Preview | None, status: int = 200,
                 **extra: Any) -> tuple[str, int]:
    return render_template(
        "intake/new_contact.html", state=state, preview=preview,
        algorithm=routing().algorithm(), lang=current_language(),
        form_token=request.form.get("form_token") or secrets.token_urlsafe(16),
        started_at=request.form.get("started_at") or utcnow().isoformat(),
        draft_id=request.form.get("draft_id") or extra.pop("draft_id", ""),
        can_remove_mandatory=permissions.can_remove_mandatory_referral(g.user), **extra,
    ), status


@bp.route("/intake/new", methods=["GET", "POST"])
def new_contact() -> Response | tuple[str, int]:
    user: User = g.user
    if request.method == "GET":
        loaded = drafts.load_draft(user, request.args["draft"]) if request.args.get("draft") else None
        state = FormState.from_draft(loaded[1]) if loaded else FormState()
        case_id = request.args.get("case_id")
        if case_id and not loaded:
            state = FormState({"case_id": case_id, "contact_type": "follow_up"}, {}, {})
        if request.args.get("text_report") and not loaded:
            state = _from_text_report(user, request.args["text_report"])
        return _render_form(state, None, draft_id=loaded[0].id if loaded else "")
    started, ended = _form_times()
    data = contact_from_form(request.form, started_at=started, ended_at=ended)
    action = request.form.get("action", "submit")
    if action == "preview":
        preview = build_preview(data, ended, current_language())
        return _render_form(FormState.from_form(request.form), preview)
    if action == "draft":
        draft = drafts.save_draft(user, request.form.get("draft_id"), dict(request.form.lists()))
        if draft is None:  # this form was already submitted: nothing left to keep
            return redirect(url_for("intake.new_contact"))
        flash(_("The draft is saved."), "info")
        return redirect(url_for("intake.new_contact", draft=draft.id))
    return _submit(user, data, current_language())


def _from_text_report(user: User, report_id: str) -> FormState:
    """The form filled from an anonymous text report (reading it decrypts: audited)."""
    report = text_service.visible_report(report_id, user)
    if report is None or report.contact_id is not None:
        abort(404)
    with audit.reading("text_report.viewed", "text_report", report.id):
        flat, lists = _dotted(text_service.contact_prefill(report))
    flat["caller.callback_consent"] = "on" if flat.get("caller.callback_consent") else ""
    flat["text_report_id"] = report.id
    return FormState(flat, lists, {})


def _text_report_link(user: User) -> Any:
    """When the form records a text report: link the report to the new contact and case in
    the submitting transaction (None for an ordinary contact)."""
    report_id = request.form.get("text_report_id")
    if not report_id:
        return None
    report = text_service.visible_report(report_id, user)
    if report is None or report.contact_id is not None:
        abort(404)
    return lambda submission: text_service.link_contact(report, submission.contact, user)


def _submit(user: User, data: dict[str, Any], lang: str) -> Response | tuple[str, int]:
    try:
        fingerprint = {k: v for k, v in data.items() if k != "ended_at"}
        submission = submit_contact(data, user, idempotency_key=request.form.get("form_token"),
                                    fingerprint=fingerprint, before_commit=_text_report_link(user))
    except ContactInvalid as error:
        db.session.rollback()
        flash(_("Some fields need attention; nothing was saved yet."), "error")
        preview = build_preview(data, utcnow(), lang) if data.get("contact_type") else None
        return _render_form(FormState.from_form(request.form, error.fields), preview,
                            status=422 if error.status == 422 else error.status)
    except IdempotencyConflict:
        db.session.rollback()
        flash(_("This form was already submitted with other contents. Start a new contact."), "error")
        return redirect(url_for("intake.new_contact"))
    drafts.finish_draft(user, request.form.get("draft_id"), submission.contact.id,
                        request.form.get("form_token"))
    contact = submission.contact
    if contact.case_id is None:
        flash(_("The contact is recorded."), "info")
        return redirect(url_for("intake.new_contact"))
    if submission.created and contact.case is not None:
        flash(_("Case %(number)s is saved and referred.", number=contact.case.number), "info")
    return redirect(url_for("intake.case_page", case_id=contact.case_id))


@bp.post("/intake/preview")
def preview() -> str:
    """The routing preview panel alone, for the form's script to swap in as fields change."""
    started, ended = _form_times()
    data = contact_from_form(request.form, started_at=started, ended_at=ended)
    return render_template("intake/_preview.html", preview=build_preview(data, ended, current_language()),
                           state=FormState.from_form(request.form), algorithm=routing().algorithm(),
                           lang=current_language(),
                           can_remove_mandatory=permissions.can_remove_mandatory_referral(g.user))


@bp.post("/intake/drafts")
def autosave() -> Response:
    user: User = g.user
    try:
        draft = drafts.save_draft(user, request.form.get("draft_id"), dict(request.form.lists()))
    except ValueError:
        return jsonify({"error": {"code": "too_large", "message": "draft too large"}}), 413  # type: ignore[return-value]
    if draft is None:
        return jsonify({"draft_id": None, "submitted": True})
    return jsonify({"draft_id": draft.id, "saved_at": draft.updated_at.isoformat()})


@bp.post("/intake/drafts/<draft_id>/discard")
def discard_draft(draft_id: str) -> Response:
    user: User = g.user
    loaded = drafts.load_draft(user, draft_id)
    if loaded is None:
        abort(404)
    db.session.delete(loaded[0])
    flash(_("The draft is discarded."), "info")
    return redirect(url_for("core.home"))


@bp.post("/intake/lookup")
def lookup() -> Response:
    """Repeat callers: earlier cases with this phone or IIN that the operator may see. POST, so
    that the phone and IIN travel in the body: never in a URL, an access log or the history."""
    user: User = g.user
    phone, iin = (request.form.get("phone") or "").strip()[:40], (request.form.get("iin") or "").strip()[:40]
    found: dict[str, Case] = {}
    with audit.reading("case.lookup", "case") as read:
        if phone:
            _lookup_into(found, user, phone, "phone")
        if iin:
            _lookup_into(found, user, iin, "iin")
        items = [{"id": c.id, "number": c.number, "status": c.status, "urgency": c.urgency,
                  "opened_at": c.opened_at.isoformat(),
                  "url": url_for("intake.case_page", case_id=c.id)} for c in found.values()]
        read.details = {"by_phone": bool(phone), "by_iin": bool(iin), "results": len(items)}
    return jsonify({"items": items[:10]})


def _lookup_into(found: dict[str, Case], user: User, value: str, field: str) -> None:
    if not index_candidates(field, value):
        return
    query, kind = queries.apply_search(queries.case_scope(user), value)
    if kind not in ("phone", "iin"):
        return
    for case in db.session.scalars(query.order_by(Case.opened_at.desc()).limit(200)):
        if queries.matches(case, value, kind):
            found.setdefault(case.id, case)


def _load_timeline(case: Case) -> None:
    """The case's contacts, events and referrals with their events, one query per kind: the
    page shows them all, and loading each referral's events on first use was a query each."""
    referral = Case.referrals.property.mapper.class_  # declared in referrals, not imported here
    db.session.scalars(select(Case).where(Case.id == case.id).options(
        selectinload(Case.contacts), selectinload(Case.events),
        selectinload(Case.referrals).selectinload(referral.events))).all()


def visible_case_or_404(case_id: str, user: User) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    if not can_read_case(user, case):
        note_denied("case", case.id)
        abort(404)  # the same page for absent and not yours
    return case


@bp.get("/cases/<case_id>")
def case_page(case_id: str) -> str:
    user: User = g.user
    case = visible_case_or_404(case_id, user)
    _load_timeline(case)
    with audit.reading("case.viewed", "case", case.id):
        view = viewer_field_view(user, case)
        html = render_template("intake/case.html", case=case, view=view,
                               can_edit=permissions.can_edit_case(user, case),
                               text_reports=_case_text_reports(user, case))
    return html


def _case_text_reports(user: User, case: Case) -> list[Any]:
    """The anonymous conversations recorded in this case, for the helpline only: the thread
    goes on after the conversion and its later messages show here."""
    if not permissions.can_handle_text_report(user, case.region):
        return []
    return list(db.session.scalars(select(TextReport).where(TextReport.case_id == case.id)
                                   .order_by(TextReport.created_at)))


@bp.route("/cases", methods=["GET", "POST"])
def cases() -> str:
    """The case search. The search text (a name, phone or IIN) comes only in a POST body, never
    in the URL, so it reaches no access log and no browser history; the other filters work in
    the query string too (links), and the page's own form and pager post everything."""
    user: User = g.user
    source = request.form if request.method == "POST" else request.args
    q = (request.form.get("q") or "").strip()[:200] if request.method == "POST" else ""
    status = source.get("status") if source.get("status") in ("open", "closed") else None
    region = source.get("region") if source.get("region") in reference.regions() else None
    days = {name: _day_arg(name, source) for name in ("from", "to")}
    query = queries.apply_filters(queries.case_scope(user), status=status, region=region,
                                  start=days["from"][1], end=days["to"][1])
    page = min(max(1, source.get("page", 1, type=int) or 1), 10_000)
    kind = ""
    if q:
        query, kind = queries.apply_search(query, q)
    rows = db.session.scalars(query.order_by(Case.opened_at.desc(), Case.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    with audit.reading("case.search", "case") as read:
        found = [c for c in rows if not q or queries.matches(c, q, kind)]
        filters = {"q": q, "status": status, "region": region,
                   "from": days["from"][0], "to": days["to"][0]}
        html = render_template("intake/cases.html", cases=found[:PAGE_SIZE], filters=filters,
                               page=page, has_next=len(found) > PAGE_SIZE)
        read.details = {"kind": kind or "none", "results": len(found[:PAGE_SIZE])}
    return html


def _day_arg(name: str, source: Mapping[str, str]) -> tuple[str, datetime | None]:
    """A date filter of the case list: what to show back in the form, and the bound (a date
    that does not parse is ignored: the browser's date field only sends valid ones)."""
    raw = (source.get(name) or "").strip()[:20]
    try:
        return raw, queries.period_bound(raw, current_app.config["SENIM"].tz, end=name == "to")
    except ValueError:
        return "", None


def operator_home(user: User) -> str:
    """The operator's queue: their open cases with the next deadline, and unfinished drafts."""
    open_cases = list(db.session.scalars(
        queries.case_scope(user).where(Case.status == "open", Case.opened_by == user.id)
        .order_by(Case.opened_at.desc()).limit(PAGE_SIZE)
        .options(selectinload(Case.referrals))))  # for each row's next deadline
    recent = db.session.scalars(select(Contact).where(
        Contact.submitted_by == user.id, Contact.contact_type.in_(NO_CASE_TYPES))
        .order_by(Contact.received_at.desc()).limit(10))
    return render_template("intake/home.html", open_cases=open_cases,
                           drafts=drafts.open_drafts(user), recent_no_case=list(recent),
                           text_counts=queue_counts(user, utcnow()))


def _dotted(values: dict[str, Any], prefix: str = "") -> tuple[dict[str, Any], dict[str, list[str]]]:
    flat: dict[str, Any] = {}
    lists: dict[str, list[str]] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            inner, inner_lists = _dotted(value, f"{name}.")
            flat.update(inner)
            lists.update(inner_lists)
        elif isinstance(value, list):
            lists[name] = [str(v) for v in value]
        else:
            flat[name] = "" if value is None else value
    return flat, lists


@bp.route("/cases/<case_id>/correct", methods=["GET", "POST"])
def correct_case(case_id: str) -> Response | tuple[str, int] | str:
    user: User = g.user
    case = visible_case_or_404(case_id, user)
    if not permissions.can_edit_case(user, case):
        abort(403)
    reset_decrypted_fields()
    if request.method == "GET":
        flat, lists = _dotted(corrections.current_values(case))
        return _render_correction(case, FormState(flat, lists, {}), None, 200)
    started, _ended = _form_times()
    data = contact_from_form(request.form, started_at=started, ended_at=None)
    new = {k: data.get(k) for k in ("categories", "urgency", "perpetrator", "flags", "place", "summary")}
    new["perpetrator"] = {"relation": (data.get("perpetrator") or {}).get("relation")}
    new["child"] = {k: v for k, v in (data.get("child") or {}).items()}
    new["contact_type"] = corrections.current_values(case)["contact_type"]
    try:
        reason = request.form.get("reason", "")
        correction, difference = corrections.correct(case, new, reason, user, utcnow())
    except corrections.CorrectionInvalid as error:
        db.session.rollback()
        return _render_correction(case, FormState.from_form(request.form, error.fields), None, 422)
    if correction is None:
        flash(_("Nothing was changed."), "info")
        return redirect(url_for("intake.case_page", case_id=case.id))
    flash(_("Correction %(version)s is saved.", version=correction.version), "info")
    if difference is not None and difference.missing:
        flat, lists = _dotted(corrections.current_values(case))
        return _render_correction(case, FormState(flat, lists, {}), difference, 200)
    return redirect(url_for("intake.case_page", case_id=case.id))


def _render_correction(case: Case, state: FormState, difference: Any, status: int) -> tuple[str, int]:
    html = render_template("intake/correct.html", case=case, state=state, difference=difference,
                           history=corrections.history(case), algorithm=routing().algorithm(),
                           lang=current_language())
    # the form shows the case's current values and the history of earlier ones: a case view.
    # Its fields are counted from correct_case on (the correction decrypts them too), so this is
    # the end of a reading begun there, not an ``audit.reading`` block of its own; kept, as a
    # refused correction (422) rolls back but was shown.
    audit.record_kept("case.viewed", object_type="case", object_id=case.id,
                      fields=decrypted_fields())
    return html, status


@bp.post("/cases/<case_id>/apply-routing")
def apply_routing(case_id: str) -> Response:
    user: User = g.user
    case = visible_case_or_404(case_id, user)
    if not permissions.can_edit_case(user, case):
        abort(403)
    created = corrections.apply_difference(case, request.form.getlist("service"), user, utcnow())
    flash(_("%(count)s new referrals were created.", count=created), "info")
    return redirect(url_for("intake.case_page", case_id=case.id))
