"""``GET /healthz`` for load balancers and monitoring (public, and so free of personal data).

200 when the database answers and its schema is at the migrations' head; 503 with a short
reason otherwise, so that a proxy takes a host out of rotation while its database is away or a
deployment's code is ahead of (or behind) the schema it finds.
"""

from __future__ import annotations

import logging

from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from core.config import PROJECT_ROOT
from core.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def migration_heads() -> frozenset[str]:
    """The head revisions of the code's migration tree (read once per process)."""
    return frozenset(ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_heads())


def _heads(app: Flask) -> frozenset[str]:
    heads: frozenset[str] | None = app.extensions.get("senim.migration_heads")
    if heads is None:
        heads = app.extensions["senim.migration_heads"] = migration_heads()
    return heads


def problem() -> str | None:
    """Why this host should not take traffic, or None when it may."""
    try:
        with db.engine.connect() as connection:
            applied = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError as error:
        message = str(getattr(error, "orig", error)).strip().splitlines()
        if "alembic_version" in " ".join(message):
            return "database not migrated"
        log.warning("health check: database unreachable (%s)", (message or ["?"])[0][:200])
        return "database unreachable"
    heads = _heads(current_app)
    if applied != heads:
        return "migrations not at head"
    return None


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    reason = problem()
    if reason is None:
        return jsonify({"status": "ok"}), 200
    return jsonify({"status": "unavailable", "reason": reason}), 503
