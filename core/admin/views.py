"""Administration pages (admins only): staff accounts and API tokens.

- The access gate (``core.access``) lets only administrators reach these endpoints; every view
  also asks ``permissions.can_administer`` before doing anything (defence in depth).
- Every change records one audit entry naming the object and the codes that changed, never a
  value a person typed (no display names, no passwords).
- Secrets (a new temporary password, a new token) are shown once, in the response to the POST
  that made them: never kept in the session, a URL or a log, and the page is ``no-store`` like
  every page. Only their hashes stay in the database.
- Actions that change state are POST-only behind a confirmation page (GET answers 405 there),
  and CSRF-protected by the application-wide ``CSRFProtect``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from core import audit, permissions, reference, users_service
from core.admin.forms import AssignmentForm, EditUserForm, NewUserForm, TokenForm
from core.auth import service as auth_service
from core.auth import sessions
from core.clock import utcnow
from core.common_passwords import is_common
from core.extensions import db
from core.i18n import collation_key, current_language
from core.models import AgencyUnit, ApiToken, User, UserSession
from core.roles import HELPLINE_ROLES, UNIT_ROLES, Role
from core.templating import localtime
from core.users_service import UserError, create_token, create_user, max_token_days

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50
MAX_PAGE = 10_000  # keeps OFFSET within any database's integer range
ID_PATTERN = re.compile(r"^[0-9A-Fa-f-]{1,36}$")  # UUIDv7 strings (core/ids.py)
# Temporary passwords: 16 characters from 31 unambiguous ones (no 0/o, 1/l/i): ~79 bits.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet, not a password
PASSWORD_GROUPS, PASSWORD_GROUP_LENGTH = 4, 4
HELPLINE_ROLE_VALUES = frozenset(role.value for role in HELPLINE_ROLES)
Model = TypeVar("Model", User, ApiToken)


# ---- every request ----------------------------------------------------------------------------


@bp.before_request
def _administrators_only() -> None:
    if not permissions.can_administer(g.user):
        abort(403)


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {"when": when, "unit_name": unit_name, "token_status": token_status,
            "helpline_roles": HELPLINE_ROLE_VALUES}


def when(moment: datetime | None) -> str:
    """A moment in the deployment's time zone, written the viewer's way ("—" for none)."""
    if moment is None:
        return "—"
    return localtime(moment)


def unit_name(unit: AgencyUnit | None) -> str:
    return unit.name(current_language()) if unit is not None else ""


def token_status(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return _("Revoked")
    if token.expires_at is not None and token.expires_at <= utcnow():
        return _("Expired")
    if not token.user.active:
        return _("Owner disabled")
    return _("Active")


# ---- small helpers ----------------------------------------------------------------------------


def clean_text(value: str | None, limit: int) -> str:
    """Search input as text: printable characters only (no NUL for the database), bounded."""
    return "".join(ch for ch in (value or "") if ch.isprintable())[:limit].strip()


def page_number() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


def fetch_page(query: Select[Any], page: int) -> tuple[list[Any], bool]:
    """One page of ``query`` and whether another follows."""
    rows = list(db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def get_or_404(model: type[Model], object_id: str) -> Model:
    found = db.session.get(model, object_id) if ID_PATTERN.match(object_id) else None
    if found is None:
        abort(404)
    return found


def form_status(form: FlaskForm) -> int:
    return 422 if form.is_submitted() else 200


def temporary_password() -> str:
    while True:
        groups = ("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_GROUP_LENGTH))
                  for _ in range(PASSWORD_GROUPS))
        password = "-".join(groups)
        if not is_common(password):
            return password


def add_error(field: Any, message: str) -> None:
    field.errors = [*field.errors, message]


def is_self(user: User) -> bool:
    return bool(user.id == g.user.id)


def back_to(user: User) -> Response:
    return redirect(url_for("admin.edit_user", user_id=user.id))


@dataclass(frozen=True)
class Confirmation:
    title: str
    explanation: str
    action: str
    button: str
    back: str


def confirm_page(confirmation: Confirmation) -> str:
    return render_template("core/admin/confirm.html", confirmation=confirmation)


# ---- choices ------------------------------------------------------------------------------------


def unit_choices(current: AgencyUnit | None = None) -> list[SelectChoice]:
    """Active units grouped by region, in the viewer's language; a user's current unit stays
    selectable even after it was deactivated, so that editing their name does not fail."""
    lang = current_language()
    units = list(db.session.scalars(
        select(AgencyUnit).where(AgencyUnit.active.is_(True)).options(lazyload(AgencyUnit.service_rows))))
    if current is not None and current not in units:
        units.append(current)
    units.sort(key=lambda unit: (reference.place_name(unit.region, lang), unit.name(lang)))
    return [SelectChoice(unit.id, _unit_option(unit, lang),
                         optgroup=reference.place_name(unit.region, lang)) for unit in units]


def _unit_option(unit: AgencyUnit, lang: str) -> str:
    return unit.name(lang) if unit.active else _("%(unit)s (inactive)", unit=unit.name(lang))


def region_choices() -> list[tuple[str, str]]:
    lang = current_language()
    return sorted(((code, place.name(lang)) for code, place in reference.regions().items()),
                  key=lambda choice: collation_key(reference.sort_name(choice[1]), lang))


def chosen_unit(form: AssignmentForm) -> AgencyUnit | None:
    return db.session.get(AgencyUnit, form.unit_id.data) if form.unit_id.data else None


def assignment_details(user: User) -> dict[str, str | None]:
    return {"role": user.role, "unit": user.unit_id, "region": user.region}


# ---- users: list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFilters:
    q: str = ""
    role: str = ""
    active: str = ""  # "", "yes" or "no"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> UserFilters:
        role, active = args.get("role", ""), args.get("active", "")
        return cls(q=clean_text(args.get("q"), 64),
                   role=role if role in {r.value for r in Role} else "",
                   active=active if active in ("yes", "no") else "")

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.q:
            query = query.where(func.lower(User.username).contains(self.q.lower(), autoescape=True))
        if self.role:
            query = query.where(User.role == self.role)
        if self.active:
            query = query.where(User.active.is_(self.active == "yes"))
        return query

    def args(self) -> dict[str, str]:
        return {name: value for name, value in asdict(self).items() if value}


@bp.get("/users")
def users() -> str:
    filters = UserFilters.from_args(request.args)
    page = page_number()
    rows, has_next = fetch_page(filters.apply(select(User)).order_by(User.username, User.id), page)
    return render_template("core/admin/users.html", users=rows, filters=filters, page=page,
                           has_next=has_next, roles=list(Role))


# ---- users: create ----------------------------------------------------------------------------


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> str | tuple[str, int]:
    form = NewUserForm(units=unit_choices(), regions=region_choices())
    if not form.validate_on_submit() or not _username_free(form):
        return render_template("core/admin/user_new.html", form=form), form_status(form)
    temporary = temporary_password()
    try:
        user = create_user(form.username.data or "", form.display_name.data or "", form.role_value,
                           temporary, unit=chosen_unit(form), region=form.region.data or None,
                           actor=g.user, via="web", must_change_password=True)
    except (UserError, IntegrityError):  # a race for the username, or a rule of the service
        db.session.rollback()
        add_error(form.username, _("The account could not be created. Check the fields and try again."))
        return render_template("core/admin/user_new.html", form=form), 422
    return render_template("core/admin/password_issued.html", user=user, password=temporary,
                           created=True)


def _username_free(form: NewUserForm) -> bool:
    """Usernames differing only in case would be confusable: refuse them too."""
    name = (form.username.data or "").lower()
    if db.session.scalar(select(User.id).where(func.lower(User.username) == name)) is None:
        return True
    add_error(form.username, _("This username is taken."))
    return False


# ---- users: edit ------------------------------------------------------------------------------


@bp.route("/users/<user_id>", methods=["GET", "POST"])
def edit_user(user_id: str) -> Response | tuple[str, int]:
    user = get_or_404(User, user_id)
    defaults = _assignment_data(user) if request.method == "GET" else None
    form = EditUserForm(data=defaults, units=unit_choices(user.unit), regions=region_choices())
    if form.validate_on_submit() and _keeps_own_admin_role(user, form):
        _save_assignment(user, form)
        return back_to(user)
    page = render_template("core/admin/user_edit.html", form=form, user=user, is_self=is_self(user))
    return page, form_status(form)


def _assignment_data(user: User) -> dict[str, str]:
    return {"display_name": user.display_name, "role": user.role, "unit_id": user.unit_id or "",
            "region": user.region or ""}


def _keeps_own_admin_role(user: User, form: EditUserForm) -> bool:
    if not is_self(user) or form.role_value is Role.ADMIN:
        return True
    add_error(form.role, _("You cannot remove your own administrator role. Ask another administrator."))
    return False


def _save_assignment(user: User, form: EditUserForm) -> None:
    changed = _apply_assignment(user, form)
    if not changed:
        flash(_("Nothing was changed."), "info")
        return
    sessions_ended = bool(changed & {"role", "unit_id", "region"})
    if sessions_ended:
        user.end_all_sessions()  # what they may see changed: they sign in again under the new one
    audit.record("user.updated", object_type="user", object_id=user.id, details={
        "changed": ",".join(sorted(changed)), **assignment_details(user),
        "sessions_ended": sessions_ended})
    flash(_("The account of %(username)s is saved.", username=user.username), "info")
    if sessions_ended:
        flash(_("Their sessions have ended: they must sign in again."), "info")


def _apply_assignment(user: User, form: EditUserForm) -> set[str]:
    """Set the form's values; return the names of the attributes that changed."""
    role = form.role_value
    wanted: dict[str, Any] = {
        "display_name": form.display_name.data,
        "role": role.value,
        "region": (form.region.data or None) if role in HELPLINE_ROLES else None,
    }
    changed = {name for name, value in wanted.items() if getattr(user, name) != value}
    for name in changed:
        setattr(user, name, wanted[name])
    unit = chosen_unit(form) if role in UNIT_ROLES else None
    if user.unit_id != (unit.id if unit else None):
        user.unit = unit
        changed.add("unit_id")
    return changed


