"""`senim users create` (interfaces.md): the password comes from standard input, never argv."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from core.extensions import db
from core.models import User
from core.roles import Role
from core.users_service import (
    UserError,
    create_token,
    create_user,
    disable_user,
    enable_user,
    find_unit,
)


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
                           unit=unit, region=region, actor=None, via="cli")
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()  # the command is its own request: it commits where it ends
    click.echo(f"created {user.username} ({user.role})")


def _user_named(username: str) -> User:
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username}")
    return user


@users.command("disable")
@click.argument("username")
@with_appcontext
def disable(username: str) -> None:
    """Disable USERNAME: sessions end, API tokens are revoked for good."""
    user = _user_named(username)
    changed = disable_user(user, actor=None, via="cli")
    db.session.commit()
    click.echo(f"disabled {user.username}" if changed else f"{user.username} was already disabled")


@users.command("enable")
@click.argument("username")
@with_appcontext
def enable(username: str) -> None:
    """Enable USERNAME again (its old tokens stay revoked)."""
    user = _user_named(username)
    changed = enable_user(user, actor=None, via="cli")
    db.session.commit()
    click.echo(f"enabled {user.username}" if changed else f"{user.username} was already enabled")


@click.group("tokens")
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("username")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="expire after N days (default 90; at most SENIM_TOKEN_MAX_DAYS, 365 unless set)")
@click.option("--name", default="cli", show_default=True, help="what the token is for")
@with_appcontext
def create_token_command(username: str, days: int | None, name: str) -> None:
    """Print a new API token for USERNAME (only its hash is stored; audited)."""
    user = _user_named(username)
    try:
        _token, value = create_token(user, name, days, actor=None, via="cli")
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(value)
