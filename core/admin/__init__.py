"""Administration of staff accounts and API tokens (administrators only)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.admin import views
from core.roles import Role
from core.templating import add_navigation


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    add_navigation(app, _l("Administration"), "admin.users", {Role.ADMIN})
