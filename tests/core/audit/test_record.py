"""``audit.record``: what an entry keeps, what it refuses, and that it follows the caller's
transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask, g
from flask_login import login_user
from sqlalchemy import func, select

from core import audit
from core.audit import AuditEntry, AuditImmutableError, AuditValueError
from core.clock import FrozenClock
from core.extensions import db
from core.models import AgencyUnit, User
from core.roles import Role


@pytest.fixture(autouse=True)
def _checkpoint_folder(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_PATH", str(tmp_path / "audit-signing-key"))


def stored() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)))


def test_outside_a_request_an_entry_has_no_actor_address_or_request(app: Flask, clock: FrozenClock) -> None:
    entry = audit.record("retention.batch", details={"anonymised": 12, "dry_run": False})
    db.session.commit()
    [row] = stored()
    assert (row.sequence, row.prev_hash, row.hash) == (1, audit.GENESIS_HASH, entry.hash)
    assert row.occurred_at == clock.now()
    assert row.actor_id is None and row.actor_role is None and row.unit_id is None
    assert row.client_address is None and row.request_id is None
    assert row.details_map == {"anonymised": 12, "dry_run": False}


def test_in_a_request_the_signed_in_user_address_and_request_id_are_kept(
    app: Flask, create_user: Callable[..., User], create_unit: Callable[..., AgencyUnit]
) -> None:
    unit = create_unit()
    user = create_user(Role.AGENCY_STAFF, unit=unit)
    with app.test_request_context("/cases/1", environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        g.request_id = "0123456789abcdef"
        login_user(user)
        audit.record("case.view", object_type="case", object_id="0191e1c2-aaaa",
                     fields=["child.name", "caller_phone", "child.name"])
    db.session.commit()
    [row] = stored()
    assert (row.actor_id, row.actor_username, row.actor_role, row.unit_id) == (
        user.id, user.username, "agency_staff", unit.id)
    assert (row.client_address, row.request_id) == ("203.0.113.7", "0123456789abcdef")
    assert (row.object_type, row.object_id) == ("case", "0191e1c2-aaaa")
    assert row.field_names == ["caller_phone", "child.name"]  # sorted, each once


def test_public_endpoints_keep_no_address(app: Flask) -> None:
    with app.test_request_context("/api/v1/public/reports", environ_base={"REMOTE_ADDR": "198.51.100.4"}):
        g.request_id = "feedfacefeedface"
        audit.record("text_report.create", object_type="text_report", object_id="r1", public=True)
    db.session.commit()
    [row] = stored()
    assert row.client_address is None
    assert row.request_id == "feedfacefeedface"
    assert row.actor_id is None


def test_an_explicit_actor_wins(app: Flask, create_user: Callable[..., User]) -> None:
    admin = create_user(Role.ADMIN)
    audit.record("user.disable", object_type="user", object_id="u-1", actor=admin, reason="left the job")
    db.session.commit()
    [row] = stored()
    assert (row.actor_id, row.actor_role, row.reason) == (admin.id, "admin", "left the job")


def test_a_rolled_back_action_leaves_no_entry_and_no_gap(app: Flask) -> None:
    audit.record("auth.login")
    db.session.commit()
    audit.record("referral.accept", object_type="referral", object_id="ref-1")
    db.session.rollback()
    assert [row.sequence for row in stored()] == [1]
    audit.record("referral.decline", object_type="referral", object_id="ref-1")
    db.session.commit()
    assert [(row.sequence, row.action) for row in stored()] == [(1, "auth.login"), (2, "referral.decline")]
    assert audit.verify().ok


def test_several_entries_in_one_transaction_chain_up(app: Flask) -> None:
    first = audit.record("export.start")
    second = audit.record("export.finish")
    db.session.commit()
    assert (first.sequence, second.sequence) == (1, 2)
    assert second.prev_hash == first.hash
    assert audit.verify().entries == 2


def test_record_does_not_flush_the_callers_pending_objects(app: Flask) -> None:
    pending = AgencyUnit(agency="police", region="KZ-27", name_kk="k", name_ru="r", name_en="e")
    db.session.add(pending)
    audit.record("unit.create", object_type="unit", object_id=pending.id)
    assert pending in db.session.new  # still the caller's to flush
    db.session.commit()
    assert db.session.get(AgencyUnit, pending.id) is not None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"action": "Case View"}, "action"),
        ({"fields": ["Айгерім Нұрланова"]}, "field name"),
        ({"fields": "child_name"}, "sequence of field names"),
        ({"details": {"amount": 1.5}}, "string, integer"),
        ({"details": {"note": "x" * 201}}, "short printable"),
        ({"details": {"Phone Number": "1"}}, "details key"),
        ({"object_id": "abc"}, "needs an object_type"),
        ({"object_type": "case", "object_id": "Иван Петров"}, "object_id"),
        ({"reason": "x" * 1001}, "reason"),
    ],
)
def test_values_where_names_belong_are_refused(app: Flask, arguments: dict[str, object], message: str) -> None:
    arguments = {"action": "case.view", **arguments}
    with pytest.raises(AuditValueError, match=message):
        audit.record(**arguments)  # type: ignore[arg-type]
    assert stored() == []


def test_entries_cannot_be_changed_or_deleted_through_the_session(app: Flask) -> None:
    audit.record("auth.login")
    db.session.commit()
    entry = db.session.get(AuditEntry, 1)
    assert entry is not None
    entry.action = "auth.logout"
    with pytest.raises(AuditImmutableError):
        db.session.commit()
    db.session.rollback()
    entry = db.session.get(AuditEntry, 1)
    db.session.delete(entry)
    with pytest.raises(AuditImmutableError):
        db.session.commit()
    db.session.rollback()
    assert [row.action for row in stored()] == ["auth.login"]


@pytest.mark.sqlite_only
def test_concurrent_writers_on_sqlite_keep_one_chain(app: Flask) -> None:
    """Without ``BEGIN IMMEDIATE`` two writers read the same head and one append fails."""
    writers, each = 8, 10
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def write(number: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                for index in range(each):
                    audit.record("test.append", details={"writer": number, "index": index})
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
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == writers * each
    result = audit.verify()
    assert (result.ok, result.entries) == (True, writers * each)