# ---- users: account actions -----------------------------------------------------------------


def _refused_for_self(user: User) -> Response | None:
    """Administrators do not disable or reset their own account here: disabling would lock
    them out, and their own password and second factor are changed by another administrator
    (or on the password page, which asks for the current password)."""
    if not is_self(user):
        return None
    flash(_("You cannot do this to your own account. Ask another administrator."), "error")
    return back_to(user)


@bp.get("/users/<user_id>/disable/confirm")
def confirm_disable(user_id: str) -> Response | str:
    user = get_or_404(User, user_id)
    refused = _refused_for_self(user)
    if refused is not None:
        return refused
    return confirm_page(Confirmation(
        title=_("Disable the account of %(username)s?", username=user.username),
        explanation=_("They are signed out everywhere at once and cannot sign in; their API "
                      "tokens are revoked for good (enabling the account again later does not "
                      "bring them back)."),
        action=url_for("admin.disable_user", user_id=user.id),
        button=_("Disable the account"), back=url_for("admin.edit_user", user_id=user.id)))


@bp.post("/users/<user_id>/disable")
def disable_user(user_id: str) -> Response:
    user = get_or_404(User, user_id)
    refused = _refused_for_self(user)
    if refused is not None:
        return refused
    users_service.disable_user(user, actor=g.user, via="web")
    flash(_("The account of %(username)s is disabled; its sessions have ended and its tokens "
            "are revoked.",
            username=user.username), "info")
    return back_to(user)


