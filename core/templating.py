"""What every template may use: the language, role labels, the navigation for the role, and
moments in local time (the ``localtime`` filter)."""

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
from flask import Flask, current_app, request, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core import reference
from core.i18n import LANGUAGE_NAMES, current_language
from core.permissions import may_reach
from core.roles import Role

ROLE_LABELS = {
    Role.OPERATOR: _l("Operator"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.AGENCY_STAFF: _l("Agency staff"),
    Role.AGENCY_HEAD: _l("Head of unit"),
    Role.ADMIN: _l("Administrator"),
    Role.AUDITOR: _l("Auditor"),
}


@dataclass(frozen=True)
class NavEntry:
    label: Any  # a lazy string, translated when rendered
    endpoint: str
    roles: frozenset[Role]


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


def add_navigation(app: Flask, label: Any, endpoint: str, roles: set[Role] | None = None) -> None:
    """Feature packages add their pages to the main navigation here."""
    entries: list[NavEntry] = app.extensions.setdefault("senim.nav", [])
    entries.append(NavEntry(label, endpoint, frozenset(roles or set(Role))))


def navigation_items() -> list[NavItem]:
    if not current_user.is_authenticated:
        return []
    role = Role(current_user.role)
    entries: list[NavEntry] = current_app.extensions.get("senim.nav", [])
    return [
        NavItem(str(e.label), url_for(e.endpoint), request.endpoint == e.endpoint)
        for e in entries if role in e.roles
    ]


def role_label(role: str) -> str:
    try:
        return str(ROLE_LABELS[Role(role)])
    except ValueError:
        return role


def place_label(code: str | None) -> str:
    return reference.place_name(code, current_language())


def may_open(endpoint: str) -> bool:
    """Whether the signed-in user's role may reach a page (to show a link to it or not)."""
    return bool(current_user.is_authenticated) and may_reach(current_user.role, endpoint)


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
    add_navigation(app, _l("Home"), "core.home")
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        current_language=current_language,
        language_names=LANGUAGE_NAMES,
        navigation_items=navigation_items,
        role_label=role_label,
        place_name=place_label,
        may_open=may_open,
    )
