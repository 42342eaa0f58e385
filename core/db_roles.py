"""``senim db roles``: the PostgreSQL role the application runs as (security.md §3).

The tables belong to the role that runs the migrations (the owner). The application itself
connects as another role that owns nothing: it may read and write the ordinary tables, but on
``audit_entries`` only INSERT and SELECT, so it can neither change nor delete an audit entry
nor switch the table's append-only trigger off (only an owner may ALTER a table). Run it as the
owner after every ``senim db upgrade`` (it is idempotent, and grants on new tables too)::

    senim db roles --app-role senim_app            # then run the app with
    SENIM_DATABASE_URL=postgresql://senim_app@host/senim senim serve ...

``--password-stdin`` sets the role's password from one line of standard input.
"""

from __future__ import annotations

import re
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import Connection, text

from core.extensions import db

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
AUDIT_TABLE = "audit_entries"


def _quoted(name: str) -> str:
    return '"' + name + '"'  # safe: names are checked against ROLE_NAME first


def grant_app_role(connection: Connection, role: str, password: str | None = None) -> list[str]:
    """Create (or update) ``role`` with the application's privileges; the tables granted."""
    if not ROLE_NAME.match(role):
        raise click.ClickException("the role name must be lowercase letters, digits and _")
    exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": role})
    ident = _quoted(role)
    if not exists:
        connection.execute(text(f"CREATE ROLE {ident} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                                "NOREPLICATION NOBYPASSRLS"))
    if password is not None:
        escaped = password.replace("'", "''")
        connection.execute(text(f"ALTER ROLE {ident} PASSWORD '{escaped}'"))
    database = connection.scalar(text("SELECT current_database()"))
    connection.execute(text(f"GRANT CONNECT ON DATABASE {_quoted(str(database))} TO {ident}"))
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {ident}"))
    tables = [str(name) for name in connection.scalars(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))]
    for table in tables:
        connection.execute(text(f"REVOKE ALL ON TABLE {_quoted(table)} FROM {ident}"))
        rights = "SELECT, INSERT" if table == AUDIT_TABLE else "SELECT, INSERT, UPDATE, DELETE"
        connection.execute(text(f"GRANT {rights} ON TABLE {_quoted(table)} TO {ident}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ident}"))
    return tables


@click.command("roles")
@click.option("--app-role", default="senim_app", show_default=True,
              help="the role the application connects as")
@click.option("--password-stdin", is_flag=True, help="read the role's password from standard input")
@with_appcontext
def roles(app_role: str, password_stdin: bool) -> None:
    """Create the application's database role: it owns nothing and may only INSERT and SELECT
    on the audit table. Run as the owner, after each migration."""
    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("database roles exist on PostgreSQL only")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with db.engine.begin() as connection:
        tables = grant_app_role(connection, app_role, password)
    click.echo(f"role {app_role}: {len(tables)} tables granted, {AUDIT_TABLE} INSERT and SELECT only")
