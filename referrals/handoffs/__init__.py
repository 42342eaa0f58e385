"""Referrals after routing: creation from a decision, the handoff state machine (routing.md §8),
escalation and notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """The handoff pages, API operations, CLI, notification hooks and template helpers."""
    from flask_babel import lazy_gettext as _l

    from core.roles import Role
    from core.templating import add_navigation
    from core.views import register_home
    from referrals.handoffs import api, cli, notification_models, notify, templating, views  # noqa: F401

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.referrals_cli)
    templating.init_app(app)
    notify.install()
    register_home(app, {Role.AGENCY_STAFF, Role.AGENCY_HEAD}, views.inbox_home)
    add_navigation(app, _l("To re-route"), "handoffs.reroute_list", {Role.SUPERVISOR})