@bp.post("/users/<user_id>/enable")
def enable_user(user_id: str) -> Response:
    user = get_or_404(User, user_id)
    users_service.enable_user(user, actor=g.user, via="web")
    flash(_("The account of %(username)s is enabled.", username=user.username), "info")
    return back_to(user)


@bp.get("/users/<user_id>/reset-second-factor/confirm")
def confirm_reset_second_factor(user_id: str) -> Response | str:
    user = get_or_404(User, user_id)
    refused = _refused_for_self(user)
    if refused is not None:
        return refused
    return confirm_page(Confirmation(
        title=_("Reset the second factor of %(username)s?", username=user.username),
        explanation=_("Their authenticator app stops working for Senim and they are signed out "
                      "everywhere. At their next sign-in they set up the second factor again. "
                      "Do this only after checking who is asking, for example by calling them back."),
        action=url_for("admin.reset_second_factor", user_id=user.id),
        button=_("Reset the second factor"), back=url_for("admin.edit_user", user_id=user.id)))


@bp.post("/users/<user_id>/reset-second-factor")
def reset_second_factor(user_id: str) -> Response:
    user = get_or_404(User, user_id)
    refused = _refused_for_self(user)
    if refused is not None:
        return refused
    auth_service.reset_second_factor(user)
    audit.record("user.second_factor_reset", object_type="user", object_id=user.id)
    flash(_("The second factor of %(username)s is reset. They set it up again at their next "
            "sign-in.", username=user.username), "info")
    return back_to(user)


