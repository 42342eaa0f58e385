"""The anonymous school channel (issue 12): schools with QR posters, the child-facing report
page and its two-way thread, risk triage, and the helpline's queue of text reports."""

from __future__ import annotations

import logging

from flask import Flask
from flask_babel import lazy_gettext as _l

from core import hostile
from core.access import declare_public
from core.extensions import csrf
from core.permissions import register_endpoints
from core.roles import Role
from core.templating import add_navigation
from intake.text import api, cli, labels, models, public, views  # noqa: F401  (register on import)

HELPLINE = frozenset({Role.OPERATOR, Role.SUPERVISOR})
SCHOOL_MANAGERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
ENDPOINTS = {
    "text_reports.queue": HELPLINE,
    "text_reports.report_page": HELPLINE,
    "text_reports.claim": HELPLINE,
    "text_reports.release": HELPLINE,
    "text_reports.reply": HELPLINE,
    "text_reports.close": HELPLINE,
    "text_reports.schools": SCHOOL_MANAGERS,
    "text_reports.poster": SCHOOL_MANAGERS,
    "text_reports.rotate": SCHOOL_MANAGERS,
    "api.list_text_reports": HELPLINE,
    "api.get_text_report": HELPLINE,
    "api.claim_text_report": HELPLINE,
    "api.release_text_report": HELPLINE,
    "api.reply_text_report": HELPLINE,
    "api.close_text_report": HELPLINE,
    "api.convert_text_report": HELPLINE,
}


# Reached without signing in (core.access): the child's report page, thread and quick exit.
PUBLIC_ENDPOINTS = frozenset({
    "text_public.report_page", "text_public.submit_report", "text_public.thread",
    "text_public.message", "text_public.exit_page",
    "api.public_create_report", "api.public_report_thread", "api.public_report_message",
})


class QuietChildRequests(logging.Filter):
    """Request logs (the development server's, and any access log through ``logging``) start
    with the client's address: drop their lines for the child's pages and public endpoints, so
    no log ties an address to a report (issue 12: nothing that could identify the child)."""

    MARKERS = ('"GET /r/', '"POST /r/', " /api/v1/public/")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(marker in message for marker in self.MARKERS)


def _quiet_request_logs() -> None:
    for name in ("werkzeug", "gunicorn.access"):
        target = logging.getLogger(name)
        if not any(isinstance(f, QuietChildRequests) for f in target.filters):
            target.addFilter(QuietChildRequests())


def init_app(app: Flask) -> None:
    register_endpoints(ENDPOINTS)
    declare_public(app, *PUBLIC_ENDPOINTS)
    _quiet_request_logs()
    csrf.exempt(public.bp)  # no session, nothing to forge: see intake/text/public.py
    app.register_blueprint(public.bp)
    app.register_blueprint(views.bp)
    hostile.limit_bodies(public.PUBLIC_ENDPOINTS_WITH_BODY, public.PUBLIC_BODY_LIMIT)
    app.cli.add_command(cli.schools)
    app.jinja_env.globals.update(risk_label=labels.risk_label, safe_label=labels.safe_label)
    add_navigation(app, _l("Text reports"), "text_reports.queue", set(HELPLINE))
    add_navigation(app, _l("Schools"), "text_reports.schools", set(SCHOOL_MANAGERS))
