"""Registers (issue 11 items 1, 2 and 5): the regional risk-group register (WKO plan item 8)
and the monthly reconciliation act between health, police and education (WKO item 30), as
pages, a printable/PDF act and the JSON API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from core.permissions import RECONCILIATION_READERS, REGISTER_READERS
from core.templating import add_navigation
from referrals.registers import api, models, views  # noqa: F401  (tables, operations)

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    add_navigation(app, _l("Risk-group register"), "registers.risk_group", set(REGISTER_READERS))
    add_navigation(app, _l("Reconciliation act"), "registers.reconciliation",
                   set(RECONCILIATION_READERS))
