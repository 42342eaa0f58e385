"""The child's side through the public API (interfaces.md): a report gives a follow-up code,
the code opens the thread and lets the child write more; unknown codes get a 404 with no hint;
the school token decides the district; nothing about the child's network is kept."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.audit.models import AuditEntry
from core.extensions import db
from intake.text import codes
from intake.text.models import School, TextMessage, TextReport
from intake.text.schools import rotate_token
from tests.intake.text.conftest import BULLYING_KK
from tests.reading import json_of, poster_token

pytestmark = pytest.mark.usefixtures("directory")


def _only_report() -> TextReport:
    [found] = db.session.scalars(select(TextReport)).all()
    return found


def test_a_report_returns_a_code_once_and_lands_in_the_schools_district(report: Any) -> None:
    response = report()
    assert response.status_code == 201, response.json
    code = response.json["follow_up_code"]
    assert codes.normalise(code) is not None and set(response.json) == {"follow_up_code"}
    stored = _only_report()
    assert (stored.region, stored.district) == ("KZ-27", "KZ-27-TEREKTI")
    assert stored.status == "open" and not stored.urgent and stored.age == 13
    assert stored.code_hash == codes.code_hash(code) and code not in stored.code_hash


def test_the_code_opens_the_thread_and_the_child_writes_more(report: Any, thread: Any,
                                                            client: FlaskClient) -> None:
    code = report().json["follow_up_code"]
    first = thread(code.lower().replace("-", " "))  # typed loosely: still the same code
    assert first.status_code == 200
    assert first.json == {"messages": [{"from": "child", "text": BULLYING_KK,
                                        "at": "2026-11-20T10:00:00+05:00"}], "status": "open"}
    more = client.post("/api/v1/public/reports/messages",
                       json={"follow_up_code": code, "text": "Бүгін де солай болды."})
    assert more.status_code == 200
    assert [m["text"] for m in json_of(more)["messages"]] == [BULLYING_KK, "Бүгін де солай болды."]


@pytest.mark.parametrize("wrong", ["0000-0000-0000-0000", "hello", "", "A" * 64])
def test_an_unknown_code_is_a_404_that_says_nothing_more(report: Any, thread: Any, wrong: str) -> None:
    report()
    response = thread(wrong) if wrong else thread("x")
    assert response.status_code == 404
    assert response.json == {"error": {"code": "not_found",
                                       "message": "no conversation with this code"}}


def test_a_code_never_travels_in_a_url(client: FlaskClient) -> None:
    """The public endpoints take the code only in the body: GET and query strings do nothing."""
    assert client.get("/api/v1/public/reports/thread?follow_up_code=X").status_code == 405
    public = [r for r in client.application.url_map.iter_rules()
              if r.endpoint.startswith(("text_public.", "api.public_"))]
    assert len(public) == 8
    assert not [r.rule for r in public if "code" in r.rule or r.arguments - {"school_token"}]


def test_the_token_routes_to_the_schools_district_even_after_the_school_moves(
        report: Any, school: School) -> None:
    report()
    school.district = "KZ-27-ORAL"
    db.session.commit()
    report(text="Тағы жазамын")
    districts = sorted(r.district or "" for r in db.session.scalars(select(TextReport)))
    assert districts == ["KZ-27-ORAL", "KZ-27-TEREKTI"]


def test_unknown_and_replaced_tokens_take_no_report(report: Any, client: FlaskClient,
                                                    school: School, app: Flask) -> None:
    from core.clock import utcnow

    old = poster_token(school)
    rotate_token(school, utcnow())
    db.session.commit()
    assert report().status_code == 404  # the fixture's token is the retired one
    body = {"school_token": "nope", "text": "x"}
    assert client.post("/api/v1/public/reports", json=body).status_code == 404
    page = client.get(f"/r/{old}", headers={"Accept-Language": "ru"})
    assert page.status_code == 410 and "111" in page.get_data(as_text=True)
    new = poster_token(school)
    assert new != old and client.get(f"/r/{new}").status_code == 200


def test_an_idempotent_resend_gets_the_same_code_and_creates_nothing(client: FlaskClient,
                                                                     token: str) -> None:
    body = {"school_token": token, "text": "Менің атым жоқ", "language": "kk"}
    first = client.post("/api/v1/public/reports", json=body, headers={"Idempotency-Key": "abc"})
    again = client.post("/api/v1/public/reports", json=body, headers={"Idempotency-Key": "abc"})
    other = client.post("/api/v1/public/reports", json={**body, "text": "басқа"},
                        headers={"Idempotency-Key": "abc"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json == first.json
    assert db.session.scalar(select(func.count()).select_from(TextReport)) == 1


@pytest.mark.parametrize("change, field", [
    ({"text": ""}, "text"), ({"age": 3}, "age"), ({"safe_now": "maybe"}, "safe_now"),
    ({"language": "de"}, "language"), ({"ip": "1.2.3.4"}, "ip"), ({"text": "a\x00b"}, "text"),
])
def test_bad_fields_are_named(report: Any, change: dict[str, Any], field: str) -> None:
    response = report(**change)
    assert response.status_code == 422 and field in response.json["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(TextReport)) == 0


def test_oversized_bodies_are_refused_before_reading(client: FlaskClient, token: str) -> None:
    body = {"school_token": token, "text": "ж" * 30_000}
    response = client.post("/api/v1/public/reports", json=body)
    assert response.status_code == 413 and json_of(response)["error"]["code"] == "too_large"


def test_no_network_identity_and_no_text_or_code_in_logs_or_audit(
        report: Any, thread: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code = report(text="Жасырын сөз qwerty-secret-text").json["follow_up_code"]
    thread(code)
    entries = list(db.session.scalars(select(AuditEntry)))
    assert [e.action for e in entries] == ["text_report.created"]
    assert all(e.client_address is None and e.actor_id is None for e in entries)
    logged = caplog.text
    assert "qwerty-secret-text" not in logged and code not in logged
    columns = {c.name for c in TextReport.__table__.columns}
    assert not columns & {"ip", "address", "client_address", "user_agent", "remote_addr"}


def test_a_closed_thread_shows_closed_and_takes_no_more(report: Any, thread: Any,
                                                        client: FlaskClient) -> None:
    code = report().json["follow_up_code"]
    stored = _only_report()
    stored.status = "closed"
    db.session.commit()
    assert thread(code).json["status"] == "closed"
    more = client.post("/api/v1/public/reports/messages", json={"follow_up_code": code, "text": "?"})
    assert more.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(TextMessage)) == 1
