"""Referrals after routing: creation from a decision, the handoff state machine (routing.md §8),
escalation and notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from core.permissions import (
    ALL_STAFF,
    CASE_READERS,
    HELPLINE,
    SUPERVISORS,
    UNIT_STAFF,
    register_endpoints,
)
from core.roles import Role
from core.templating import add_navigation
from core.views import register_home
from referrals.handoffs import api, cli, notification_models, notify, templating, views  # noqa: F401

if TYPE_CHECKING:
    from flask import Flask

ENDPOINTS = {
    "handoffs.inbox": UNIT_STAFF,
    "handoffs.referral_page": CASE_READERS,
    "handoffs.act": CASE_READERS,
    "handoffs.reroute_list": SUPERVISORS,
    "handoffs.notifications": ALL_STAFF,
    "handoffs.read_notifications": ALL_STAFF,
    "handoffs.close_case": HELPLINE,
    "handoffs.reopen_case": SUPERVISORS,
    "api.list_referrals": CASE_READERS,
    "api.get_referral": CASE_READERS,
    **{f"api.referral_{action}": CASE_READERS for action in (
        "acknowledge", "accept", "decline", "transfer", "record_action", "complete", "reroute",
        "override", "note")},
}


def init_app(app: Flask) -> None:
    """The handoff pages, API operations, CLI, notification hooks and template helpers."""
    register_endpoints(ENDPOINTS)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.referrals_cli)
    templating.init_app(app)
    notify.install()
    register_home(app, {Role.AGENCY_STAFF, Role.AGENCY_HEAD}, views.inbox_home)
    add_navigation(app, _l("To re-route"), "handoffs.reroute_list", {Role.SUPERVISOR})
