"""Words for the codes of the school channel, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

RISK_LABELS = {
    "suicide": _l("suicide"),
    "self_harm": _l("self-harm"),
    "sexual_violence": _l("sexual violence"),
    "immediate_danger": _l("immediate danger"),
    "not_safe": _l("not safe now"),
}
SAFE_LABELS = {"yes": _l("Yes"), "no": _l("No"), "unsure": _l("Not sure")}


def risk_label(code: str) -> str:
    return str(RISK_LABELS.get(code, code))


def safe_label(code: str | None) -> str:
    return str(SAFE_LABELS[code]) if code in SAFE_LABELS else "—"
