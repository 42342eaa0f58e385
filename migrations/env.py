"""Alembic environment for Senim (Flask-Migrate). One tree for SQLite (batch mode) and PostgreSQL.

Logging is configured by the application, so the ini file's logging section is not applied.
"""

import logging
from typing import Any

from alembic import context
from flask import current_app
from sqlalchemy.types import TypeDecorator

config = context.config
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Render the application's TypeDecorators as their plain database types, so revisions
    never import application code (they must keep working when that code changes)."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl if not isinstance(obj.impl, type) else obj.impl()
        return "sa." + repr(impl).replace("sqlalchemy.sql.sqltypes.", "")
    return False


def get_metadata() -> Any:
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=str(target_db.engine.url), target_metadata=get_metadata(), literal_binds=True,
        render_item=render_item, compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(context_: Any, revision: Any, directives: Any) -> None:
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("compare_type", True)

    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()
    # Data the application needs once the schema exists (e.g. the first data-encryption key).
    for hook in current_app.extensions.get("senim.after_upgrade", []):
        hook()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