@bp.get("/users/<user_id>/reset-password/confirm")
def confirm_reset_password(user_id: str) -> Response | str:
    user = get_or_404(User, user_id)
    refused = _refused_for_self(user)
    if refused is not None:
        return refused
    return confirm_page(Confirmation(
        title=_("Reset the password of %(username)s?", username=user.username),
        explanation=_("Their current password stops working and they are signed out everywhere. "
                      "You will see a temporary password once; they must replace it at their "
                      "next sign-in."),
        action=url_for("admin.reset_password", user_id=user.id),
        button=_("Reset the password"), back=url_for("admin.edit_user", user_id=user.id)))


@bp.post("/users/<user_id>/reset-password")
def reset_password(user_id: str) -> Response | str:
    user = get_or_404(User, user_id)
    refused = _refused_for_self(user)
    if refused is not None:
        return refused
    temporary = temporary_password()
    auth_service.reset_password(user, temporary)
    audit.record("user.password_reset", object_type="user", object_id=user.id)
    return render_template("core/admin/password_issued.html", user=user, password=temporary,
                           created=False)


# ---- tokens -----------------------------------------------------------------------------------


@bp.get("/tokens")
def tokens() -> str:
    username = clean_text(request.args.get("username"), 64)
    page = page_number()
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if username:
        query = query.where(ApiToken.user_id.in_(select(User.id).where(User.username == username)))
    rows, has_next = fetch_page(query, page)
    return render_template("core/admin/tokens.html", tokens=rows, username=username, page=page,
                           has_next=has_next)


@bp.route("/tokens/new", methods=["GET", "POST"])
def new_token() -> str | tuple[str, int]:
    """A token for the signed-in administrator only (issue 16): minting one for another account
    would let an administrator act as that user without their second factor. Tokens of service
    accounts come from ``senim tokens create`` on the server."""
    form = TokenForm()
    if not form.validate_on_submit():
        return render_template("core/admin/token_new.html", form=form,
                               max_days=max_token_days()), form_status(form)
    owner: User = g.user
    token, value = create_token(owner, form.name.data or "", form.days.data, actor=owner,
                                via="web")
    return render_template("core/admin/token_issued.html", token=token, value=value)


@bp.get("/tokens/<token_id>/revoke/confirm")
def confirm_revoke_token(token_id: str) -> Response | str:
    token = get_or_404(ApiToken, token_id)
    if token.revoked_at is not None:
        flash(_("This token is already revoked."), "info")
        return redirect(url_for("admin.tokens"))
    return confirm_page(Confirmation(
        title=_("Revoke the token “%(name)s” of %(username)s?", name=token.name,
                username=token.user.username),
        explanation=_("Every system that uses this token loses access at once. This cannot be "
                      "undone: a new token would have to be created and installed."),
        action=url_for("admin.revoke_token", token_id=token.id),
        button=_("Revoke the token"), back=url_for("admin.tokens")))


@bp.post("/tokens/<token_id>/revoke")
def revoke_token(token_id: str) -> Response:
    token = get_or_404(ApiToken, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoked", object_type="api_token", object_id=token.id,
                     details={"user": token.user_id})
    flash(_("The token is revoked."), "info")
    return redirect(url_for("admin.tokens"))


# ---- sessions of a user ---------------------------------------------------------------------


@bp.get("/users/<user_id>/sessions")
def user_sessions(user_id: str) -> str:
    user = get_or_404(User, user_id)
    return render_template("core/sessions.html", owner=user, rows=sessions.live_sessions(user),
                           current=g.get("user_session"), for_admin=True)


@bp.post("/users/<user_id>/sessions/<session_id>/end")
def end_user_session(user_id: str, session_id: str) -> Response:
    user = get_or_404(User, user_id)
    row = db.session.get(UserSession, session_id) if ID_PATTERN.match(session_id) else None
    if row is None or not sessions.is_live(row, user):
        abort(404)
    sessions.end(row, "admin", actor=g.user)
    flash(_("The session is ended."), "info")
    return redirect(url_for("admin.user_sessions", user_id=user.id))


@bp.post("/users/<user_id>/sessions/end-all")
def end_user_sessions(user_id: str) -> Response:
    user = get_or_404(User, user_id)
    ended = sessions.end_all(user, "admin", actor=g.user)
    flash(_("Sessions ended: %(count)s.", count=ended), "info")
    return redirect(url_for("admin.user_sessions", user_id=user.id))


permissions.register_endpoints({name: permissions.ADMIN_ONLY for name in (
    "admin.user_sessions", "admin.end_user_session", "admin.end_user_sessions")})
