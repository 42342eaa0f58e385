"""The helpline side: contacts, cases, the intake form, the operator's queue."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from core.keys_cli import keys
    from core.roles import Role
    from core.templating import add_navigation
    from core.views import register_home
    from intake import api, models, templating, views  # noqa: F401  (API operations register on import)
    from intake.flags_cli import encrypt_risk_flags

    app.register_blueprint(views.bp)
    if "encrypt-risk-flags" not in keys.commands:  # one group object for every app made
        keys.add_command(encrypt_risk_flags)
    templating.init_app(app)
    helpline = {Role.OPERATOR, Role.SUPERVISOR}
    register_home(app, helpline, views.operator_home)
    add_navigation(app, _l("New contact"), "intake.new_contact", helpline)
    add_navigation(app, _l("Cases"), "intake.cases", helpline)
    from intake import text

    text.init_app(app)
