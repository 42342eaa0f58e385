"""The agencies' side: routing, the directory, referrals and their handoffs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the routing engine below this package must import without Flask
    from flask import Flask


def init_app(app: Flask) -> None:
    # Imported here, not at the top: importing the pure engine (referrals.routing) runs this
    # file, and the engine must import without Flask or the database.
    # models registers the tables and routing_app.api its API operation, both on import.
    from core.permissions import register_endpoints
    from intake.signals import case_submitted, referrals_requested, text_report_urgent
    from referrals import (  # noqa: F401
        admin,
        demo,
        directory,
        handoffs,
        models,
        registers,
        reports,
        retention,
        supervision,
    )
    from referrals.handoffs import creation, notify
    from referrals.port import ReferralsRouting
    from referrals.routing_app import api as routing_api
    from referrals.routing_app import cli as routing_cli
    from referrals.routing_app import service as routing_service

    register_endpoints(routing_api.ENDPOINTS)
    app.cli.add_command(demo.demo_command)
    app.cli.add_command(routing_cli.route_command)
    admin.init_app(app)
    app.extensions["senim.routing"] = ReferralsRouting()
    directory.install()
    routing_service.install()
    # Connected once per process (blinker keeps weak references to functions; these are
    # module-level, so they live as long as the process).
    case_submitted.connect(creation.on_case_submitted)
    referrals_requested.connect(creation.on_referrals_requested)
    text_report_urgent.connect(notify.on_urgent_text_report)
    handoffs.init_app(app)
    supervision.init_app(app)
    registers.init_app(app)
    reports.init_app(app)
    retention.init_app(app)
