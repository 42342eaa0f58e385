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


def test_downgrade_to_base_and_back(app: Flask, tmp_path) -> None:
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


def _fresh_app(tmp_path):
    from core.app import create_app
    from tests.conftest import make_config

    return create_app(make_config(tmp_path, f"sqlite:///{tmp_path / 'v.db'}"))


def test_a_new_install_routes_by_2026_2_and_keeps_2026_1(tmp_path) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from referrals.models import AlgorithmVersion
    from referrals.routing_app import service as routing_service

    with _fresh_app(tmp_path).app_context():
        upgrade()
        rows = {v.version: v.is_current for v in db.session.scalars(select(AlgorithmVersion))}
        assert rows == {"2026.1": False, "2026.2": True}
        assert routing_service.current_algorithm().version == "2026.2"
        db.session.remove()


def test_an_existing_install_keeps_2026_1_until_an_administrator_publishes(tmp_path) -> None:
    """An install that routed with the bundled 2026.1 and never published: the upgrade stores
    2026.1 as current, so that the new code changes no routing by itself; the education unit of
    each place is given the new service education.department."""
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from core.models import AgencyUnit
    from referrals.models import AlgorithmVersion
    from referrals.routing_app import service as routing_service

    with _fresh_app(tmp_path).app_context():
        upgrade(revision="e1changereas")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO agency_units (id, agency, name_kk, name_ru, name_en, region, active,"
                " created_at) VALUES ('u1', 'education', 'a', 'b', 'c', 'KZ-27', 1,"
                " '2026-11-01 00:00:00')"))
            connection.execute(text("INSERT INTO agency_unit_services (unit_id, service) VALUES "
                                    "('u1', 'education.guardianship')"))
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            columns = [row[1] for row in connection.execute(
                text("PRAGMA table_info(routing_decisions)")) if row[3]]  # NOT NULL columns
            values = ", ".join("'x'" if c != "created_at" else "'2026-11-01'" for c in columns)
            connection.execute(text(f"INSERT INTO routing_decisions ({', '.join(columns)}) "
                                    f"VALUES ({values})"))
        upgrade()
        rows = {v.version: v.is_current for v in db.session.scalars(select(AlgorithmVersion))}
        assert rows == {"2026.1": True}
        assert routing_service.current_algorithm().version == "2026.1"
        unit = db.session.get(AgencyUnit, "u1")
        assert unit is not None and "education.department" in unit.services
        assert (unit.work_start_minute, unit.work_end_minute) == (540, 1080)
        db.session.remove()
