"""Reports upward (issue 11 items 3-4): indicators per region and period from monthly
pre-aggregates, the regions' submissions and their deadlines, CSV/XLSX exports run by a job
queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from core.permissions import SUPERVISORS, register_endpoints
from core.roles import Role
from core.templating import add_navigation
from referrals.reports import cli, indexes, models, views  # noqa: F401

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    register_endpoints({
        "reports.report": SUPERVISORS,
        "reports.submission_list": SUPERVISORS,
        "reports.submit": SUPERVISORS,
        "reports.export": SUPERVISORS,
        "reports.export_page": SUPERVISORS,
        "reports.export_list": SUPERVISORS,
        "reports.download": SUPERVISORS,
    })
    add_navigation(app, _l("Reports"), "reports.report", {Role.SUPERVISOR})
    app.cli.add_command(cli.reports_cli)
    app.cli.add_command(cli.exports_cli)
    app.cli.add_command(cli.jobs_cli)
