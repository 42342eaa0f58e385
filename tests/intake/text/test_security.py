"""What the school channel promises about secrets: texts encrypted at rest, follow-up codes
with at least 80 bits of randomness stored only as digests, and rate limits that hold."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from core.extensions import db
from intake.text import codes, throttle
from intake.text.models import TextMessage, TextReport
from tests.raw_database import raw_database_bytes
from tests.reading import get_row, json_of

pytestmark = pytest.mark.usefixtures("directory")

CHILD_SECRET = "Ағайым түнде бөлмеме кіреді, ешкімге айтпа деді"
CHILD_MORE = "Мамам білмейді, қорқамын"
CONTACT_HOW = "тек осы жерде жазыңыздар"
REPLY_SECRET = "Сен батыл қызсың, біз саған көмектесеміз"


def test_report_and_reply_texts_are_not_in_the_raw_database(app: Flask, client: FlaskClient,
                                                            token: str, bearer: Any,
                                                            operator: Any) -> None:
    body = {"school_token": token, "text": CHILD_SECRET, "contact_ok": True,
            "contact_how": CONTACT_HOW, "language": "kk"}
    code = json_of(client.post("/api/v1/public/reports", json=body))["follow_up_code"]
    client.post("/api/v1/public/reports/messages", json={"follow_up_code": code, "text": CHILD_MORE})
    report_id = db.session.scalars(select(TextReport.id)).one()
    client.post(f"/api/v1/text-reports/{report_id}/reply", json={"text": REPLY_SECRET},
                headers=bearer(operator))
    db.session.expire_all()
    assert [m.text for m in get_row(TextReport, report_id).messages] == [
        CHILD_SECRET, CHILD_MORE, REPLY_SECRET]  # readable through the model...
    raw = raw_database_bytes()
    for secret in (CHILD_SECRET, CHILD_MORE, CONTACT_HOW, REPLY_SECRET, code,
                   codes.normalise(code) or "?"):
        for word in {secret, *[w for w in secret.split() if len(w) > 5]}:
            assert word.encode() not in raw, f"{word!r} in the raw database"
    with db.engine.connect() as connection:  # ...and ciphertext in the column itself
        stored = connection.execute(text("SELECT text FROM text_messages")).scalars().all()
    assert stored and all(isinstance(blob, bytes | memoryview) for blob in stored)


def test_codes_carry_80_bits_and_are_stored_only_as_digests() -> None:
    assert codes.CODE_BITS >= 80 and len(codes.ALPHABET) ** codes.CODE_SYMBOLS >= 2 ** 80
    sample = [codes.new_code() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}", c) for c in sample)
    assert len(set(sample)) == len(sample)
    # every symbol of the alphabet turns up about equally often in every position
    symbols = Counter(ch for c in sample for ch in c.replace("-", ""))
    expected = 2000 * 16 / 32
    assert set(symbols) == set(codes.ALPHABET)
    assert all(abs(n - expected) < 6 * math.sqrt(expected) for n in symbols.values())
    digest = codes.code_hash(sample[0])
    assert digest is not None and len(digest) == 64 and sample[0].replace("-", "") not in digest
    assert codes.code_hash(sample[0].lower().replace("-", " ")) == digest
    assert codes.code_hash("O" + sample[0][1:]) == codes.code_hash("0" + sample[0][1:])


def test_a_stored_report_keeps_no_code_and_no_network_identity(client: FlaskClient, token: str) -> None:
    code = json_of(client.post("/api/v1/public/reports", json={"school_token": token, "text": "сәлем"},
                               environ_base={"REMOTE_ADDR": "203.0.113.99"},
                               headers={"User-Agent": "TestPhone/1.0"}))["follow_up_code"]
    row = db.session.execute(select(TextReport.__table__)).mappings().one()
    flat = " ".join(str(v) for v in row.values())
    normalised = codes.normalise(code)
    assert normalised is not None
    assert code not in flat and normalised not in flat
    assert "203.0.113.99" not in flat and "TestPhone" not in flat


def test_reports_per_address_are_limited(client: FlaskClient, token: str) -> None:
    allowed = int(throttle.REPORTS_PER_ADDRESS.split()[0])
    statuses = [client.post("/api/v1/public/reports", json={"school_token": token, "text": f"m{i}"},
                            environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code
                for i in range(allowed + 1)]
    assert statuses == [201] * allowed + [429]
    other = client.post("/api/v1/public/reports", json={"school_token": token, "text": "x"},
                        environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert other.status_code == 201  # another phone is not punished
    page = client.post(f"/r/{token}", data={"text": "y"}, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert page.status_code == 429 and "111" in page.get_data(as_text=True)


def test_reports_per_school_token_are_limited(client: FlaskClient, token: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "REPORTS_PER_TOKEN", "3 per hour")
    statuses = [client.post("/api/v1/public/reports", json={"school_token": token, "text": "x"},
                            environ_base={"REMOTE_ADDR": f"198.51.100.{i}"}).status_code
                for i in range(10, 14)]
    assert statuses == [201, 201, 201, 429]


def test_guessing_codes_is_throttled_per_address(client: FlaskClient) -> None:
    allowed = int(throttle.THREAD_READS_PER_ADDRESS.split()[0])
    statuses = [client.post("/api/v1/public/reports/thread", json={"follow_up_code": codes.new_code()},
                            environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code
                for _ in range(allowed + 1)]
    assert statuses == [404] * allowed + [429]


def test_the_limiter_never_holds_the_address_itself(app: Flask, client: FlaskClient, token: str) -> None:
    from core.extensions import limiter

    client.post("/api/v1/public/reports", json={"school_token": token, "text": "x"},
                environ_base={"REMOTE_ADDR": "192.0.2.200"})
    storage = limiter.storage
    keys = " ".join(map(str, getattr(storage, "storage", {}).keys()))
    assert keys and "192.0.2.200" not in keys


def test_messages_in_a_thread_have_a_ceiling(client: FlaskClient, token: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from intake.text import service

    monkeypatch.setattr(service, "MAX_CHILD_MESSAGES", 2)
    code = json_of(client.post("/api/v1/public/reports", json={"school_token": token, "text": "1"}))["follow_up_code"]
    ok = client.post("/api/v1/public/reports/messages", json={"follow_up_code": code, "text": "2"})
    full = client.post("/api/v1/public/reports/messages", json={"follow_up_code": code, "text": "3"})
    assert (ok.status_code, full.status_code) == (200, 409)
    assert len(db.session.scalars(select(TextMessage)).all()) == 2
