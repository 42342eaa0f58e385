"""Test fixtures: a migrated database per run (SQLite by default, PostgreSQL when
``SENIM_DATABASE_URL`` points at it), an app with a frozen clock, and factories.

Each test starts from empty tables; the schema comes from the Alembic migrations, so every run
also proves that the migrations build what the models describe.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.app import create_app
from core.clock import FrozenClock
from core.config import CHEAP_ARGON2, Config
from core.extensions import db, limiter

CHROMIUM = Path("/usr/bin/chromium")


# No wall-clock deadline for property tests (Hypothesis's default is 200 ms per example): on a
# loaded machine it fails honest code. Speed is measured by benchmarks/ (`make bench`).
settings.register_profile("senim", deadline=None)
settings.load_profile("senim")


def _base_database_url() -> str:
    url = os.environ.get("SENIM_DATABASE_URL", "")
    if url.startswith("postgres"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return ""


def on_postgres() -> bool:
    return bool(_base_database_url())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) what does not apply to this database or run."""
    postgres = on_postgres()
    browser_wanted = os.environ.get("SENIM_BROWSER_TESTS", "1") != "0"
    if browser_wanted and not CHROMIUM.exists() and not os.environ.get("CI"):
        print(f"\nnote: {CHROMIUM} is missing (apt-get install chromium): browser tests deselected")
        browser_wanted = False
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        unwanted = (
            (item.get_closest_marker("postgres_only") and not postgres)
            or (item.get_closest_marker("sqlite_only") and postgres)
            or (item.get_closest_marker("browser") and not browser_wanted)
        )
        (drop if unwanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _worker_database(tmp_root: Path, worker: str) -> str:
    base = _base_database_url()
    if not base:
        return f"sqlite:///{tmp_root / 'senim-test.db'}"
    url = make_url(base)
    name = re.sub(r"\W", "_", f"{url.database or 'senim_test'}_{worker}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    return _worker_database(tmp_path_factory.mktemp("db"), worker_id)


def make_config(instance_path: Path, database_url: str, **overrides: Any) -> Config:
    config = Config(
        env="testing",
        instance_path=instance_path,
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        master_key=base64.b64encode(bytes(range(32))).decode(),
        argon2=CHEAP_ARGON2,
        jobs="inline",  # background jobs run in the request, so tests see them finish
    )
    return config.with_overrides(**overrides)


# Every app this test process created; the browser harness adds its live server's app.
TEST_APPS: list[Flask] = []


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (own ``g``, own database session), as in
    production, even though the test itself holds an app context for its factories."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def _migrated_app(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Flask:
    from flask_migrate import upgrade

    instance = tmp_path_factory.mktemp("instance")
    clock = FrozenClock(datetime(2026, 11, 20, 5, 0, tzinfo=UTC))
    app = create_app(make_config(instance, database_url), clock=clock)
    app.test_client_class = IsolatedClient
    TEST_APPS.append(app)
    with app.app_context():
        upgrade()
        # Every test starts from empty tables, as every test ends with them (the migrations
        # store data too, e.g. the algorithm versions of a new installation).
        _empty_tables()
    return app


@pytest.fixture
def app(_migrated_app: Flask) -> Iterator[Flask]:
    clock = _migrated_app.extensions["senim.clock"]
    clock.set(datetime(2026, 11, 20, 5, 0, tzinfo=UTC))
    with _migrated_app.app_context():
        yield _migrated_app
        db.session.rollback()
        _empty_tables()
        db.session.remove()
        for other in TEST_APPS:  # tables (data keys included) were emptied: drop cached keys
            other.extensions["senim.crypto"].forget()
        limiter.reset()  # per-address limits must not leak from one test into the next


def _empty_tables() -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # The audit table's trigger refuses DELETE; as superuser, switch user triggers off
            # for this cleanup transaction only.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def clock(app: Flask) -> FrozenClock:
    found: FrozenClock = app.extensions["senim.clock"]
    return found


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


pytest_plugins = ["tests.factories"]
