"""Retention and legal holds (issue 11 item 6). It erases intake's personal fields, so it lives
on the referrals side, which may import intake (core never does)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from core.permissions import SUPERVISORS, register_endpoints
from core.roles import Role
from core.templating import add_navigation
from referrals.retention import cli, models, views  # noqa: F401

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    register_endpoints({
        "retention.legal_hold": SUPERVISORS,
        "retention.change_legal_hold": SUPERVISORS,
        "retention.legal_holds": SUPERVISORS,
    })
    add_navigation(app, _l("Legal holds"), "retention.legal_holds", {Role.SUPERVISOR})
    app.cli.add_command(cli.retention_cli)
