"""Template helpers for the handoff pages, the case page's closing block and the header's
unread count: labels of actions and events, countdowns, and what the viewer may open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core import permissions
from core.roles import UNIT_ROLES, Role
from intake.labels import label
from intake.models import CASE_OPEN, Case
from referrals.handoffs import notify
from referrals.handoffs.models import Referral
from referrals.handoffs.service import blocking_referrals

ACTION_LABELS: dict[str, Any] = {
    "acknowledge": _l("Acknowledge receipt"), "accept": _l("Accept"),
    "decline": _l("Decline"), "transfer": _l("Transfer to another unit"),
    "record_action": _l("Record an action"), "complete": _l("Complete with an outcome"),
    "reroute": _l("Re-route"), "override": _l("Override"), "note": _l("Add a note"),
}
NOTIFICATION_LABELS: dict[str, Any] = {
    "new_referral": _l("New referral"),
    "escalation_ack": _l("Escalation: not acknowledged in time"),
    "escalation_action": _l("Escalation: no action by the deadline"),
    "declined": _l("Declined: to re-route"),
    "completed": _l("Completed by the agency"),
    "note": _l("New note"),
    "break_glass": _l("Break-the-glass: another supervisor opened a case outside their scope"),
    "urgent_text_report": _l("Urgent anonymous text report from a school"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def event_label(action: str) -> str:
    return label("referral_event", action)


def referral_status_label(status: str) -> str:
    """A referral's status for the viewer: to a unit, "sent" is simply new."""
    if status == "sent" and current_user.is_authenticated and Role(current_user.role) in UNIT_ROLES:
        return _("New")
    return label("referral_status", status)


def notification_label(kind: str) -> str:
    return str(NOTIFICATION_LABELS.get(kind, kind))


# ---- countdowns -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Countdown:
    text: str
    overdue: bool
    due: datetime


def duration_text(seconds: float) -> str:
    """2 d 3 h, 3 h 20 min or 12 min: precise enough for a 15-minute deadline.
    static/js/inbox.js writes the same from the same translated patterns."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=mins)
    return _("%(minutes)d min", minutes=mins)


def countdown(due: datetime, now: datetime) -> Countdown:
    seconds = (due - now).total_seconds()
    if seconds < 0:
        return Countdown(_("overdue by %(time)s", time=duration_text(seconds)), True, due)
    return Countdown(_("%(time)s left", time=duration_text(seconds)), False, due)


def countdown_formats() -> dict[str, str]:
    """The patterns inbox.js fills in, in the page's language."""
    return {"left": _("%(time)s left"), "overdue": _("overdue by %(time)s"),
            "dh": _("%(days)d d %(hours)d h"), "hm": _("%(hours)d h %(minutes)d min"),
            "m": _("%(minutes)d min")}


# ---- what the viewer may open -----------------------------------------------------------------------


def may_view_referral(referral: Referral) -> bool:
    return bool(current_user.is_authenticated
                and permissions.can_view_referral(current_user, referral, referral.case))


def sees_referral_in_full(referral: Referral) -> bool:
    """Other agencies' referrals show status and outcome only (security.md §2)."""
    return bool(current_user.is_authenticated and permissions.sees_referral_in_full(current_user, referral))


def notification_link(referral: Referral | None) -> str | None:
    """The referral page when the reader may open it, else its case page, else nothing (a
    commission head warned of another agency's late referral)."""
    if referral is None or not current_user.is_authenticated:
        return None
    if permissions.can_view_referral(current_user, referral, referral.case):
        return url_for("handoffs.referral_page", referral_id=referral.id)
    if permissions.can_view_case(current_user, referral.case):
        return url_for("intake.case_page", case_id=referral.case_id)
    return None


@dataclass(frozen=True)
class CaseLoop:
    """The case page's closing block: who may close or reopen, and what still blocks closing."""

    can_close: bool
    can_reopen: bool
    blocking: list[Referral]


def case_loop(case: Case) -> CaseLoop:
    if not current_user.is_authenticated:
        return CaseLoop(False, False, [])
    is_open = case.status == CASE_OPEN
    return CaseLoop(
        can_close=is_open and permissions.can_edit_case(current_user, case),
        can_reopen=not is_open and permissions.can_reopen_case(current_user, case),
        blocking=blocking_referrals(case) if is_open else [],
    )


def unread_notifications() -> int:
    if not current_user.is_authenticated:
        return 0
    return notify.unread_count(current_user)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        action_label=action_label, event_label=event_label,
        notification_label=notification_label, countdown=countdown,
        referral_status_label=referral_status_label,
        countdown_formats=countdown_formats, may_view_referral=may_view_referral,
        sees_referral_in_full=sees_referral_in_full, notification_link=notification_link,
        case_loop=case_loop, unread_notifications=unread_notifications,
    )
