"""The handoff pages: the agency inbox, the referral page with its actions, the supervisors'
"to re-route" list, notifications, and closing and reopening a case.

Handlers stay thin: ``service`` decides, audits and notifies; the handler redirects
(post/redirect/get) and the request commits once, where it ends (core/transactions.py). Every
page works without JavaScript; ``static/js/inbox.js`` only keeps the countdowns live. Decline,
transfer, complete and override ask for confirmation on a second screen before anything happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from core import audit, permissions, transactions
from core.access import note_denied
from core.clock import utcnow
from core.extensions import db
from core.models import AgencyUnit, User
from core.roles import HELPLINE_ROLES, Role
from intake.labels import label
from intake.models import Case
from intake.ports import routing
from intake.serialize import viewer_field_view
from referrals.handoffs import notify, queries, service, transitions
from referrals.handoffs.escalation import overdue_filter
from referrals.handoffs.models import OPEN_STATES, SENT, STATES, Referral, ReferralEvent
from referrals.handoffs.notification_models import Notification
from referrals.handoffs.serialize import note_visible_to
from referrals.handoffs.service import ActionInput
from referrals.handoffs.transitions import CONFIRMED_ACTIONS, Refused

bp = Blueprint("handoffs", __name__)
PAGE_SIZE = 25
URGENCIES = ("P1", "P2", "P3", "P4")


def _page_number() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _paged(query: Any, page: int) -> tuple[list[Any], bool]:
    size = PAGE_SIZE
    rows = list(db.session.execute(query.offset((page - 1) * size).limit(size + 1)).all())
    return rows[:size], len(rows) > size


# ---- the agency inbox ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    status: str = queries.OPEN
    service: str = ""
    urgency: str = ""
    overdue: bool = False

    @classmethod
    def from_args(cls) -> InboxFilters:
        args = request.args
        status = args.get("status", queries.OPEN)
        urgency = args.get("urgency", "")
        return cls(status=status if status in (*STATES, queries.OPEN, "all") else queries.OPEN,
                   service=args.get("service", "")[:80],
                   urgency=urgency if urgency in URGENCIES else "",
                   overdue=args.get("overdue") == "1")

    @property
    def active(self) -> bool:
        return self != InboxFilters()


def inbox_query(user: User, filters: InboxFilters, now: datetime) -> Any:
    query = queries.referral_scope(user)
    if Role(user.role) not in HELPLINE_ROLES:
        query = query.join(Case, Case.id == Referral.case_id)
    query = queries.with_status(query, None if filters.status == "all" else filters.status)
    if filters.service:
        query = query.where(Referral.service == filters.service)
    if filters.urgency:
        query = query.where(Case.urgency == filters.urgency)
    if filters.overdue:
        query = query.where(overdue_filter(now))
    return query.add_columns(Case.number, Case.urgency).order_by(
        queries.next_due(), Referral.created_at, Referral.id)


def inbox_home(user: User) -> str:
    """``/`` for unit staff: their unit's referrals, nearest deadline first."""
    now = utcnow()
    filters = InboxFilters.from_args()
    page = _page_number()
    rows, has_next = _paged(inbox_query(user, filters, now), page)
    counts = _inbox_counts(user, now)
    return render_template("referrals/handoffs/inbox.html", rows=rows, filters=filters,
                           page=page, has_next=has_next, now=now, counts=counts,
                           services=user.unit.services if user.unit else [],
                           states=STATES, urgencies=URGENCIES[:3], unit=user.unit)


def _inbox_counts(user: User, now: datetime) -> dict[str, int]:
    """Open, new and overdue referrals in the user's scope, in one statement (for a unit, an
    index-only scan of ``ix_referrals_unit_deadlines``)."""
    counts = queries.referral_scope(user).with_only_columns(
        func.count().filter(Referral.status.in_(sorted(OPEN_STATES))),
        func.count().filter(Referral.status == SENT),
        func.count().filter(overdue_filter(now)))
    open_, new, overdue = db.session.execute(counts).one()
    return {"open": int(open_), "new": int(new), "overdue": int(overdue)}


@bp.get("/inbox")
def inbox() -> str:
    return inbox_home(g.user)


