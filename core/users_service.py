"""Creating users and resolving their unit, issuing tokens, disabling and enabling accounts: one
audited place for the CLI and the admin pages (and, unaudited, the demo)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from core import audit, reference
from core.clock import utcnow
from core.common_passwords import is_common
from core.extensions import db
from core.models import AgencyUnit, ApiToken, User
from core.models.tokens import hash_token, new_token_value
from core.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from core.roles import HELPLINE_ROLES, UNIT_ROLES, Role


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why and ``code`` lets
    pages show it in the user's language."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def check_password_policy(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise UserError(f"the password must have {MIN_LENGTH} to {MAX_LENGTH} characters", "length")
    if is_common(password):
        raise UserError("this password is too common", "too_common")


def find_unit(role: Role, *, agency: str | None = None, region: str | None = None,
              district: str | None = None, unit_id: str | None = None) -> AgencyUnit | None:
    if role not in UNIT_ROLES:
        if agency or district or unit_id:
            raise UserError(f"a {role.value} does not belong to an agency unit")
        return None
    if unit_id:
        unit = db.session.get(AgencyUnit, unit_id)
        if unit is None:
            raise UserError(f"no agency unit with id {unit_id}")
        return unit
    if not agency:
        raise UserError("agency staff and heads need --agency (with --district or --region) or --unit")
    if district:
        place = reference.districts().get(district)
        if place is None:
            raise UserError(f"unknown district {district}")
        if region and region != place.region:
            raise UserError(f"district {district} is not in region {region}")
        region = place.region
    if not region:
        raise UserError("give --district or --region")
    unit = db.session.scalar(
        select(AgencyUnit).where(
            AgencyUnit.agency == agency, AgencyUnit.region == region,
            AgencyUnit.district == district if district else AgencyUnit.district.is_(None),
            AgencyUnit.active.is_(True),
        )
    )
    if unit is None:
        raise UserError(f"no active {agency} unit in {district or region}")
    return unit


def create_user(username: str, display_name: str, role: Role, password: str, *,
                unit: AgencyUnit | None = None, region: str | None = None,
                actor: User | None, via: str, must_change_password: bool = False) -> User:
    """The one audited way to create an account: the admin page (a temporary password the
    user must change, ``must_change_password``) and ``senim users create`` (a password the
    person typed on the server) both come here. ``actor`` is who asked (None: the command
    line), ``via`` where ("web" or "cli"). The entry names the assignment's codes, never the
    display name or the password. The caller's request (or command) commits."""
    user = add_user(username, display_name, role, password, unit=unit, region=region)
    user.must_change_password = must_change_password
    audit.record("user.created", object_type="user", object_id=user.id, actor=actor,
                 details={"role": user.role, "unit": user.unit_id, "region": user.region,
                          "via": via})
    return user


def add_user(username: str, display_name: str, role: Role, password: str, *,
             unit: AgencyUnit | None = None, region: str | None = None) -> User:
    """A new account, checked but not audited: use :func:`create_user` outside the demo."""
    username = username.strip()
    if not username or len(username) > 64:
        raise UserError("the username must have 1 to 64 characters")
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise UserError(f"the username {username} is taken")
    if role in UNIT_ROLES and unit is None:
        raise UserError("agency staff and heads belong to an agency unit")
    if region and region not in reference.regions():
        raise UserError(f"unknown region {region}")
    check_password_policy(password)
    user = User(
        username=username, display_name=display_name, role=role.value, unit=unit,
        region=region if role in HELPLINE_ROLES else None,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


# security.md §2: tokens expire. A quarter is long enough for an integration to be noticed
# and renewed, short enough that a forgotten token dies on its own. A blank lifetime means this
# default, never "no expiry"; the longest lifetime is ``Config.token_max_days``.
DEFAULT_TOKEN_DAYS = 90


def max_token_days() -> int:
    return int(current_app.config["SENIM"].token_max_days)


def token_lifetime(days: int | None) -> int:
    """The lifetime in days a token request gets: the default when blank, refused beyond the
    configured maximum."""
    maximum = max_token_days()
    if days is None:
        return min(DEFAULT_TOKEN_DAYS, maximum)
    if not 1 <= days <= maximum:
        raise UserError(f"a token lives 1 to {maximum} days", "token_days")
    return days


def issue_token(user: User, name: str, days: int | None) -> tuple[ApiToken, str]:
    """A new token for ``user``, not audited: use :func:`create_token` outside tests and the
    demo. The value is returned once and only its hash is kept."""
    value = new_token_value()
    expires = utcnow() + timedelta(days=token_lifetime(days))
    token = ApiToken(user=user, name=name.strip()[:100] or "token", token_hash=hash_token(value),
                     hint=value[:8], expires_at=expires)
    db.session.add(token)
    db.session.flush()
    return token, value


def create_token(owner: User, name: str, days: int | None, *, actor: User | None,
                 via: str) -> tuple[ApiToken, str]:
    """The one audited way to make a token: the web page (the signed-in user's own token) and
    ``senim tokens create`` (service accounts) both come here. ``actor`` is who asked (None: the
    command line), ``via`` where ("web" or "cli"). The caller commits."""
    if not owner.active:
        raise UserError(f"the account {owner.username} is disabled", "disabled")
    lifetime = token_lifetime(days)
    token, value = issue_token(owner, name, lifetime)
    audit.record("token.created", object_type="api_token", object_id=token.id, actor=actor,
                 details={"user": owner.id, "days": lifetime, "via": via})
    return token, value


def revoke_tokens(user: User) -> int:
    """Revoke every live token of ``user``; how many were revoked."""
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session="fetch"))
    return int(getattr(result, "rowcount", 0) or 0)


def disable_user(user: User, *, actor: User | None, via: str) -> bool:
    """Disable an account: its sessions end and its tokens are revoked for good (enabling it
    again revives neither). False when it was already disabled. The caller commits."""
    if not user.active:
        return False
    user.active = False
    user.end_all_sessions()
    revoked = revoke_tokens(user)
    audit.record("user.disabled", object_type="user", object_id=user.id, actor=actor,
                 details={"tokens_revoked": revoked, "via": via})
    return True


def enable_user(user: User, *, actor: User | None, via: str) -> bool:
    """Enable an account again; False when it was already enabled. The caller commits."""
    if user.active:
        return False
    user.active = True
    audit.record("user.enabled", object_type="user", object_id=user.id, actor=actor,
                 details={"via": via})
    return True
