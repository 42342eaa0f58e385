"""Encrypted columns end to end: nothing personal in the raw database, ciphertexts bound to
their place, blind-index search, and key rotation and re-wrapping while data keeps reading."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import MetaData, String, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core import keys_cli
from core.crypto import DecryptionError, FieldCipher, MasterKey
from core.encryption import ENCRYPTED_FIELDS, CryptoService, EncryptedText, crypto, index_candidates
from core.extensions import db
from core.ids import new_id
from core.models import DataKey
from tests.raw_database import raw_database_bytes
from tests.reading import get_row

PEOPLE = [
    # (child name, phone, IIN, address, summary): fictional, but shaped like real data.
    ("Әсел Қайратқызы", "+77011234567", "120315600017", "Теректі ауданы, Фёдоровка ауылы, Мектеп көшесі 7",
     "Қыз мектептен кейін үйге барғысы келмейді, өгей әкесі ұрады дейді."),
    ("Тимур Ахметов", "+77755550123", "110824500041", "г. Уральск, ул. Досмухамедова, 12-34",
     "Мальчик сообщил, что его травят одноклассники в чате, угрожают."),
    ("Ұлжан Серікова", "+77012223344", "130101600015", "Орал қаласы, Абай даңғылы 55",
     "The girl says her aunt keeps her home from school to sell bread at the market."),
]


class RecordBase(DeclarativeBase):
    metadata = MetaData()


@pytest.fixture
def record_model(app: Flask) -> Iterator[Any]:
    """A model of its own metadata (not the application's), created for these tests only."""
    before = len(ENCRYPTED_FIELDS)

    class Record(RecordBase):
        __tablename__ = f"enc_test_{new_id()[-8:]}"
        id: Mapped[str] = mapped_column(String(36), primary_key=True)
        label: Mapped[str] = mapped_column(String(20))
        child_name = EncryptedText(blind_index="child_name")
        phone = EncryptedText(blind_index="phone")
        iin = EncryptedText(blind_index="iin")
        address = EncryptedText()
        summary = EncryptedText()

        def __init__(self, **kwargs: Any) -> None:
            self.id = new_id()
            for key, value in kwargs.items():
                setattr(self, key, value)

    Record.__table__.create(db.engine)  # type: ignore[attr-defined]  # a declarative class's __table__ is set at runtime
    yield Record
    db.session.rollback()
    Record.__table__.drop(db.engine)  # type: ignore[attr-defined]  # a declarative class's __table__ is set at runtime
    del ENCRYPTED_FIELDS[before:]


def _write_people(model: Any) -> list[Any]:
    rows = []
    for i, (name, phone, iin, address, summary) in enumerate(PEOPLE):
        row = model(label=f"p{i}", child_name=name, phone=phone, iin=iin, address=address,
                    summary=summary)
        db.session.add(row)
        rows.append(row)
    db.session.commit()
    return rows


def test_values_read_back_after_a_fresh_load(record_model: Any) -> None:
    rows = _write_people(record_model)
    ids = [r.id for r in rows]
    db.session.expunge_all()
    for row_id, person in zip(ids, PEOPLE, strict=True):
        row = get_row(record_model, row_id)
        assert (row.child_name, row.phone, row.iin, row.address, row.summary) == person


def test_the_raw_database_holds_none_of_the_personal_strings(app: Flask, record_model: Any) -> None:
    _write_people(record_model)
    raw = raw_database_bytes()
    assert raw, "could not read the database"
    for person in PEOPLE:
        for value in person:
            for needle in {value, value.split()[0]} if len(value.split()[0]) > 4 else {value}:
                assert needle.encode() not in raw, f"{needle!r} found in the raw database"
                assert needle.encode("utf-16-le") not in raw


def test_a_ciphertext_moved_to_another_row_or_column_does_not_decrypt(record_model: Any) -> None:
    first, second, _ = _write_people(record_model)
    table = record_model.__tablename__
    first_id, second_id = first.id, second.id
    with db.engine.begin() as connection:
        blob = connection.execute(text(f"SELECT summary FROM {table} WHERE id = :id"),
                                  {"id": first_id}).scalar_one()
        connection.execute(text(f"UPDATE {table} SET summary = :b WHERE id = :id"),
                           {"b": blob, "id": second_id})
        connection.execute(text(f"UPDATE {table} SET address = :b WHERE id = :id"),
                           {"b": blob, "id": first_id})
    db.session.expunge_all()
    with pytest.raises(DecryptionError, match=second_id):
        _ = get_row(record_model, second_id).summary
    with pytest.raises(DecryptionError, match="address"):
        _ = get_row(record_model, first_id).address


def test_blind_index_lookup_finds_exact_matches_only(record_model: Any) -> None:
    _write_people(record_model)
    found = _lookup(record_model, "phone", "8 (701) 123-45-67")
    assert [r.child_name for r in found] == ["Әсел Қайратқызы"]
    assert [r.label for r in _lookup(record_model, "child_name", "  ТИМУР   ахметов ")] == ["p1"]
    assert _lookup(record_model, "iin", "120315600025") == []


def _lookup(model: Any, field: str, value: str) -> list[Any]:
    column = getattr(model, f"{field}_bidx")
    candidates = db.session.scalars(select(model).where(column.in_(index_candidates(field, value))))
    normalise = crypto().indexer.fields[field].normalizer
    return [r for r in candidates if normalise(getattr(r, field)) == normalise(value)]


def _key_ids(model: Any) -> set[int]:
    table = model.__tablename__
    with db.engine.connect() as connection:
        blobs = connection.execute(text(f"SELECT summary FROM {table}")).scalars()
        return {FieldCipher.key_id_of(bytes(b)) for b in blobs}


def test_rotation_rewrites_everything_and_the_old_key_can_be_destroyed(
        app: Flask, record_model: Any) -> None:
    before = [row.id for row in _write_people(record_model)[:2]]
    old_key = crypto().keyring().current_id
    lookups_before = {v: [r.id for r in _lookup(record_model, "phone", v)] for v in ("+77011234567", "+77755550123")}
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate", "--settle-seconds", "0"])
    assert result.exit_code == 0, result.output
    new_key = crypto().keyring().current_id
    assert new_key != old_key and _key_ids(record_model) == {new_key}
    after = record_model(label="late", child_name="Айгерім", phone="+77019998877", iin="120315600017",
                         address="x", summary="written after the rotation")
    db.session.add(after)
    db.session.commit()
    result = runner.invoke(args=["keys", "destroy-retired", "--yes"])
    assert result.exit_code == 0, result.output
    assert db.session.get(DataKey, old_key) is None
    db.session.expunge_all()
    crypto().reload()
    assert {r.summary for r in db.session.scalars(select(record_model))} >= {PEOPLE[0][4], PEOPLE[1][4], "written after the rotation"}
    assert {v: [r.id for r in _lookup(record_model, "phone", v)] for v in lookups_before} == lookups_before
    summaries = {r.id: r.summary for r in db.session.scalars(select(record_model))}
    assert [summaries[row_id] for row_id in before] == [PEOPLE[0][4], PEOPLE[1][4]]


def test_an_interrupted_rotation_resumes_and_values_written_during_it_read_back(
        app: Flask, record_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_people(record_model)
    monkeypatch.setattr(keys_cli, "BATCH", 1)
    calls = {"n": 0}
    real = keys_cli._reencrypt

    def crash_on_second_batch(*args: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(*args)

    monkeypatch.setattr(keys_cli, "_reencrypt", crash_on_second_batch)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate", "--settle-seconds", "0"])
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    db.session.rollback()
    # Mid-rotation: a value written now (new key) and the untouched old ones all read.
    during = record_model(label="during", child_name="Бота", phone="+77011110000", iin="120315600017",
                          address="y", summary="written during the rotation")
    db.session.add(during)
    db.session.commit()
    assert len(_key_ids(record_model)) == 2
    monkeypatch.setattr(keys_cli, "_reencrypt", real)
    result = runner.invoke(args=["keys", "rotate", "--settle-seconds", "0"])
    assert result.exit_code == 0 and "resuming" in result.output
    assert _key_ids(record_model) == {crypto().keyring().current_id}
    db.session.expunge_all()
    summaries = {r.summary for r in db.session.scalars(select(record_model))}
    assert summaries == {p[4] for p in PEOPLE} | {"written during the rotation"}


def test_rewrap_moves_data_keys_to_a_new_master_key(app: Flask, record_model: Any) -> None:
    first_id = _write_people(record_model)[0].id
    original = crypto()
    # What a restart with a new SENIM_MASTER_KEY does: a service with the new master key.
    app.extensions["senim.crypto"] = CryptoService(MasterKey.generate())
    try:
        result = app.test_cli_runner().invoke(args=["keys", "rewrap"],
                                              input=original.master.export_base64() + "\n")
        assert result.exit_code == 0, result.output
        db.session.expunge_all()
        assert get_row(record_model, first_id).summary == PEOPLE[0][4]
        # a second run (say, after an interruption) finds every key already re-wrapped
        again = app.test_cli_runner().invoke(args=["keys", "rewrap"],
                                             input=original.master.export_base64() + "\n")
        assert again.exit_code == 0 and "re-wrapped 0 data keys" in again.output, again.output
        wrong = MasterKey.generate().export_base64()
        app.extensions["senim.crypto"] = CryptoService(MasterKey.generate())  # matches neither
        bad = app.test_cli_runner().invoke(args=["keys", "rewrap"], input=wrong + "\n")
        assert bad.exit_code == 1 and "does not unwrap with the old master key" in bad.output
        assert isinstance(bad.exception, SystemExit)  # a message, not a traceback
    finally:
        app.extensions["senim.crypto"] = original
