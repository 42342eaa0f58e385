"""Sign-in (password, then the second factor), enrolment, password change and sign-out."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from core import audit, permissions, transactions
from core.auth import sessions, throttle, totp
from core.auth.forms import CodeForm, LoginForm, PasswordChangeForm
from core.auth.service import authenticate, change_password
from core.clock import utcnow
from core.extensions import db, limiter
from core.models import User, UserSession
from core.urls import safe_next
from core.users_service import UserError

bp = Blueprint("auth", __name__)
PENDING_LIFETIME = timedelta(minutes=5)
# Per client address, on top of the per-account throttle (which lives in core/auth/throttle.py).
ADDRESS_LIMIT = "30 per minute"


def _locked_response(form: object, template: str, **context: object) -> tuple[str, int]:
    flash(_("Too many attempts. Please wait a minute and try again."), "error")
    return render_template(template, form=form, **context), 429


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(ADDRESS_LIMIT, methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("core/login.html", form=form)
    username = form.username.data or ""
    if not throttle.begin_attempt(username):
        return _locked_response(form, "core/login.html")
    user = authenticate(username, form.password.data or "")
    if user is None:
        _failed(username, None)
        flash(_("The username or password is not correct."), "error")
        return render_template("core/login.html", form=form)
    throttle.release(username)
    _remember_pending(user)
    step = "auth.second_factor" if user.totp_confirmed_at else "auth.enrol"
    return redirect(url_for(step, next=safe_next(request.args.get("next"))))


def _failed(username: str, user: User | None) -> None:
    """Kept whatever the request answers (``audit.record_kept``), like every security record."""
    locked = throttle.record_failure(username)
    audit.record_kept("auth.failure", actor=user, object_type="user",
                      object_id=user.id if user else None)
    if locked:
        audit.record_kept("auth.lockout", actor=user, object_type="user",
                          object_id=user.id if user else None)


def _remember_pending(user: User) -> None:
    """Between the password and the code the user is not signed in, only 'pending'."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session["pending_user"] = user.get_id()
    session["pending_since"] = utcnow().isoformat()


def _pending_user() -> User | None:
    marker, since = session.get("pending_user"), session.get("pending_since")
    if not marker or not since:
        return None
    if utcnow() - datetime.fromisoformat(since) > PENDING_LIFETIME:
        return None
    user_id, _, epoch = str(marker).partition(".")
    user = db.session.get(User, user_id)
    if user is None or not user.active or str(user.session_epoch) != epoch:
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(ADDRESS_LIMIT, methods=["POST"])
def second_factor() -> Response | str | tuple[str, int]:
    user = _pending_user()
    if user is None or not user.totp_confirmed_at:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    context = {"demo_code": _demo_code(user)}
    if not form.validate_on_submit():
        return render_template("core/login_code.html", form=form, **context)
    if not throttle.begin_attempt(user.username):
        return _locked_response(form, "core/login_code.html", **context)
    if not totp.verify_and_consume(user, form.code.data or ""):
        _failed(user.username, user)
        flash(_("The code is not correct or was already used. Wait for the next one."), "error")
        return render_template("core/login_code.html", form=form, **context)
    return _complete_sign_in(user)


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(ADDRESS_LIMIT, methods=["POST"])
def enrol() -> Response | str | tuple[str, int]:
    user = _pending_user()
    if user is None or user.totp_confirmed_at:
        return redirect(url_for("auth.login"))
    if not user.totp_secret:
        user.totp_secret = totp.new_secret()
        # The page shows this secret's QR code whatever it answers (a 429 included), so the
        # secret must be the stored one.
        transactions.commit_despite_error_status()
    form = CodeForm()
    secret = user.totp_secret
    context = {"qr": totp.qr_data_uri(totp.provisioning_uri(user, secret)),
               "manual_key": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
               "demo_code": _demo_code(user)}
    if form.validate_on_submit():
        if not throttle.begin_attempt(user.username):
            return _locked_response(form, "core/login_enrol.html", **context)
        if totp.verify_and_consume(user, form.code.data or ""):
            user.totp_confirmed_at = utcnow()
            audit.record("auth.totp_enrolled", actor=user, object_type="user", object_id=user.id)
            return _complete_sign_in(user)
        _failed(user.username, user)
        flash(_("The code is not correct. Check the time on your phone and try again."), "error")
    return render_template("core/login_enrol.html", form=form, **context)


