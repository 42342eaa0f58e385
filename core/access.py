"""Deny by default (security.md §2).

Every request passes one gate: public endpoints (an explicit allowlist) go through; the API
authenticates its bearer token and pages their session; then the policy table in
``core.permissions`` decides whether the user's role may reach the endpoint at all. An endpoint
missing from that table is refused to everyone. Object-level checks follow in the services.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from core import audit, permissions
from core.api import authenticate_bearer
from core.auth import sessions
from core.clock import utcnow
from core.errors import api_error_response, wants_json
from core.extensions import db, login_manager
from core.models import User

# Endpoints anyone may reach: core's, and those a feature package declares with
# ``declare_public`` (the school QR channel). Adding one is a security decision: a test lists
# the whole set.
PUBLIC_ENDPOINTS = frozenset({
    "static", "auth.login", "auth.second_factor", "auth.enrol", "i18n.choose_language",
    "api.openapi_json", "health.healthz",
})
# Where a signed-in user who must first change their password may still go.
PASSWORD_CHANGE_ALLOWED = frozenset({"auth.password", "auth.logout", "static",
                                     "i18n.choose_language"})


def public_endpoints() -> set[str]:
    found: set[str] = current_app.extensions.setdefault("senim.public", set(PUBLIC_ENDPOINTS))
    return found


def declare_public(app: Flask, *endpoints: str) -> None:
    """Let a feature package declare endpoints public (e.g. the school QR report page)."""
    app.extensions.setdefault("senim.public", set(PUBLIC_ENDPOINTS)).update(endpoints)


@login_manager.user_loader
def _load_user(session_user_id: str) -> User | None:
    if request.path.startswith("/api/"):
        return None  # the API never trusts the cookie: that would let other sites forge calls
    user_id, _, epoch = session_user_id.partition(".")
    user = db.session.get(User, user_id)
    if user is None or not user.active or str(user.session_epoch) != epoch:
        return None
    # The signed cookie alone is not enough: its server-side session must still be live
    # (not ended at sign-out, by its user or by an administrator).
    row = sessions.find_live(session.get("sid"), user)
    if row is None:
        return None
    g.user_session = row
    return user


def _session_expired() -> bool:
    """Inactivity timeout and absolute lifetime, read through the injectable clock."""
    config = current_app.config["SENIM"]
    now = utcnow()
    try:
        started = datetime.fromisoformat(session["started_at"])
        seen = datetime.fromisoformat(session["seen_at"])
    except (KeyError, TypeError, ValueError):
        return True
    return (now - started > timedelta(hours=config.session_absolute_hours)
            or now - seen > timedelta(minutes=config.session_idle_minutes))


def _authenticate_page() -> Response | None:
    if current_user.is_authenticated and _session_expired():
        logout_user()
        session.clear()
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    session["seen_at"] = utcnow().isoformat()
    row = g.get("user_session")
    if row is not None:
        sessions.touch(row)
    if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ALLOWED:
        return redirect(url_for("auth.password"))
    g.user = current_user._get_current_object()
    return None


def _authenticate_api() -> Response | None:
    user = authenticate_bearer()
    if user is None:
        response = api_error_response(401, "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    g.user = g.api_user = user
    g._login_user = user  # Flask-Login's current_user, for this request only (no session)
    return None


def _gate() -> Response | None:
    endpoint = request.endpoint
    if endpoint is None or endpoint in public_endpoints():
        return None
    refused = _authenticate_api() if request.path.startswith("/api/") else _authenticate_page()
    if refused is not None:
        return refused
    user: User = g.user
    if not permissions.may_reach(user.role, endpoint):
        # Kept although the request rolls back (403): in its own short transaction, after it.
        audit.record_kept("permission.denied", object_type="endpoint", object_id=endpoint,
                          actor=user)
        if wants_json():
            return api_error_response(403, "your role may not use this endpoint")
        return _forbidden_page()
    return None


def note_denied(object_type: str, object_id: str) -> None:
    """Record an attempt on an object that exists but is not the user's (security.md §3). The
    caller still answers 404, the same as for an absent object, so nothing leaks to the client;
    walking ids across regions or agencies leaves a trace for the auditors. An id longer than
    any real one (a hostile request) is recorded as absent rather than refused by the trail.

    The entry is kept (``audit.record_kept``): the 404 rolls the request back, and the entry
    goes in afterwards in a short transaction of its own; it neither commits nor loses what
    the caller has pending."""
    fits = len(object_id) <= audit.OBJECT_ID_LENGTH
    audit.record_kept("permission.denied", object_type=object_type,
                      object_id=object_id if fits else None, actor=g.get("user"),
                      details=None if fits else {"object_id": "too long"})


def _forbidden_page() -> Response:
    abort(403)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # sessions are bound by our own epoch and timeouts
    app.before_request(_gate)