# ---- the referral page --------------------------------------------------------------------------


def _visible_or_404(referral_id: str, user: User) -> Referral:
    try:
        return service.visible_referral(referral_id, user)
    except Refused:
        abort(404)


@bp.get("/referrals/<referral_id>")
def referral_page(referral_id: str) -> str:
    user: User = g.user
    referral = _visible_or_404(referral_id, user)
    return _render_referral(referral, user, 200)[0]


def _render_referral(referral: Referral, user: User, status: int,
                     errors: dict[str, str] | None = None,
                     failed: str | None = None) -> tuple[str, int]:
    case = referral.case
    with audit.reading("referral.viewed", "referral", referral.id, details={"case": case.id}):
        actions = transitions.allowed_actions(user, referral)
        html = render_template(
            "referrals/handoffs/referral.html", referral=referral, case=case,
            view=viewer_field_view(user, case), now=utcnow(), actions=actions,
            errors=errors or {}, failed=failed,
            others=[r for r in case.referrals if r.id != referral.id],
            events=[(e, _shown_note(e, user))
                    for e in sorted(referral.events, key=lambda e: (e.at, e.id))],
            codes={"decline": transitions.DECLINE_REASONS, "action": transitions.ACTION_CODES,
                   "outcome": transitions.outcomes_for(referral.agency)},
            is_helpline=Role(user.role) in HELPLINE_ROLES,
            **_unit_choices(referral, actions),
        )
    notify.mark_read(user, referral.id)
    if status >= 400:
        # A refused action (409, 422) was rolled back before this page was drawn; what is left
        # is the page view itself (its notifications marked read), kept like any page view.
        transactions.commit_despite_error_status()
    return html, status


def _unit_choices(referral: Referral, actions: list[str]) -> dict[str, Any]:
    """The transfer and re-route forms' choices, looked up only when those forms show."""
    choices: dict[str, Any] = {"transfer_units": [], "reroute_units": [], "suggested": None,
                               "services": [], "reroute_service": referral.service}
    if "transfer" in actions:
        choices["transfer_units"] = service.transfer_units(referral)
    if "reroute" in actions:
        known = list(routing().algorithm().services)
        wanted = request.args.get("service")
        chosen = wanted if wanted in known else referral.service
        choices.update(services=known, reroute_service=chosen,
                       reroute_units=service.reroute_units(chosen, referral.region),
                       suggested=service.suggested_unit(referral, chosen))
    return choices


def _shown_note(event: ReferralEvent, user: User) -> str | None:
    if not note_visible_to(event, user):
        return None  # other agencies' notes stay hidden, not even decrypted (security.md §2)
    return event.note


@bp.post("/referrals/<referral_id>/<action>")
def act(referral_id: str, action: str) -> Response | tuple[str, int]:
    user: User = g.user
    if action not in transitions.BY_ACTION:
        abort(404)
    referral = _visible_or_404(referral_id, user)
    data = ActionInput.from_mapping(action, request.form)
    if action in CONFIRMED_ACTIONS and request.form.get("confirmed") != "1":
        return _confirm(referral, action, data, user)
    try:
        service.perform(referral_id, action, user, data)
    except Refused as error:
        db.session.rollback()
        return _refused(referral_id, user, error, action)
    flash(_done_message(action), "info")
    return _after_action(referral_id, user)


def _confirm(referral: Referral, action: str, data: ActionInput,
             user: User) -> Response | tuple[str, int]:
    """The second screen: what will happen, with Confirm and Cancel."""
    try:
        transitions.check(referral, action, user)
    except Refused as error:
        return _refused(referral.id, user, error)
    unit = db.session.get(AgencyUnit, data.unit_id) if data.unit_id else None
    return render_template("referrals/handoffs/confirm.html", referral=referral, action=action,
                           data=data, unit=unit, case=referral.case), 200


def _refused(referral_id: str, user: User, error: Refused,
             action: str | None = None) -> Response | tuple[str, int]:
    if getattr(error, "hidden", False):
        abort(404)
    if error.status == 403:
        abort(403)
    referral = _visible_or_404(referral_id, user)
    if error.status == 409:
        flash(_("This action is no longer possible: the referral is now “%(status)s”.",
                status=_status_label(referral.status)), "error")
    else:
        flash(_("Some fields need attention; nothing was changed."), "error")
    return _render_referral(referral, user, error.status, error.fields, action)


