"""The ``senim`` command: Flask's CLI over ``create_app``, plus Senim's own commands."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from core.config import ConfigError


def _create_app_for_cli() -> Flask:
    from core.app import create_app

    try:
        return create_app()
    except ConfigError as error:
        # One line naming the setting, not a traceback (interfaces.md, "Configuration").
        click.echo(f"senim: configuration error: {error}", err=True)
        sys.exit(1)


@click.group(cls=FlaskGroup, create_app=_create_app_for_cli, add_version_option=False)
def main() -> None:
    """Senim: intake and interagency referral for child-rights helplines."""


def register(app: Flask) -> None:
    """Core's commands; feature packages register theirs in their own ``init_app``."""
    from core import keys_cli, users_cli
    from core.audit.cli import audit_cli

    app.cli.add_command(users_cli.users)
    app.cli.add_command(users_cli.tokens)
    app.cli.add_command(keys_cli.keys)
    app.cli.add_command(audit_cli)
    from flask_migrate.cli import db as db_group

    from core.db_roles import roles

    db_group.add_command(roles)
    app.cli.add_command(db_group)
