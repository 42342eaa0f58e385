"""Labels of the codes intake owns (the routing algorithm's data labels its own codes)."""

from __future__ import annotations

import re
from typing import Any

from flask import g, has_request_context
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
    "referral_event": {
        "created": _l("Referral sent"), "acknowledge": _l("Receipt acknowledged"),
        "accept": _l("Accepted"), "decline": _l("Declined"), "transfer": _l("Transferred"),
        "record_action": _l("Action recorded"), "complete": _l("Completed"),
        "reroute": _l("Re-routed"), "override": _l("Overridden"), "note": _l("Note"),
        "escalated": _l("Escalated: deadline missed")},
    "case_event": {"opened": _l("Case opened"), "follow_up": _l("Follow-up contact"),
                   "corrected": _l("Corrected"), "closed": _l("Case closed"),
                   "reopened": _l("Case reopened")},
}


def label(kind: str, code: str | None) -> str:
    """The viewer's-language label of a code; the code itself if nothing labels it."""
    if code is None:
        return ""
    if not has_request_context():
        return _label(kind, code)
    # A page labels the same few codes hundreds of times: translate each once per request
    # (and per language, for the emails a request writes in their readers' language).
    key = (current_language(), kind, code)
    memo: dict[tuple[str, str, str], str] = g.setdefault("code_labels", {})
    found = memo.get(key)
    if found is None:
        found = memo[key] = _label(kind, code)
    return found


def _label(kind: str, code: str) -> str:
    own = OWN_LABELS.get(kind)
    if own is not None:
        return str(own.get(code, code))
    try:
        return labelling_algorithm().label(kind, code, current_language())
    except KeyError:
        return code


def labelling_algorithm() -> Any:
    """The current algorithm, looked up once per request: a page labels hundreds of codes and
    asking for the current version is a database read each time."""
    if not has_request_context():
        return routing().algorithm()
    if "labelling_algorithm" not in g:
        g.labelling_algorithm = routing().algorithm()
    return g.labelling_algorithm


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


# The engine and the validators explain a bad field in English for the API (interfaces.md);
# the form shows the operator the same finding in their language. Patterns, because several
# messages carry a value; anything unforeseen gets the general line rather than English.
FORM_MESSAGES: list[tuple[re.Pattern[str], Any]] = [(re.compile(pattern), message) for pattern, message in (
    (r"^is required for this contact type$", _l("Choose the urgency.")),
    (r"^at least one category is required$", _l("Choose at least one category.")),
    (r"^is required for a contact that is routed$", _l("Choose the child's region.")),
    (r"^needs child\.region$", _l("Choose the region first.")),
    (r"^district .* is not in region", _l("This district is not in the chosen region.")),
    (r"contradicts the flag", _l("This urgency is too low for the flags chosen.")),
    (r"^must be from 0 to \d+", _l("A child's age is from 0 to 17.")),
    (r"^must be an integer", _l("Enter the age in whole years.")),
    (r"^is required$|^required$", _l("This field is required.")),
    (r"^lies in the future$", _l("This time is in the future.")),
    (r"^precedes started_at$", _l("The end is before the start.")),
    (r"^every change needs a reason$", _l("Write a reason.")),
    (r"^IIN ", _l("This IIN is not valid: check the 12 digits.")),
    (r"^Phone number", _l("This phone number is not valid.")),
    (r"^at most \d+ characters$", _l("This text is too long.")),
)]


def form_message(message: str | None) -> str | None:
    """A field error for the form, in the viewer's language."""
    if message is None:
        return None
    for pattern, translated in FORM_MESSAGES:
        if pattern.search(message):
            return str(translated)
    return str(_l("Check this field."))
