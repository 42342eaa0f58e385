"""Administrators' pages for routing (administrators only): ``views`` (the handlers),
``forms`` (what they parse) and ``presenters`` (how the algorithm, its changes, the calendar
and the units are written for the reader)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from core.permissions import ADMIN_ONLY, register_endpoints
from core.roles import Role
from core.templating import add_navigation
from referrals.admin import views

ENDPOINTS = {
    "routing_admin.algorithm": ADMIN_ONLY,
    "routing_admin.upload": ADMIN_ONLY,
    "routing_admin.publish": ADMIN_ONLY,
    "routing_admin.versions": ADMIN_ONLY,
    "routing_admin.version": ADMIN_ONLY,
    "routing_admin.calendar": ADMIN_ONLY,
    "routing_admin.units": ADMIN_ONLY,
    "routing_admin.new_unit": ADMIN_ONLY,
    "routing_admin.edit_unit": ADMIN_ONLY,
    "routing_admin.deactivate_unit": ADMIN_ONLY,
    "routing_admin.activate_unit": ADMIN_ONLY,
    "routing_admin.review_bundled": ADMIN_ONLY,
}


def init_app(app: Flask) -> None:
    register_endpoints(ENDPOINTS)
    app.register_blueprint(views.bp)
    add_navigation(app, _l("Routing algorithm"), "routing_admin.algorithm", {Role.ADMIN})
    add_navigation(app, _l("Agency units"), "routing_admin.units", {Role.ADMIN})
