"""The helpline side: contacts, cases, the intake form, the operator's queue."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.keys_cli import keys
from core.permissions import CASE_READERS, HELPLINE, register_endpoints
from core.roles import Role
from core.templating import add_navigation
from core.views import register_home
from intake import api, models, templating, text, views  # noqa: F401  (API operations register on import)
from intake.flags_cli import encrypt_risk_flags

# Who may reach each of intake's endpoints (core.permissions: deny by default).
ENDPOINTS = {
    "api.create_contact": HELPLINE,
    "api.get_contact": CASE_READERS,
    "api.get_case": CASE_READERS,
    "api.search_cases": HELPLINE,
    "intake.new_contact": HELPLINE,
    "intake.preview": HELPLINE,
    "intake.autosave": HELPLINE,
    "intake.discard_draft": HELPLINE,
    "intake.lookup": HELPLINE,
    "intake.cases": HELPLINE,
    "intake.correct_case": HELPLINE,
    "intake.apply_routing": HELPLINE,
    "intake.case_page": CASE_READERS,
}


def init_app(app: Flask) -> None:
    register_endpoints(ENDPOINTS)
    app.register_blueprint(views.bp)
    if "encrypt-risk-flags" not in keys.commands:  # one group object for every app made
        keys.add_command(encrypt_risk_flags)
    templating.init_app(app)
    helpline = {Role.OPERATOR, Role.SUPERVISOR}
    register_home(app, helpline, views.operator_home)
    add_navigation(app, _l("New contact"), "intake.new_contact", helpline)
    add_navigation(app, _l("Cases"), "intake.cases", helpline)
    text.init_app(app)
