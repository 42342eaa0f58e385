"""The helpline's side through the API: the queue in triage order with waiting times, claims
that expire (moved by the injected clock), replies the child reads, closing, conversion into a
contact and case that routes as usual, supervisors told of urgent reports, region scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from intake.models import Case, Contact
from intake.text.models import TextReport
from referrals.handoffs.models import Referral
from referrals.handoffs.notification_models import Notification
from tests.intake.text.conftest import SUICIDE_RU
from tests.reading import get_row

pytestmark = pytest.mark.usefixtures("directory")


@pytest.fixture
def staff(client: FlaskClient, bearer: Any) -> Any:
    class Staff:
        def __init__(self, user: User) -> None:
            self.headers = bearer(user)

        def get(self, path: str) -> Any:
            return client.get(f"/api/v1{path}", headers=self.headers)

        def post(self, path: str, body: Any = None) -> Any:
            return client.post(f"/api/v1{path}", json=body or {}, headers=self.headers)
    return Staff


def test_the_queue_puts_risk_first_then_the_longest_waiting(report: Any, staff: Any,
                                                            operator: User, clock: FrozenClock) -> None:
    report(text="Бірінші хабарлама")
    clock.advance(timedelta(minutes=6))
    report(text="Екінші хабарлама")
    clock.advance(timedelta(minutes=1))
    report(text=SUICIDE_RU, language="ru")
    clock.advance(timedelta(minutes=10))
    body = staff(operator).get("/text-reports?status=open").json
    items = body["items"]
    assert [i["urgent"] for i in items] == [True, False, False]
    assert [i["waiting_seconds"] for i in items] == [600, 17 * 60, 11 * 60]
    assert items[0]["risk"] == ["suicide"] and items[0]["status"] == "open"
    assert items[1]["school"] == {"id": items[1]["school"]["id"],
                                  "name": "№3 жалпы білім беретін мектеп", "region": "KZ-27",
                                  "district": "KZ-27-TEREKTI"}
    assert body["next_cursor"] is None


def test_the_queue_pages_with_a_cursor(report: Any, staff: Any, operator: User,
                                       clock: FrozenClock) -> None:
    for i in range(5):
        report(text=f"хабарлама {i}")
        clock.advance(timedelta(minutes=1))
    api = staff(operator)
    first = api.get("/text-reports?limit=2").json
    second = api.get(f"/text-reports?limit=2&cursor={first['next_cursor']}").json
    third = api.get(f"/text-reports?limit=2&cursor={second['next_cursor']}").json
    ids = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    assert api.get("/text-reports?status=nope").status_code == 422


def test_one_operator_at_a_time_and_a_claim_expires(report: Any, staff: Any, create_user: Any,
                                                    clock: FrozenClock) -> None:
    report()
    first, second = create_user("operator"), create_user("operator")
    a, b = staff(first), staff(second)
    report_id = a.get("/text-reports").json["items"][0]["id"]
    claimed = a.post(f"/text-reports/{report_id}/claim")
    assert claimed.status_code == 200 and claimed.json["claimed_by"]["id"] == first.id
    assert b.post(f"/text-reports/{report_id}/claim").status_code == 409
    assert b.post(f"/text-reports/{report_id}/reply", {"text": "Сәлем"}).status_code == 409
    clock.advance(timedelta(minutes=9, seconds=59))
    assert b.post(f"/text-reports/{report_id}/claim").status_code == 409
    clock.advance(timedelta(seconds=1))  # ten minutes without a reply: the claim lapses
    assert a.get(f"/text-reports/{report_id}").json["claimed_by"] is None
    taken = b.post(f"/text-reports/{report_id}/claim")
    assert taken.status_code == 200 and taken.json["claimed_by"]["id"] == second.id


def test_a_reply_reaches_the_child_and_a_later_child_message_reopens(
        report: Any, thread: Any, staff: Any, operator: User, client: FlaskClient,
        clock: FrozenClock) -> None:
    code = report().json["follow_up_code"]
    api = staff(operator)
    report_id = api.get("/text-reports").json["items"][0]["id"]
    clock.advance(timedelta(minutes=3))
    answered = api.post(f"/text-reports/{report_id}/reply", {"text": "Сәлем! Біз сенімен біргеміз."})
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    assert answered.json["messages"][-1]["author"]["id"] == operator.id
    seen = thread(code).json
    assert seen["messages"][-1] == {"from": "helpline", "text": "Сәлем! Біз сенімен біргеміз.",
                                    "at": "2026-11-20T10:03:00+05:00"}
    assert "author" not in seen["messages"][-1]  # the child never learns who answered
    assert api.get("/text-reports?status=open").json["items"] == []
    client.post("/api/v1/public/reports/messages", json={"follow_up_code": code, "text": "Рақмет"})
    clock.advance(timedelta(minutes=2))
    [waiting] = api.get("/text-reports?status=open").json["items"]
    assert waiting["id"] == report_id and waiting["waiting_seconds"] == 120


def test_closing_shows_the_child_a_closed_thread(report: Any, thread: Any, staff: Any,
                                                 operator: User) -> None:
    code = report().json["follow_up_code"]
    api = staff(operator)
    report_id = api.get("/text-reports").json["items"][0]["id"]
    assert api.post(f"/text-reports/{report_id}/close").json["status"] == "closed"
    assert thread(code).json["status"] == "closed"
    assert api.post(f"/text-reports/{report_id}/reply", {"text": "x"}).status_code == 409
    assert api.post(f"/text-reports/{report_id}/close").status_code == 409


def test_urgent_reports_notify_the_supervisors_of_the_region(report: Any, create_user: Any,
                                                             client: FlaskClient) -> None:
    here = create_user("supervisor", region="KZ-27")
    everywhere = create_user("supervisor")
    elsewhere = create_user("supervisor", region="KZ-75")
    report()  # bullying: no notification
    assert db.session.scalars(select(Notification)).all() == []
    code = report(text=SUICIDE_RU, language="ru").json["follow_up_code"]
    notified = {n.user_id for n in db.session.scalars(select(Notification))}
    assert notified == {here.id, everywhere.id} and elsewhere.id not in notified
    assert {n.kind for n in db.session.scalars(select(Notification))} == {"urgent_text_report"}
    # a later message with a risk phrase does not notify again for an urgent report...
    client.post("/api/v1/public/reports/messages",
                json={"follow_up_code": code, "text": "хочу умереть"})
    assert len(db.session.scalars(select(Notification)).all()) == 2


def test_a_quiet_report_becomes_urgent_when_a_later_message_signals_risk(
        report: Any, client: FlaskClient, create_user: Any, staff: Any, operator: User) -> None:
    supervisor = create_user("supervisor")
    code = report().json["follow_up_code"]
    client.post("/api/v1/public/reports/messages",
                json={"follow_up_code": code, "text": "Үйде әкем мені ұрып жатыр"})
    [item] = staff(operator).get("/text-reports").json["items"]
    assert item["urgent"] and item["risk"] == ["immediate_danger"]
    assert [n.user_id for n in db.session.scalars(select(Notification))] == [supervisor.id]


def test_answering_no_to_are_you_safe_is_urgent(report: Any) -> None:
    report(safe_now="no")
    [stored] = db.session.scalars(select(TextReport)).all()
    assert stored.urgent and stored.risk == ["not_safe"]


def test_reports_outside_an_operators_region_are_invisible(report: Any, staff: Any,
                                                           create_user: Any) -> None:
    report()
    other = staff(create_user("operator", region="KZ-75"))
    assert other.get("/text-reports").json["items"] == []
    report_id = db.session.scalars(select(TextReport.id)).one()
    assert other.get(f"/text-reports/{report_id}").status_code == 404
    assert other.post(f"/text-reports/{report_id}/reply", {"text": "x"}).status_code == 404


@pytest.mark.parametrize("role", ["agency_staff", "agency_head", "admin", "auditor"])
def test_only_the_helpline_reaches_the_queue(report: Any, staff: Any, create_user: Any,
                                             create_unit: Any, role: str) -> None:
    unit = create_unit("police", "KZ-27", "KZ-27-TEREKTI") if role.startswith("agency") else None
    assert staff(create_user(role, unit=unit)).get("/text-reports").status_code == 403


def test_conversion_opens_a_case_that_routes_as_usual(report: Any, thread: Any, staff: Any,
                                                      operator: User, client: FlaskClient) -> None:
    code = report().json["follow_up_code"]
    api = staff(operator)
    report_id = api.get("/text-reports").json["items"][0]["id"]
    api.post(f"/text-reports/{report_id}/claim")
    converted = api.post(f"/text-reports/{report_id}/convert", {
        "categories": ["violence.bullying"], "urgency": "P3"})
    assert converted.status_code == 201, converted.json
    case = get_row(Case, converted.json["case_id"])
    contact = get_row(Contact, converted.json["id"])
    assert contact.channel == "qr" and contact.language == "kk"
    assert case.child is not None
    assert (case.region, case.district, case.child.age) == ("KZ-27", "KZ-27-TEREKTI", 13)
    assert "мазақтайды" in (contact.summary or "")
    referrals = db.session.scalars(select(Referral).where(Referral.case_id == case.id)).all()
    assert referrals and all(r.district in ("KZ-27-TEREKTI", None) for r in referrals)
    assert any(r.agency == "education" for r in referrals)
    stored = get_row(TextReport, report_id)
    assert (stored.case_id, stored.contact_id) == (case.id, contact.id)
    assert api.post(f"/text-reports/{report_id}/convert", {}).status_code == 409
    # the thread goes on after the conversion, and shows on the case
    client.post("/api/v1/public/reports/messages", json={"follow_up_code": code, "text": "Тағы бір сөз"})
    assert api.get(f"/text-reports/{report_id}").json["case_id"] == case.id


def test_a_conversion_that_fails_validation_links_nothing(report: Any, staff: Any,
                                                          operator: User) -> None:
    report()
    api = staff(operator)
    report_id = api.get("/text-reports").json["items"][0]["id"]
    response = api.post(f"/text-reports/{report_id}/convert", {"urgency": "P2"})
    assert response.status_code == 422 and "categories" in str(response.json["error"]["fields"])
    assert get_row(TextReport, report_id).contact_id is None
    assert db.session.scalars(select(Contact)).all() == []
