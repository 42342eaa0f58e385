"""How the routing administration pages write things for their reader: moments and dates in
the deployment's time zone, durations in words, codes by their label in the viewer's language,
the rows of the algorithm's tables and of a diff, refusals, and the choices offered on forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import reference
from core.i18n import collation_key, current_language
from referrals import directory
from referrals.routing import Algorithm, Change, diff_algorithms
from referrals.routing.conditions import describe, phrase
from referrals.routing_app.service import PublishRefused


def local_date(day: date) -> str:
    return format_date(day, "full")


def duration_text(spec: Mapping[str, int] | None) -> str:
    """An algorithm duration ({minutes|hours|working_days: N}) in words."""
    if not spec:
        return "—"
    parts = []
    if "working_days" in spec:
        parts.append(ngettext("%(num)d working day", "%(num)d working days", spec["working_days"]))
    if "hours" in spec:
        parts.append(ngettext("%(num)d hour", "%(num)d hours", spec["hours"]))
    if "minutes" in spec:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", spec["minutes"]))
    return " ".join(parts)


def label_of(algorithm: Algorithm, kind: str, code: str) -> str:
    try:
        return algorithm.label(kind, code, current_language())  # type: ignore[arg-type]
    except KeyError:  # a code this version does not have (e.g. an older unit's service)
        return code


@dataclass(frozen=True)
class UrgencyRow:
    code: str
    label: str
    description: str
    acknowledge: str
    act: str


def urgency_rows(algorithm: Algorithm) -> list[UrgencyRow]:
    return [
        UrgencyRow(spec["code"], label_of(algorithm, "urgency", spec["code"]),
                   label_of(algorithm, "urgency_description", spec["code"]),
                   duration_text(spec.get("acknowledge")), duration_text(spec.get("act")))
        for spec in algorithm.data["urgencies"]
    ]


def cap_rows(algorithm: Algorithm) -> list[tuple[str, str, str, str]]:
    """(service, acknowledge, act, condition in words or "") of each service cap."""
    lang = current_language()

    def labeler(kind: str, code: str) -> str:
        return label_of(algorithm, kind, code)

    return [(label_of(algorithm, "service", service), duration_text(cap.get("acknowledge")),
             duration_text(cap.get("act")),
             phrase(lang, "if").format(describe(cap["when"], lang, labeler))
             if "when" in cap else "")
            for service, cap in algorithm.data["service_caps"].items()]


def office_hours_services(algorithm: Algorithm) -> list[str]:
    """The services whose urgent deadlines count working time (issue 14), by label."""
    return [label_of(algorithm, "service", code) for code in algorithm.services
            if algorithm.is_office_hours(code)]


PUBLISH_REFUSALS = {
    "reason_missing": _l("Give the reason for this version; it is kept with it."),
    "reason_too_long": _l("The reason is too long."),
    "identical": _l("This document is identical to the current version %(version)s."),
    "version_exists": _l("Version %(version)s already exists. Give the document a new "
                         "version number."),
    "concurrent": _l("Another version was published at the same time. Review the changes "
                     "again."),
}


def refusal_text(refusal: PublishRefused) -> str:
    return str(PUBLISH_REFUSALS[refusal.code]) % refusal.params


@dataclass(frozen=True)
class ChangeRow:
    action: str
    kind: str
    code: str
    label: str
    detail: str


CHANGE_ACTIONS = {"added": _l("added"), "removed": _l("removed"), "changed": _l("changed"),
                  "moved": _l("moved")}
CHANGE_KINDS = {
    "version": _l("Version"), "rule": _l("Rule"), "agency": _l("Agency"),
    "service": _l("Service"), "category": _l("Category"), "category_group": _l("Category group"),
    "relation": _l("Relation"), "relation_group": _l("Relation group"), "flag": _l("Flag"),
    "place": _l("Place"), "child_flag": _l("Risk-group flag"), "contact_type": _l("Contact type"),
    "urgency": _l("Urgency"), "urgency_description": _l("Urgency description"),
    "constraint": _l("Constraint"), "instruction": _l("Instruction"),
    "register": _l("Register"), "decline_reason": _l("Decline reason"),
    "action_code": _l("Action code"), "outcome": _l("Outcome"),
}


def change_rows(old: Algorithm, new: Algorithm) -> list[ChangeRow]:
    rows = []
    for change in diff_algorithms(old, new):
        rows.append(ChangeRow(str(CHANGE_ACTIONS.get(change.action, change.action)),
                              str(CHANGE_KINDS.get(change.kind, change.kind)), change.code,
                              _change_label(old, new, change), change.detail))
    return rows


def _change_label(old: Algorithm, new: Algorithm, change: Change) -> str:
    if change.kind == "version":
        return ""
    source = old if change.action == "removed" else new
    found = label_of(source, change.kind, change.code)
    return "" if found == change.code else found


DAY_OFF_REFUSALS = {
    "name_missing": _l("Enter a name, e.g. the decree's title."),
    "weekend": _l("%(day)s is a Saturday or Sunday: choose “A Saturday or Sunday becomes a "
                  "working day” to make it one."),
    "already_off": _l("%(day)s is already a day off."),
    "weekday": _l("%(day)s is a weekday, which is a working day already."),
    "already_working": _l("%(day)s is already a working day."),
}


# The bundled calendar (core/data/holidays-KZ.csv) names its days in English; an administrator
# reads them in their language. Days an administrator adds keep the name they typed.
HOLIDAY_NAMES: dict[str, Any] = {
    "New Year": _l("New Year"), "Orthodox Christmas": _l("Orthodox Christmas"),
    "International Women's Day": _l("International Women's Day"), "Nauryz": _l("Nauryz"),
    "Unity Day of the People of Kazakhstan": _l("Unity Day of the People of Kazakhstan"),
    "Defender of the Fatherland Day": _l("Defender of the Fatherland Day"),
    "Victory Day": _l("Victory Day"), "Capital Day": _l("Capital Day"),
    "Kurban Ait": _l("Kurban Ait"), "Constitution Day": _l("Constitution Day"),
    "Republic Day": _l("Republic Day"), "Independence Day": _l("Independence Day"),
}
TRANSFERRED = " (transferred)"


def holiday_name(name: str) -> str:
    base = name.removesuffix(TRANSFERRED)
    known = HOLIDAY_NAMES.get(base)
    if known is None:
        return name
    if name.endswith(TRANSFERRED):
        return _("%(holiday)s (day off transferred)", holiday=known)
    return str(known)


def region_choices() -> list[tuple[str, str]]:
    return reference.region_options(current_language(), collation_key)


def district_choices() -> list[tuple[str, str]]:
    lang = current_language()
    whole = [("", _("None: a region-level unit"))]
    return whole + [(p.code, f"{p.name(lang)} ({reference.place_name(p.region, lang)})")
                    for p in reference.districts().values()]


def agency_choices(algorithm: Algorithm) -> list[tuple[str, str]]:
    return [(code, label_of(algorithm, "agency", code)) for code in algorithm.codes("agency")]


def service_groups(algorithm: Algorithm, agency: str | None,
                   kept: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Services to offer as checkboxes, grouped by agency (only ``agency``'s when given)."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for code, services in directory.services_by_agency(algorithm).items():
        if agency is None or code == agency:
            groups.append((label_of(algorithm, "agency", code),
                           [(s, label_of(algorithm, "service", s)) for s in services]))
    known = set(algorithm.services)
    older = [(s, s) for s in kept if s not in known]
    if older:
        groups.append((_("Services of earlier versions"), older))
    return groups
