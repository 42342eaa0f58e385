"""Verification against a stored chain tampered with behind the application's back, signed
checkpoints, incremental verification and the ``senim audit`` commands.

On PostgreSQL the trigger refuses UPDATE and DELETE, so the tampering here plays an insider with
superuser rights who switches triggers off (``session_replication_role = replica``).
"""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import Executable, text

from core import audit
from core.audit.chain import ROW_COLUMNS, entry_hash
from core.audit.checkpoints import CheckpointError, CheckpointStore, sign
from core.clock import FrozenClock
from core.extensions import db


@pytest.fixture(autouse=True)
def folder(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_PATH", str(tmp_path / "audit-signing-key"))
    return tmp_path / "checkpoints"


def append(count: int, clock: FrozenClock | None = None) -> None:
    for index in range(count):
        if clock is not None:
            clock.advance(timedelta(seconds=1))
        audit.record("case.view", object_type="case", object_id=f"case-{index}", fields=["child_name"])
        db.session.commit()


def tamper(statement: str | Executable, **params: Any) -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(statement) if isinstance(statement, str) else statement, params)


def overwrite(sequence: int, **values: Any) -> None:
    """UPDATE through the table's column types (times stay in the stored format)."""
    table = audit.AuditEntry.__table__
    tamper(table.update().where(table.c.sequence == sequence).values(**values))


def load_rows() -> list[dict[str, Any]]:
    table = audit.AuditEntry.__table__
    with db.engine.connect() as connection:
        result = connection.execute(table.select().order_by(table.c.sequence))
        return [dict(row._mapping) for row in result]


def rewrite_from(sequence: int, **changes: Any) -> None:
    """Edit one entry and recompute every hash from there on: a self-consistent forged chain."""
    rows = load_rows()
    prev = rows[sequence - 2]["hash"] if sequence > 1 else audit.GENESIS_HASH
    for row in rows[sequence - 1:]:
        if row["sequence"] == sequence:
            row.update(changes)
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(row)
        tamper("UPDATE audit_entries SET action = :action, prev_hash = :prev_hash, hash = :hash "
               "WHERE sequence = :sequence", **row)


def bad(result: audit.VerifyResult) -> int | None:
    assert not result.ok, result
    return result.first_bad


def test_an_untouched_chain_verifies(app: Flask, clock: FrozenClock) -> None:
    append(25, clock)
    result = audit.verify()
    assert (result.ok, result.entries, result.verified_from, result.problem) == (True, 25, 1, None)


def test_an_edited_entry_is_found(app: Flask) -> None:
    append(6)
    tamper("UPDATE audit_entries SET fields = 'child_name,child_iin' WHERE sequence = 4")
    assert bad(audit.verify()) == 4


def test_an_edited_time_is_found(app: Flask, clock: FrozenClock) -> None:
    append(3, clock)
    overwrite(2, occurred_at=load_rows()[0]["occurred_at"])
    assert bad(audit.verify()) == 2


def test_a_deleted_entry_is_found(app: Flask) -> None:
    append(6)
    tamper("DELETE FROM audit_entries WHERE sequence = 3")
    assert bad(audit.verify()) == 3


def test_deleting_the_first_entry_is_found(app: Flask) -> None:
    append(3)
    tamper("DELETE FROM audit_entries WHERE sequence = 1")
    assert bad(audit.verify()) == 1


def test_swapped_entries_are_found(app: Flask, clock: FrozenClock) -> None:
    append(6, clock)
    rows = load_rows()
    for target, source in ((3, rows[3]), (4, rows[2])):
        overwrite(target, **{name: source[name] for name in ROW_COLUMNS if name != "sequence"})
    assert bad(audit.verify()) == 3


def test_a_cut_off_tail_is_found_back_to_the_last_checkpoint(app: Flask) -> None:
    append(6)
    checkpoint = audit.write_checkpoint()
    assert checkpoint is not None and checkpoint.sequence == 6
    append(4)
    # Above the last checkpoint a cut cannot be told from a younger chain (security.md §3) ...
    tamper("DELETE FROM audit_entries WHERE sequence > 8")
    assert audit.verify().ok
    # ... below it, it can.
    tamper("DELETE FROM audit_entries WHERE sequence > 4")
    result = audit.verify()
    assert bad(result) == 5
    assert "checkpoint" in (result.problem or "")


def test_a_rewritten_chain_is_found_through_a_checkpoint(app: Flask, folder: Path) -> None:
    append(5)
    audit.write_checkpoint()
    append(5)
    audit.write_checkpoint()
    rewrite_from(7, action="case.export")
    assert bad(audit.verify()) == 10
    rewrite_from(2, action="case.export")
    assert bad(audit.verify()) == 5  # the earliest checkpoint that no longer matches
    for path in folder.glob("checkpoint-*"):
        path.unlink()
    assert audit.verify().ok  # the forgery is self-consistent: only checkpoints reveal it


def test_a_forged_checkpoint_is_found(app: Flask, folder: Path) -> None:
    append(3)
    checkpoint = audit.write_checkpoint()
    assert checkpoint is not None
    document = json.loads(checkpoint.path.read_text())
    document["hash"] = "0" * 63 + "1"
    checkpoint.path.write_text(json.dumps(document))
    result = audit.verify()
    assert bad(result) == 3
    assert "bad signature" in (result.problem or "")


