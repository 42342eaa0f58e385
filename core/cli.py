"""The ``senim`` command: Flask's CLI over ``create_app``, plus Senim's own commands."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from core.config import Config, ConfigError
from core.serving import ServeOptions, check_can_serve, default_workers, parse_bind, serve


def _create_app_for_cli() -> Flask:
    from core.app import create_app  # here: `senim serve`'s master must not import the app

    try:
        return create_app()
    except ConfigError as error:
        # One line naming the setting, not a traceback (interfaces.md, "Configuration").
        click.echo(f"senim: configuration error: {error}", err=True)
        sys.exit(1)


@click.group(cls=FlaskGroup, create_app=_create_app_for_cli, add_version_option=False)
def main() -> None:
    """Senim: intake and interagency referral for child-rights helplines."""


def _bind(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return parse_bind(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


# On the group itself, not through the app: the serving master must not import the application
# (each worker builds its own after the fork; see core/serving.py).
@main.command("serve", with_appcontext=False)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="worker processes [default: 2 x CPU cores + 1, at most 12]")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, callback=_bind,
              help="HOST:PORT or unix:/path to listen on (put a TLS proxy in front)")
@click.option("--threads", type=click.IntRange(1, 32), default=1, show_default=True,
              help="threads per worker (more than 1 uses gunicorn's gthread workers)")
@click.option("--timeout", type=click.IntRange(5, 600), default=30, show_default=True,
              help="seconds before a stuck worker is replaced")
@click.option("--max-requests", type=click.IntRange(0, 10**7), default=2000, show_default=True,
              help="recycle a worker after about this many requests (0: never)")
@click.option("--no-access-log", is_flag=True, help="do not write the access log")
def serve_command(workers: int | None, bind: str, threads: int, timeout: int, max_requests: int,
                  no_access_log: bool) -> None:
    """The production server (gunicorn); `senim run` stays the development server."""
    options = ServeOptions(workers=workers or default_workers(), bind=bind, threads=threads,
                           timeout=timeout, max_requests=max_requests,
                           max_requests_jitter=max_requests // 10, access_log=not no_access_log)
    try:
        config = Config.from_env()
        check_can_serve(config, options)
    except ConfigError as error:
        click.echo(f"senim: configuration error: {error}", err=True)
        sys.exit(1)
    serve(options)


def register(app: Flask) -> None:
    """Core's commands; feature packages register theirs in their own ``init_app``."""
    # Imported here, not at the top: `senim serve`'s master imports this module and must not
    # import the application's models (core/serving.py).
    from flask_migrate.cli import db as db_group

    from core import keys_cli, users_cli
    from core.audit.cli import audit_cli
    from core.db_roles import roles

    app.cli.add_command(users_cli.users)
    app.cli.add_command(users_cli.tokens)
    app.cli.add_command(keys_cli.keys)
    app.cli.add_command(audit_cli)
    db_group.add_command(roles)
    app.cli.add_command(db_group)
