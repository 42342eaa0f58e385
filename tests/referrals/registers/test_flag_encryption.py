"""Issue 16 item 11: a child's risk-group flags are encrypted, with a keyed bitmask the register
counts and filters by; the raw database holds no flag code; flags written in clear before the
migration are encrypted by `senim keys encrypt-risk-flags`; a key rotation moves the masks."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select, text

from core.encryption import crypto
from core.extensions import db
from intake.models import RISK_FLAGS, Child

FLAGS = Child.__dict__["risk_flags"]
# Codes that are not substrings of common SQL or JSON words, so a hit means a leak.
SPOTTABLE = [code for code in RISK_FLAGS if len(code) > 6]


def _child(flags: list[str], **extra: Any) -> Child:
    child = Child(region="KZ-27", district="KZ-27-ORAL", sex="female", age=14, **extra)
    child.risk_flags = flags
    db.session.add(child)
    return child


def _raw_children_table() -> bytes:
    """Every column of every row of ``children``, as the database returns it."""
    rows = db.session.execute(text("SELECT * FROM children")).all()
    return b"|".join(bytes(value) if isinstance(value, bytes | memoryview) else
                     str(value).encode() for row in rows for value in row)


def test_the_raw_children_rows_hold_no_flag_code(app: Flask) -> None:
    _child(list(RISK_FLAGS))
    _child(["pregnancy", "hiv_sti"])
    db.session.commit()
    raw = _raw_children_table()
    assert raw and b"KZ-27-ORAL" in raw  # the reading works: the clear district is there
    for code in SPOTTABLE:
        assert code.encode() not in raw, f"{code} readable in the children table"
    db.session.expunge_all()
    assert [sorted(c.risk_flags) for c in db.session.scalars(select(Child).order_by(Child.id))] \
        == [sorted(RISK_FLAGS), ["hiv_sti", "pregnancy"]]


def test_the_mask_filters_and_decodes_without_decrypting(app: Flask) -> None:
    orphan = _child(["orphan"])
    both = _child(["orphan", "pregnancy"])
    _child(["suicide_attempt"])
    none = _child([])
    db.session.commit()
    assert none.risk_flags_mask == 0 and none.risk_flags == []
    found = set(db.session.scalars(select(Child.id).where(FLAGS.mask_filter(Child, ["orphan"]))))
    assert found == {orphan.id, both.id}
    key_id, mask = db.session.execute(select(Child.risk_flags_key, Child.risk_flags_mask)
                                      .where(Child.id == both.id)).one()
    assert FLAGS.decode_mask(key_id, mask) == ["orphan", "pregnancy"]
    assert bin(mask).count("1") == 2 and mask not in (1 | 2**7, 0b110000001)  # keyed, not ordinal


def test_a_rotation_keeps_the_register_queryable_and_moves_every_mask(app: Flask) -> None:
    before = _child(["pregnancy"])
    db.session.commit()
    old_key = crypto().keyring().current_id
    crypto().add_current_key()
    during = _child(["pregnancy"])  # written under the new key mid-rotation
    db.session.commit()
    assert {before.risk_flags_key, during.risk_flags_key} == {old_key, old_key + 1}
    found = set(db.session.scalars(select(Child.id).where(FLAGS.mask_filter(Child, ["pregnancy"]))))
    assert found == {before.id, during.id}
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--settle-seconds", "0"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert {c.risk_flags_key for c in db.session.scalars(select(Child))} == {
        crypto().keyring().current_id}
    found = set(db.session.scalars(select(Child.id).where(FLAGS.mask_filter(Child, ["pregnancy"]))))
    assert found == {before.id, during.id}


def test_flags_left_in_clear_by_the_migration_are_encrypted_by_the_cli_step(app: Flask) -> None:
    legacy = _child([], risk_flags_legacy=["orphan", "hiv_sti"])
    mixed = _child(["pregnancy"], risk_flags_legacy=["orphan"])
    db.session.commit()
    assert b"hiv_sti" in _raw_children_table()  # what an upgraded database starts with
    result = app.test_cli_runner().invoke(args=["keys", "encrypt-risk-flags"])
    assert result.exit_code == 0, result.output
    assert "2 children with flags in clear" in result.output
    db.session.expire_all()
    assert legacy.risk_flags == ["orphan", "hiv_sti"] and legacy.risk_flags_legacy is None
    assert mixed.risk_flags == ["pregnancy", "orphan"]
    assert b"hiv_sti" not in _raw_children_table()
    again = app.test_cli_runner().invoke(args=["keys", "encrypt-risk-flags"])
    assert "encrypted the flags of 0 children" in again.output