def test_a_checkpoint_signed_with_another_key_is_found(app: Flask, folder: Path) -> None:
    append(3)
    head = load_rows()[-1]
    other = sign(Ed25519PrivateKey.generate(), 3, head["hash"], "2026-11-20T05:00:00.000000+00:00")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "checkpoint-000000000003.json").write_text(json.dumps(other))
    result = audit.verify()
    assert bad(result) == 3
    assert "another key" in (result.problem or "")


def test_a_renamed_checkpoint_is_found(app: Flask) -> None:
    append(3)
    checkpoint = audit.write_checkpoint()
    assert checkpoint is not None
    checkpoint.path.rename(checkpoint.path.with_name("checkpoint-000000000002.json"))
    assert bad(audit.verify()) == 2


def test_files_not_named_like_checkpoints_are_ignored(app: Flask, folder: Path) -> None:
    append(2)
    audit.write_checkpoint()
    (folder / "checkpoint-notes.txt").write_text("not a checkpoint")
    assert audit.verify().ok


def test_writing_a_checkpoint_refuses_a_broken_chain(app: Flask, folder: Path) -> None:
    append(3)
    tamper("UPDATE audit_entries SET action = 'x.y' WHERE sequence = 2")
    with pytest.raises(audit.AuditChainError) as raised:
        audit.write_checkpoint()
    assert raised.value.result.first_bad == 2
    assert list(folder.glob("checkpoint-*")) == []


def test_checkpoints_are_idempotent_and_empty_chains_get_none(app: Flask) -> None:
    assert audit.write_checkpoint() is None
    append(2)
    first, again = audit.write_checkpoint(), audit.write_checkpoint()
    assert first is not None and again is not None
    assert (first.sequence, first.hash, first.path) == (again.sequence, again.hash, again.path)


def test_the_signing_key_is_generated_private_outside_production(app: Flask, tmp_path: Path) -> None:
    audit.checkpoint_store()
    mode = stat.S_IMODE((tmp_path / "audit-signing-key").stat().st_mode)
    assert mode == 0o600


def test_production_requires_an_existing_signing_key(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    production = app.config["SENIM"].with_overrides(env="production")
    monkeypatch.setitem(app.config, "SENIM", production)
    with pytest.raises(CheckpointError, match="missing"):
        audit.verify()


def test_incremental_verification_starts_at_the_last_verified_checkpoint(app: Flask) -> None:
    append(5)
    audit.write_checkpoint()
    append(3)
    result = audit.verify_incremental()
    assert result.to_json() == {"ok": True, "entries": 4, "verified_from": 5}
    # Entries before the checkpoint were verified when it was written; the full replay
    # (`senim audit verify`) is what looks at them again.
    tamper("UPDATE audit_entries SET action = 'x.y' WHERE sequence = 2")
    assert audit.verify_incremental().ok
    assert bad(audit.verify()) == 2


def test_incremental_verification_finds_an_edit_after_the_checkpoint(app: Flask) -> None:
    append(5)
    audit.write_checkpoint()
    append(3)
    tamper("UPDATE audit_entries SET action = 'x.y' WHERE sequence = 7")
    assert audit.verify_incremental().to_json() == {"ok": False, "first_bad": 7}


def test_incremental_verification_finds_a_cut_at_its_starting_checkpoint(app: Flask) -> None:
    append(5)
    audit.write_checkpoint()
    tamper("DELETE FROM audit_entries WHERE sequence >= 4")
    assert audit.verify_incremental().to_json() == {"ok": False, "first_bad": 4}


def test_incremental_verification_without_checkpoints_verifies_everything(app: Flask) -> None:
    append(3)
    assert audit.verify_incremental().to_json() == {"ok": True, "entries": 3, "verified_from": 1}


def test_the_last_verified_pointer_only_names_a_starting_checkpoint(app: Flask, folder: Path) -> None:
    append(4)
    audit.write_checkpoint()
    store: CheckpointStore = audit.checkpoint_store()
    store.remember_verified(3)  # no checkpoint there: ignored, everything is verified
    assert audit.verify_incremental().to_json() == {"ok": True, "entries": 4, "verified_from": 1}
    assert store.last_verified() == 4


def test_cli_verify_reports_the_count(app: Flask) -> None:
    append(3)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3 entries verified"


def test_cli_verify_names_the_first_bad_entry(app: Flask) -> None:
    append(5)
    tamper("DELETE FROM audit_entries WHERE sequence = 2")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "entry 2" in result.stderr
    assert "entries verified" not in result.output


def test_cli_checkpoint_then_verify_finds_a_cut(app: Flask, folder: Path) -> None:
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["audit", "checkpoint"])
    assert empty.exit_code == 0 and "empty" in empty.output
    append(4)
    written = runner.invoke(args=["audit", "checkpoint"])
    assert written.exit_code == 0, written.output
    assert "checkpoint at entry 4" in written.output
    assert (folder / "checkpoint-000000000004.json").exists()
    tamper("DELETE FROM audit_entries WHERE sequence = 4")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "entry 4" in result.stderr
    refused = runner.invoke(args=["audit", "checkpoint"])
    assert refused.exit_code == 1 and "entry 4" in refused.stderr