def _demo_code(user: User) -> str | None:
    """Development only: show the current code so a newcomer can try every role."""
    if current_app.config["SENIM"].env != "development" or not user.totp_secret:
        return None
    return totp.current_code(user.totp_secret)


def _complete_sign_in(user: User) -> Response:
    throttle.record_success(user.username)
    audit.record("auth.success", actor=user, object_type="user", object_id=user.id)
    start_session(user)
    if user.must_change_password:
        return redirect(url_for("auth.password"))
    return redirect(safe_next(request.args.get("next")) or url_for("core.home"))


def start_session(user: User) -> None:
    """A fresh session at every sign-in: nothing from before survives (session fixation)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    now = utcnow().isoformat()
    session["sid"] = sessions.start(user)
    session["started_at"] = now
    session["seen_at"] = now
    session.permanent = True
    login_user(user)


@bp.route("/account/password", methods=["GET", "POST"])
def password() -> Response | str:
    form = PasswordChangeForm()
    user: User = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            change_password(user, form.current.data or "", form.new.data or "")
        except UserError as error:
            form.new.errors = [*form.new.errors, _translate_user_error(error)]
        else:
            audit.record("auth.password_changed", actor=user, object_type="user", object_id=user.id)
            start_session(user)  # every other session ended with the epoch; keep this one
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("core.home"))
    return render_template("core/password.html", form=form)


def _translate_user_error(error: UserError) -> str:
    messages = {
        "wrong_password": _("The current password is not correct."),
        "too_common": _("This password is too common. Choose another."),
        "length": _("Use 12 to 128 characters."),
        "same": _("Choose a password different from the current one."),
    }
    return messages.get(error.code, str(error))


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        row = g.get("user_session")
        if row is not None:  # the copied cookie must not outlive the sign-out
            row.ended_at, row.end_reason = utcnow(), "logout"
        audit.record("auth.logout", object_type="user", object_id=current_user.id)
    return _signed_out()


def _signed_out() -> Response:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


# ---- "My sessions": every signed-in session of the user, each one can be ended ----------------

SESSION_ID = re.compile(r"^[0-9A-Fa-f-]{1,36}$")


def own_live_session(session_id: str) -> UserSession:
    user: User = g.user
    row = db.session.get(UserSession, session_id) if SESSION_ID.match(session_id) else None
    if row is None or not sessions.is_live(row, user):
        abort(404)  # the same answer for another user's session and for none
    return row


@bp.get("/account/sessions")
def my_sessions() -> str:
    user: User = g.user
    return render_template("core/sessions.html", owner=user, rows=sessions.live_sessions(user),
                           current=g.get("user_session"), for_admin=False)


@bp.post("/account/sessions/<session_id>/end")
def end_my_session(session_id: str) -> Response:
    row = own_live_session(session_id)
    current = g.get("user_session")
    sessions.end(row, "user")
    if current is not None and row.id == current.id:
        return _signed_out()
    flash(_("The session is ended."), "info")
    return redirect(url_for("auth.my_sessions"))


@bp.post("/account/sessions/end-others")
def end_my_other_sessions() -> Response:
    ended = sessions.end_all(g.user, "user", keep=g.get("user_session"))
    flash(_("Sessions ended: %(count)s.", count=ended), "info")
    return redirect(url_for("auth.my_sessions"))


permissions.register_endpoints({name: permissions.ALL_STAFF for name in (
    "auth.my_sessions", "auth.end_my_session", "auth.end_my_other_sessions")})
