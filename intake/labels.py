"""Labels of the codes intake owns (the routing algorithm's data labels its own codes)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from core.i18n import current_language
from intake.ports import routing

OWN_LABELS: dict[str, dict[str, Any]] = {
    "channel": {"phone": _l("Phone call"), "text": _l("Text chat"), "messenger": _l("Messenger"),
                "email": _l("Email"), "walk_in": _l("Walk-in"), "qr": _l("School QR report")},
    "caller_relation": {
        "self": _l("The child"), "parent": _l("Parent"), "relative": _l("Relative"),
        "teacher": _l("Teacher"), "neighbour": _l("Neighbour"),
        "professional": _l("Professional"), "other": _l("Other"), "anonymous": _l("Anonymous")},
    "sex": {"female": _l("Girl"), "male": _l("Boy"), "unknown": _l("Not known")},
    "language": {"kk": "Қазақша", "ru": "Русский", "en": "English"},
    "case_status": {"open": _l("Open"), "closed": _l("Closed")},
    "referral_status": {
        "unassigned": _l("Unassigned"), "sent": _l("Sent"), "acknowledged": _l("Acknowledged"),
        "accepted": _l("Accepted"), "declined": _l("Declined"), "completed": _l("Completed"),
        "overridden": _l("Overridden")},
    "case_event": {"opened": _l("Case opened"), "follow_up": _l("Follow-up contact"),
                   "corrected": _l("Corrected"), "closed": _l("Case closed"),
                   "reopened": _l("Case reopened")},
}


def label(kind: str, code: str | None) -> str:
    """The viewer's-language label of a code; the code itself if nothing labels it."""
    if code is None:
        return ""
    own = OWN_LABELS.get(kind)
    if own is not None:
        return str(own.get(code, code))
    try:
        return routing().algorithm().label(kind, code, current_language())  # type: ignore[arg-type]
    except KeyError:
        return code


FIELD_LABELS: dict[str, Any] = {
    "contact_type": _l("Type of contact"), "categories": _l("Categories"),
    "urgency": _l("Urgency"), "child.age": _l("Age"), "child.region": _l("Region"),
    "child.district": _l("District"), "child.flags": _l("Risk-group flags"),
    "perpetrator.relation": _l("Who harmed the child"), "flags": _l("Flags"),
    "place": _l("Place"), "submitted_at": _l("Time"),
}


def field_label(name: str) -> str:
    """A form field's name for people (errors from the engine name fields by dotted path)."""
    return str(FIELD_LABELS.get(name, name))
