"""The Alembic head builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from core.extensions import db


def test_migrations_and_models_agree(app: Flask) -> None:
    # The session fixture built the schema with `upgrade()`; compare it with the models.
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], differences


def test_downgrade_to_base_and_back(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every revision's downgrade runs, on a separate SQLite file (PostgreSQL runs the same
    revisions upward in the session fixture)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from core.app import create_app
    from tests.conftest import make_config

    other = create_app(make_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}"))
    with other.app_context():
        upgrade()
        assert "users" in inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert "users" not in inspect(db.engine).get_table_names()
        upgrade()
        assert "users" in inspect(db.engine).get_table_names()
