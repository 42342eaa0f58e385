"""How the supervision pages write durations, rates, audit actions and field names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.i18n import current_language
from intake.labels import label
from referrals.routing_app import service as routing_service

MINUTE, HOUR, DAY = 60, 3600, 86400


def code_label(kind: str, code: str | None) -> str:
    """The label of a code in the viewer's language (``intake.labels.label``)."""
    return label(kind, code)


def version_label(version: str, kind: str, code: str | None) -> str:
    """The label a code had in the algorithm version that made a decision (a 2026.1 decision
    reads in 2026.1's words); the current labels when that version is unknown here."""
    if code is None:
        return ""
    try:
        algorithm = routing_service.algorithm_by_version(version)
        return algorithm.label(kind, code, current_language())  # type: ignore[arg-type]
    except (routing_service.UnknownVersion, KeyError):
        return code_label(kind, code)


def is_current_version(version: str) -> bool:
    return routing_service.current_algorithm().version == version


@dataclass(frozen=True)
class NumberStyle:
    """The viewer's locale's separators, read once per request: the dashboard writes several
    hundred numbers, and Babel's general formatter costs a tenth of a millisecond each."""

    decimal: str
    group: str
    percent_suffix: str

    def number(self, value: float, decimals: int = 0) -> str:
        text = f"{value:,.{decimals}f}"
        return text.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)


def number_style() -> NumberStyle:
    if "supervision_numbers" not in g:
        sample = format_percent(0.5)  # "50%", or "50 %" with a no-break space...
        g.supervision_numbers = NumberStyle(
            decimal=format_decimal(1.5, "0.0")[1], group=format_decimal(1000, "#,##0")[1],
            percent_suffix=sample[sample.index("50") + 2:] if "50" in sample else "%")
    style: NumberStyle = g.supervision_numbers
    return style


def duration(seconds: float | None) -> str:
    """A span the way a supervisor reads it: minutes, hours with one decimal, then days."""
    if seconds is None:
        return "—"
    style = number_style()
    if seconds < HOUR:
        return _("%(count)s min", count=style.number(round(seconds / MINUTE)))
    if seconds < 2 * DAY:
        return _("%(count)s h", count=style.number(seconds / HOUR, 1))
    return _("%(count)s d", count=style.number(seconds / DAY, 1))


def rate(value: float | None) -> str:
    if value is None:
        return "—"
    style = number_style()
    return style.number(value * 100, 1) + style.percent_suffix


def count(value: int) -> str:
    return number_style().number(value)


# Audit actions a case's access log shows, in words; others appear as their code.
ACTION_LABELS: dict[str, Any] = {
    "case.viewed": _l("Opened the case"),
    "contact.viewed": _l("Opened a contact"),
    "case.routing_audit_viewed": _l("Read the routing audit"),
    "case.access_log_viewed": _l("Read this access log"),
    "btg.opened": _l("Broke the glass"),
    "btg.form_viewed": _l("Looked the case up to break the glass"),
    "permission.denied": _l("Refused: outside their scope"),
    "auth.failure": _l("Failed sign-in"),
    "auth.lockout": _l("Account locked for a minute"),
    "contact.created": _l("Recorded a contact"),
    "case.corrected": _l("Corrected the case"),
    "referral.removed_at_intake": _l("Removed a proposed referral"),
    "referral.viewed": _l("Opened a referral"),
}

# The encrypted fields an entry may name, in words; others appear as their code.
FIELD_LABELS: dict[str, Any] = {
    "children.name": _l("child's name"),
    "children.iin": _l("child's IIN"),
    "children.address": _l("child's address"),
    "children.school": _l("child's school"),
    "contacts.caller_name": _l("caller's name"),
    "contacts.caller_phone": _l("caller's phone"),
    "contacts.summary": _l("summary"),
    "cases.close_summary": _l("closing summary"),
    "case_events.reason": _l("case event reason"),
    "corrections.reason": _l("correction reason"),
    "corrections.changes": _l("corrected values"),
    "referrals.manual_reason": _l("reason for a manual referral"),
    "referral_events.note": _l("referral notes"),
    "break_glass_grants.reason": _l("break-the-glass reason"),
}


def action_label(action: str) -> str:
    found = ACTION_LABELS.get(action)
    if found is not None:
        return str(found)
    if action.startswith("referral."):  # a handoff: "referral.accept" is the event "accept"
        return code_label("referral_event", action.removeprefix("referral."))
    return action


def field_label(field: str) -> str:
    found = FIELD_LABELS.get(field)
    return str(found) if found is not None else field


# The code an event's ``reason`` holds, by action (a label kind of the routing algorithm).
EVENT_REASON_KINDS = {"decline": "decline_reason", "record_action": "action_code",
                      "complete": "outcome"}


def event_label(action: str) -> str:
    return code_label("referral_event", action)


def event_reason_kind(action: str) -> str | None:
    return EVENT_REASON_KINDS.get(action)


class TemplateHelpers:
    """What the supervision templates call as ``supervision.<name>(...)``."""

    duration = staticmethod(duration)
    rate = staticmethod(rate)
    count = staticmethod(count)
    action = staticmethod(action_label)
    field = staticmethod(field_label)
    event = staticmethod(event_label)
    reason_kind = staticmethod(event_reason_kind)
