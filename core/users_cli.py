"""`senim users create` (interfaces.md): the password comes from standard input, never argv."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from core import audit
from core.extensions import db
from core.models import User
from core.roles import Role
from core.users_service import DEFAULT_TOKEN_DAYS, UserError, create_user, find_unit, issue_token


@click.group("users")
def users() -> None:
    """Manage staff accounts."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--agency", help="agency code of the user's unit (agency staff and heads)")
@click.option("--region", help="region code, e.g. KZ-27")
@click.option("--district", help="district code, e.g. KZ-27-TEREKTI")
@click.option("--unit", "unit_id", help="the unit's id, instead of --agency/--district")
@click.option("--name", "display_name", help="display name (defaults to the username)")
@with_appcontext
def create(username: str, role: str, agency: str | None, region: str | None,
           district: str | None, unit_id: str | None, display_name: str | None) -> None:
    """Create USERNAME; reads the password (one line) from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        unit = find_unit(Role(role), agency=agency, region=region, district=district,
                         unit_id=unit_id)
        user = create_user(username, display_name or username, Role(role), password,
                           unit=unit, region=region)
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    audit.record("user.created", object_type="user", object_id=user.id, actor=None)
    db.session.commit()
    click.echo(f"created {user.username} ({user.role})")


@click.group("tokens")
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("username")
@click.option("--days", type=click.IntRange(1, 3650), default=DEFAULT_TOKEN_DAYS,
              show_default=True, help="expire after N days")
@click.option("--name", default="cli", show_default=True, help="what the token is for")
@with_appcontext
def create_token(username: str, days: int, name: str) -> None:
    """Print a new API token for USERNAME (only its hash is stored)."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username}")
    token, value = issue_token(user, name, days)
    audit.record("token.created", object_type="api_token", object_id=token.id, actor=None,
                 details={"user": user.id})
    db.session.commit()
    click.echo(value)
