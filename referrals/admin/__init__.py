"""Administrators' pages for routing (administrators only): ``views`` (the handlers),
``forms`` (what they parse) and ``presenters`` (how the algorithm, its changes, the calendar
and the units are written for the reader)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.permissions import register_endpoints
from core.roles import Role
from core.templating import add_navigation
from referrals.admin import views


def init_app(app: Flask) -> None:
    register_endpoints({"routing_admin.review_bundled": frozenset({Role.ADMIN})})
    app.register_blueprint(views.bp)
    add_navigation(app, _l("Routing algorithm"), "routing_admin.algorithm", {Role.ADMIN})
    add_navigation(app, _l("Agency units"), "routing_admin.units", {Role.ADMIN})
