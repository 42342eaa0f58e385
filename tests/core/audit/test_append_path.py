"""The append path's economy (issue 13): one lock and one head read per transaction, entries
batched to the end of a submission, and the chain still exact after savepoints roll back."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from core import audit
from core.audit import AuditEntry
from core.extensions import db
from tests.sql import counting_statements


def _stored() -> list[tuple[int, str]]:
    return [(e.sequence, e.action) for e in
            db.session.scalars(select(AuditEntry).order_by(AuditEntry.sequence))]


def test_later_appends_in_a_transaction_reuse_the_lock_and_the_head(app: Flask) -> None:
    with counting_statements(db.engine) as seen:
        for action in ("export.start", "export.step", "export.finish"):
            audit.record(action)
    db.session.commit()
    head_reads = [s for s in seen if s.lstrip().upper().startswith("SELECT AUDIT_ENTRIES")]
    assert len(head_reads) == 1 and len(seen) <= 5  # (lock,) head, three inserts
    assert _stored() == [(1, "export.start"), (2, "export.step"), (3, "export.finish")]
    assert audit.verify().ok


def test_the_head_is_read_again_after_a_savepoint_rolled_back(app: Flask) -> None:
    audit.record("export.start")
    nested = db.session.begin_nested()
    audit.record("export.lost")
    nested.rollback()
    audit.record("export.finish")
    db.session.commit()
    assert _stored() == [(1, "export.start"), (2, "export.finish")]
    assert audit.verify().ok


def test_a_new_transaction_reads_the_head_again(app: Flask) -> None:
    audit.record("export.start")
    db.session.commit()
    audit.record("export.finish")
    db.session.commit()
    assert _stored() == [(1, "export.start"), (2, "export.finish")]
    assert audit.verify().ok


def test_a_batch_is_appended_at_its_end_in_one_statement(app: Flask) -> None:
    audit.record("auth.login")
    with counting_statements(db.engine) as seen, audit.batched():
        first = audit.record("contact.created", object_type="contact", object_id="c-1")
        second = audit.record("routing.decided", object_type="routing_decision", object_id="d-1")
        assert first.sequence is None and seen == []  # nothing written inside the block
    assert len([s for s in seen if s.lstrip().upper().startswith("INSERT")]) == 1
    db.session.commit()
    assert (first.sequence, second.sequence) == (2, 3) and second.prev_hash == first.hash
    assert _stored() == [(1, "auth.login"), (2, "contact.created"), (3, "routing.decided")]
    assert audit.verify().ok


def test_a_failed_batch_appends_nothing(app: Flask) -> None:
    with pytest.raises(RuntimeError), audit.batched():
        audit.record("contact.created", object_type="contact", object_id="c-1")
        raise RuntimeError("the submission failed")
    db.session.rollback()
    audit.record("auth.login")
    db.session.commit()
    assert _stored() == [(1, "auth.login")]


def test_nested_batches_join_the_outer_one(app: Flask) -> None:
    with audit.batched():
        audit.record("export.start")
        with audit.batched():
            inner = audit.record("export.step")
        assert inner.sequence is None  # still waiting for the outer block
    db.session.commit()
    assert _stored() == [(1, "export.start"), (2, "export.step")]
