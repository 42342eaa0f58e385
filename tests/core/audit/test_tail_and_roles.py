"""Issue 16 item 12: the auditor's page and the API say how far they checked and offer the
whole chain; a tail cut after the newest checkpoint is found; checkpoints come on a timer and
with ``senim audit verify``; ``senim db roles`` makes the application's role, which cannot
change the audit table or switch its trigger off (PostgreSQL)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.app import create_app
from core.audit import timer
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from core.roles import Role
from core.users_service import issue_token
from tests.conftest import make_config, on_postgres
from tests.factories import sign_in
from tests.reading import json_of


@pytest.fixture(autouse=True)
def folder(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_PATH", str(tmp_path / "signing-key"))
    return tmp_path / "checkpoints"


def append(count: int) -> None:
    for number in range(count):
        audit.record("test.append", details={"n": number})
    db.session.commit()


def cut_tail(after: int) -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("DELETE FROM audit_entries WHERE sequence > :n"), {"n": after})


def test_a_tail_cut_after_the_newest_checkpoint_is_found(app: Flask) -> None:
    append(5)
    audit.write_checkpoint()  # signs entry 5
    append(4)  # entries 6..9, pinned by no signature
    assert audit.verify_incremental().ok  # ...but this run counts them: 4 after checkpoint 5
    cut_tail(6)
    for result in (audit.verify_incremental(), audit.verify()):
        assert not result.ok and result.first_bad == 7, result
        assert result.problem and "cut off" in result.problem


def test_cli_verify_signs_the_head_so_a_later_cut_is_caught(app: Flask) -> None:
    append(3)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).output.strip() == "3 entries verified"
    store = audit.checkpoint_store()
    newest = store.newest()
    assert newest is not None and newest.sequence == 3
    cut_tail(2)
    failed = runner.invoke(args=["audit", "verify"])
    assert failed.exit_code == 1 and "entry 3" in failed.stderr


def test_the_timer_signs_a_checkpoint_when_due(app: Flask, clock: FrozenClock) -> None:
    append(2)
    first = timer.checkpoint_if_due(app)
    assert first is not None and first.sequence == 2
    append(1)
    clock.advance(timedelta(minutes=9))
    assert timer.checkpoint_if_due(app) is None  # the interval (10 minutes) has not passed
    clock.advance(timedelta(minutes=1))
    later = timer.checkpoint_if_due(app)
    assert later is not None and later.sequence == 3


def test_the_page_and_the_api_say_what_they_checked_and_offer_the_whole_chain(
        app: Flask, create_user: Callable[..., User]) -> None:
    append(5)
    audit.write_checkpoint()
    append(2)
    auditor = create_user(Role.AUDITOR)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert sign_in(client, auditor).status_code == 302
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "Only part of the chain was checked: from entry 5" in page
    assert 'href="/audit/verify?full=1"' in page
    whole = client.get("/audit/verify?full=1").get_data(as_text=True)
    assert "The whole chain was checked, from entry 1" in whole
    _token, value = issue_token(auditor, "verify", 30)
    db.session.commit()
    headers = {"Authorization": f"Bearer {value}"}
    api = app.test_client()
    assert json_of(api.get("/api/v1/audit/verify", headers=headers))["verified_from"] == 5
    full = json_of(api.get("/api/v1/audit/verify?full=1", headers=headers))
    assert full["ok"] is True and full["verified_from"] == 1
    assert api.get("/api/v1/audit/verify?full=yes", headers=headers).status_code == 422


@pytest.fixture
def app_role(app: Flask, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    if not on_postgres():
        pytest.fail("PostgreSQL only")  # never reached: the test is deselected on SQLite
    role = f"senim_app_{secrets.token_hex(4)}"
    result = app.test_cli_runner().invoke(args=["db", "roles", "--app-role", role])
    assert result.exit_code == 0, result.output
    assert "audit_entries INSERT and SELECT only" in result.output
    other = create_app(make_config(tmp_path / "instance", db.engine.url.render_as_string(False)))
    other.config.update(AUDIT_CHECKPOINT_DIR=app.config["AUDIT_CHECKPOINT_DIR"],
                        AUDIT_SIGNING_KEY_PATH=app.config["AUDIT_SIGNING_KEY_PATH"])
    with other.app_context():
        @event.listens_for(db.engine, "connect")
        def _act_as_role(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.autocommit = True
            dbapi_connection.execute(f'SET ROLE "{role}"')
            dbapi_connection.autocommit = False

        db.engine.dispose()
    try:
        yield role, other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
            admin.execute(text(f'DROP OWNED BY "{role}"'))
            admin.execute(text(f'DROP ROLE "{role}"'))


def refused(connection: Any, statement: str) -> str:
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError) as raised:
        connection.execute(text(statement))
    savepoint.rollback()
    return str(raised.value.orig)


@pytest.mark.postgres_only
def test_the_app_role_works_but_cannot_touch_the_audit_table(
        app: Flask, app_role: tuple[str, Flask]) -> None:
    role, other = app_role
    with other.app_context():
        assert db.session.scalar(text("SELECT current_user")) == role
        db.session.add(User(username="made.by.app", display_name="x", role="operator",
                            password_hash="x"))
        audit.record("auth.login")
        db.session.commit()  # ordinary tables and the audit INSERT work
        connection = db.session.connection()
        for statement in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries",
                          "TRUNCATE audit_entries"):
            assert "permission denied" in refused(connection, statement)
        assert "must be owner" in refused(connection, "ALTER TABLE audit_entries DISABLE TRIGGER USER")
        assert "must be owner" in refused(connection, "DROP TRIGGER audit_entries_append_only ON audit_entries")
        db.session.rollback()
    rerun = app.test_cli_runner().invoke(args=["db", "roles", "--app-role", role])
    assert rerun.exit_code == 0  # idempotent: run it again after every migration
    assert audit.verify().ok
