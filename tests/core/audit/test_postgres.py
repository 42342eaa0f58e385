"""PostgreSQL only: parallel writers keep one chain; the trigger and the application role's
privileges refuse changes to the audit table."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from core import audit
from core.app import create_app
from core.audit import AuditEntry
from core.extensions import db
from tests.conftest import make_config

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _checkpoint_folder(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_PATH", str(tmp_path / "audit-signing-key"))


def test_parallel_writers_leave_one_linear_chain(app: Flask) -> None:
    writers, transactions = 32, 4
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def write(number: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                for index in range(transactions):
                    audit.record("test.append", details={"writer": number, "index": index})
                    if index % 2:  # some transactions append twice: the lock is re-entrant
                        audit.record("test.append", details={"writer": number, "second": True})
                    db.session.commit()
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    expected = writers * (transactions + transactions // 2)
    sequences = list(db.session.scalars(select(AuditEntry.sequence).order_by(AuditEntry.sequence)))
    assert sequences == list(range(1, expected + 1))  # no gaps, no duplicates
    result = audit.verify()
    assert (result.ok, result.entries) == (True, expected)


def refused(connection: Any, statement: str) -> str:
    """Run ``statement`` in a savepoint and return the database's refusal message."""
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError) as raised:
        connection.execute(text(statement))
    savepoint.rollback()
    return str(raised.value.orig)


def test_the_trigger_refuses_changes_even_to_the_superuser(app: Flask) -> None:
    audit.record("auth.login")
    db.session.commit()
    with db.engine.connect() as connection:
        for statement in ("UPDATE audit_entries SET action = 'x'",
                          "UPDATE audit_entries SET action = 'x' WHERE false",
                          "DELETE FROM audit_entries",
                          "TRUNCATE audit_entries"):
            verb = statement.split()[0]
            assert f"audit_entries is append-only: {verb} refused" in refused(connection, statement)
        connection.rollback()
    assert audit.verify().entries == 1


@pytest.fixture
def app_role(app: Flask, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """A role like the application's (owns nothing; INSERT and SELECT on the audit table) and an
    app whose connections act as it."""
    role = f"senim_app_test_{secrets.token_hex(4)}"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
        admin.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        admin.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        admin.execute(text(f'GRANT INSERT, SELECT ON audit_entries TO "{role}"'))
    other = create_app(make_config(tmp_path / "instance", db.engine.url.render_as_string(False)))
    other.config.update(AUDIT_CHECKPOINT_DIR=app.config["AUDIT_CHECKPOINT_DIR"],
                        AUDIT_SIGNING_KEY_PATH=app.config["AUDIT_SIGNING_KEY_PATH"])
    with other.app_context():
        @event.listens_for(db.engine, "connect")
        def _act_as_role(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.autocommit = True
            dbapi_connection.execute(f'SET ROLE "{role}"')
            dbapi_connection.autocommit = False

        db.engine.dispose()  # create_app's connection check pooled one as the superuser
    try:
        yield role, other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
            admin.execute(text(f'DROP OWNED BY "{role}"'))
            admin.execute(text(f'DROP ROLE "{role}"'))


def test_the_application_role_may_only_insert_and_select(app: Flask, app_role: tuple[str, Flask]) -> None:
    role, other = app_role
    with other.app_context():
        assert db.session.scalar(text("SELECT current_user")) == role
        audit.record("auth.login")
        audit.record("case.view", object_type="case", object_id="c-1", fields=["child_name"])
        db.session.commit()
        assert audit.verify().entries == 2

        connection = db.session.connection()
        for statement in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries",
                          "TRUNCATE audit_entries"):
            assert "permission denied for table audit_entries" in refused(connection, statement)
        # Nor can it switch the trigger off.
        assert "must be owner" in refused(connection, "ALTER TABLE audit_entries DISABLE TRIGGER USER")
        with pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(text("SET session_replication_role = replica"))
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 2
    assert audit.verify().ok
