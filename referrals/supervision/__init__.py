"""Supervision (issue 8): the supervisor's dashboard, the routing audit, access logs and
break-the-glass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from core.permissions import AUDIT_READERS, SUPERVISORS, register_endpoints
from core.roles import Role
from core.templating import add_navigation
from core.views import register_home
from referrals.supervision import display, snapshots, views

if TYPE_CHECKING:
    from flask import Flask

ENDPOINTS = {
    "supervision.dashboard": SUPERVISORS,
    "supervision.routing": SUPERVISORS,
    "supervision.routing_audit": SUPERVISORS,
    "supervision.access_log": AUDIT_READERS,
    "supervision.break_glass": SUPERVISORS,
    "supervision.find_case": SUPERVISORS,
    "supervision.audit_verify_page": AUDIT_READERS,
    "supervision.find_access_log": AUDIT_READERS,
}


def init_app(app: Flask) -> None:
    register_endpoints(ENDPOINTS)
    app.register_blueprint(views.bp)
    app.cli.add_command(snapshots.supervision_cli)
    # After intake's init_app, which made the operator's queue the home of both helpline roles.
    register_home(app, {Role.SUPERVISOR}, views.supervisor_home)
    register_home(app, {Role.AUDITOR}, views.auditor_home)
    add_navigation(app, _l("Routing audit"), "supervision.routing", {Role.SUPERVISOR})
    add_navigation(app, _l("Verify the audit trail"), "supervision.audit_verify_page",
                   {Role.AUDITOR, Role.SUPERVISOR})
    # One namespace, so the pages' helpers cannot clash with other packages' globals.
    app.jinja_env.globals["supervision"] = display.TemplateHelpers()
