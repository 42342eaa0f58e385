"""Template helpers for intake's pages: options in the viewer's language, the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from flask_login import current_user

from core import reference
from core.clock import utcnow
from core.i18n import collation_key, current_language
from core.permissions import sees_referral_in_full
from intake.labels import OWN_LABELS, field_label, label
from intake.models import NO_CASE_TYPES, Case
from intake.ports import routing


def _own(kind: str) -> list[tuple[str, str]]:
    return [(code, str(text)) for code, text in OWN_LABELS[kind].items()]


def code_options(kind: str) -> list[tuple[str, str]]:
    algorithm, lang = routing().algorithm(), current_language()
    return [(code, algorithm.label(kind, code, lang)) for code in algorithm.codes(kind)]  # type: ignore[arg-type]


def category_groups() -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for code in routing().algorithm().codes("category"):
        groups.setdefault(code.split(".", 1)[0], []).append(code)
    return list(groups.items())


def region_options() -> list[tuple[str, str]]:
    return reference.region_options(current_language(), collation_key)


def district_options() -> list[tuple[str, str]]:
    lang = current_language()
    return [(p.code, p.name(lang))
            for p in reference.districts().values()]


def init_app(app: Flask) -> None:
    helpers: dict[str, Any] = {
        "channel_options": lambda: _own("channel"),
        "caller_options": lambda: _own("caller_relation"),
        "sex_options": lambda: _own("sex"),
        "code_options": code_options, "category_groups": category_groups,
        "region_options": region_options, "district_options": district_options,
        "quick_types": NO_CASE_TYPES, "code_label": label,
        "case_timeline": case_timeline, "next_deadline": next_deadline, "field_label": field_label,
    }
    app.jinja_env.globals.update(helpers)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    label: str
    actor_role: str | None


def case_timeline(case: Case) -> list[TimelineItem]:
    """The case's events and those of the referrals the viewer sees in full."""
    items = [TimelineItem(e.at, label("case_event", e.type), e.actor_role) for e in case.events]
    for referral in case.referrals:
        if not sees_referral_in_full(current_user, referral):
            continue
        service = label("service", referral.service)
        for event in referral.events:
            items.append(TimelineItem(event.at, f"{service}: {label('referral_event', event.action)}",
                                      event.actor_role))
    return sorted(items, key=lambda item: item.at)


@dataclass(frozen=True)
class NextDeadline:
    at: datetime
    overdue: bool


def next_deadline(case: Case) -> NextDeadline | None:
    """The earliest deadline still running on the case's open referrals."""
    moments = []
    for referral in case.referrals:
        if not referral.is_open:
            continue
        if referral.status in ("sent", "unassigned"):
            moments.append(referral.ack_due_at)
        if referral.first_action_at is None:
            moments.append(referral.action_due_at)
    if not moments:
        return None
    soonest = min(moments)
    return NextDeadline(soonest, soonest < utcnow())