def _status_label(status: str) -> str:
    return label("referral_status", status)


def _after_action(referral_id: str, user: User) -> Response:
    referral = db.session.get(Referral, referral_id)
    if referral is not None and permissions.can_view_referral(user, referral, referral.case):
        return redirect(url_for("handoffs.referral_page", referral_id=referral_id))
    return redirect(url_for("core.home"))  # transferred away: back to the inbox


def _done_message(action: str) -> str:
    return {
        "acknowledge": _("Receipt acknowledged."), "accept": _("The referral is accepted."),
        "decline": _("The referral is declined; the helpline's supervisors will re-route it."),
        "transfer": _("The referral is transferred."), "record_action": _("The action is recorded."),
        "complete": _("The referral is completed; the helpline sees the outcome."),
        "reroute": _("The referral is re-routed."), "override": _("The referral is overridden."),
        "note": _("The note is sent."),
    }[action]


# ---- the supervisors' list ------------------------------------------------------------------------


@bp.get("/supervision/reroute")
def reroute_list() -> str:
    user: User = g.user
    page = _page_number()
    rows, has_next = _paged(queries.to_reroute(user).add_columns(Case.number, Case.urgency), page)
    return render_template("referrals/handoffs/reroute_list.html", rows=rows, page=page,
                           has_next=has_next, now=utcnow())


# ---- notifications -----------------------------------------------------------------------------------


@bp.get("/notifications")
def notifications() -> str:
    user: User = g.user
    page = _page_number()
    query = (select(Notification, Referral, Case.number)
             .outerjoin(Referral, Referral.id == Notification.referral_id)
             .outerjoin(Case, Case.id == Referral.case_id)
             .where(Notification.user_id == user.id)
             .order_by(Notification.created_at.desc(), Notification.id.desc()))
    rows, has_next = _paged(query, page)
    return render_template("referrals/handoffs/notifications.html", rows=rows, page=page,
                           has_next=has_next, unread=notify.unread_count(user))


@bp.post("/notifications/read")
def read_notifications() -> Response:
    notify.mark_read(g.user)
    flash(_("All notifications are marked as read."), "info")
    return redirect(url_for("handoffs.notifications"))


# ---- closing and reopening a case ---------------------------------------------------------------------


def _case_or_404(case_id: str, user: User) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    if not permissions.can_view_case(user, case):
        note_denied("case", case.id)
        abort(404)
    return case


@bp.post("/cases/<case_id>/close")
def close_case(case_id: str) -> Response:
    user: User = g.user
    case = _case_or_404(case_id, user)
    try:
        service.close_case(case, user, request.form.get("summary", ""))
    except service.CaseNotClosable as error:
        db.session.rollback()
        flash(_("The case stays open: %(count)s mandatory referrals are not completed or "
                "overridden yet.", count=len(error.blocking)), "error")
        return redirect(url_for("intake.case_page", case_id=case_id))
    except Refused as error:
        db.session.rollback()
        return _case_refused(case_id, error)
    flash(_("The case is closed."), "info")
    return redirect(url_for("intake.case_page", case_id=case_id))


@bp.post("/cases/<case_id>/reopen")
def reopen_case(case_id: str) -> Response:
    user: User = g.user
    case = _case_or_404(case_id, user)
    try:
        service.reopen_case(case, user, request.form.get("reason", ""))
    except Refused as error:
        db.session.rollback()
        return _case_refused(case_id, error)
    flash(_("The case is reopened."), "info")
    return redirect(url_for("intake.case_page", case_id=case_id))


def _case_refused(case_id: str, error: Refused) -> Response:
    if getattr(error, "hidden", False):
        abort(404)
    if error.status == 403:
        abort(403)
    if error.status == 409:
        flash(_("The case has changed meanwhile; nothing was done."), "error")
    else:
        flash(_("Write the text first; nothing was changed."), "error")
    return redirect(url_for("intake.case_page", case_id=case_id))

