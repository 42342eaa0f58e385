"""Template helpers for intake's pages: options in the viewer's language, local times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import (
    DateTimePattern,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from flask import Flask, current_app
from flask_babel import format_datetime, get_locale
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
    lang = current_language()
    return sorted(((p.code, p.name(lang)) for p in reference.regions().values()),
                  key=lambda option: collation_key(reference.sort_name(option[1]), lang))


def district_options() -> list[tuple[str, str]]:
    lang = current_language()
    return [(p.code, p.name(lang))
            for p in reference.districts().values()]


def localtime(moment: datetime | None) -> str:
    """A moment in the deployment's time zone, as the viewer's locale writes it."""
    if moment is None:
        return ""
    local = moment.astimezone(current_app.config["SENIM"].tz)
    locale = get_locale()
    if locale is None:
        return format_datetime(local, "short")
    joined, date_pattern, time_pattern = _short_patterns(str(locale))
    # What babel's format_datetime(..., "short") does, with the locale's patterns parsed once:
    # a case page formats a few hundred moments, and the lookups cost more than the formatting.
    return (joined.replace("{0}", time_pattern.apply(local, locale))
            .replace("{1}", date_pattern.apply(local, locale)))


@lru_cache(maxsize=16)
def _short_patterns(locale_name: str) -> tuple[str, DateTimePattern, DateTimePattern]:
    locale = Locale.parse(locale_name)
    return (str(get_datetime_format("short", locale=locale)).replace("'", ""),
            parse_pattern(get_date_format("short", locale=locale)),
            parse_pattern(get_time_format("short", locale=locale)))


def init_app(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
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
