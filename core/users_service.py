"""Creating users and resolving their unit: one place for the CLI, the admin pages and the demo."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core import reference
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
                unit: AgencyUnit | None = None, region: str | None = None) -> User:
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
# and renewed, short enough that a forgotten token dies on its own.
DEFAULT_TOKEN_DAYS = 90


def issue_token(user: User, name: str, days: int | None) -> tuple[ApiToken, str]:
    """A new token for ``user``; the value is returned once and only its hash is kept."""
    value = new_token_value()
    expires = utcnow() + timedelta(days=days) if days else None
    token = ApiToken(user=user, name=name.strip()[:100] or "token", token_hash=hash_token(value),
                     hint=value[:8], expires_at=expires)
    db.session.add(token)
    db.session.flush()
    return token, value
