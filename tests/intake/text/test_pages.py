"""The helpline's pages for text reports: the queue with its waiting counts, one report with
claim, reply and close, recording it as a contact through the usual form, and the school
directory with posters and rotation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from intake.models import Case, Contact
from intake.text.models import School, TextReport
from tests.factories import csrf_token, sign_in
from tests.intake.text.conftest import BULLYING_KK, SUICIDE_RU
from tests.reading import first_group, get_row, poster_token

pytestmark = pytest.mark.usefixtures("directory")


@pytest.fixture
def desk(client: FlaskClient, operator: User) -> FlaskClient:
    sign_in(client, operator, lang="en")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _report_id() -> str:
    return db.session.scalars(select(TextReport.id).order_by(TextReport.created_at)).first() or ""


def test_the_queue_counts_waits_over_5_and_15_minutes(report: Any, desk: FlaskClient,
                                                      clock: FrozenClock) -> None:
    report()
    clock.advance(timedelta(minutes=10))
    report(text="екінші")
    clock.advance(timedelta(minutes=6))
    report(text=SUICIDE_RU, language="ru")
    clock.advance(timedelta(minutes=1))
    html = desk.get("/text-reports", headers={"Accept-Language": "en"}).get_data(as_text=True)
    counts = {name: first_group(rf'id="count-{name}">(\d+)<', html)
              for name in ("waiting", "over-5", "over-15", "urgent")}
    assert counts == {"waiting": "3", "over-5": "2", "over-15": "1", "urgent": "1"}
    rows = re.findall(r'<tr class="(urgent)?" data-report', html)
    assert rows == ["urgent", "", ""]  # the suicide report first, then the longest waiting
    assert "17 min" in html and "7 min" in html
    assert BULLYING_KK not in html  # the queue shows no text


def test_claim_reply_and_close_through_the_pages(report: Any, thread: Any, desk: FlaskClient,
                                                 create_user: Any, client: FlaskClient) -> None:
    code = report().json["follow_up_code"]
    report_id = _report_id()
    page = f"/text-reports/{report_id}"
    token = csrf_token(desk, page)
    assert desk.post(f"{page}/claim", data={"csrf_token": token}).status_code == 302
    assert "Let it go" in desk.get(page).get_data(as_text=True)
    sent = desk.post(f"{page}/reply", data={"csrf_token": token, "text": "Сәлем, біз тыңдап тұрмыз."})
    assert sent.status_code == 302
    assert thread(code).json["messages"][-1]["text"] == "Сәлем, біз тыңдап тұрмыз."
    confirm = desk.get(f"{page}/close").get_data(as_text=True)
    assert "Close this conversation?" in confirm
    assert desk.post(f"{page}/close", data={"csrf_token": token}).status_code == 302
    assert thread(code).json["status"] == "closed"


def test_another_operator_sees_who_is_answering(report: Any, desk: FlaskClient, create_user: Any,
                                                app: Any, operator: User) -> None:
    report()
    report_id = _report_id()
    page = f"/text-reports/{report_id}"
    desk.post(f"{page}/claim", data={"csrf_token": csrf_token(desk, page)})
    other = app.test_client()
    sign_in(other, create_user("operator"), lang="en")
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = other.get(page).get_data(as_text=True)
    assert f"{operator.display_name} is answering this report." in html
    assert 'name="text"' not in html  # no reply form while the claim holds
    refused = other.post(f"{page}/reply", data={"csrf_token": csrf_token(other, page), "text": "x"})
    assert refused.status_code == 302
    assert len(get_row(TextReport, report_id).messages) == 1
    said = other.get(page).get_data(as_text=True)
    assert "Another operator is already answering this report." in said
    empty = desk.post(f"{page}/reply", data={"csrf_token": csrf_token(desk, page), "text": " "})
    assert empty.status_code == 302
    assert "Write the answer first" in desk.get(page).get_data(as_text=True)
    assert len(get_row(TextReport, report_id).messages) == 1


def test_viewing_a_report_is_audited_with_the_fields_decrypted(report: Any, desk: FlaskClient) -> None:
    from core.audit.models import AuditEntry

    report()
    desk.get(f"/text-reports/{_report_id()}")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "text_report.viewed")).one()
    assert entry.object_id == _report_id() and "text_messages.text" in entry.field_names


def test_recording_a_report_uses_the_usual_form_and_links_the_case(report: Any, desk: FlaskClient,
                                                                   client: FlaskClient) -> None:
    code = report().json["follow_up_code"]
    report_id = _report_id()
    form = desk.get(f"/intake/new?text_report={report_id}").get_data(as_text=True)
    assert f'name="text_report_id" value="{report_id}"' in form
    assert 'value="qr" selected' in form or 'value="qr"selected' in form.replace(" ", "")
    assert "мазақтайды" in form  # the child's words as the summary
    token = first_group(r'name="form_token" value="([^"]+)"', form)
    fields = {"channel": "qr", "contact_type": "child_self", "language": "kk",
              "caller.relation": "self", "child.age": "13", "child.region": "KZ-27",
              "child.district": "KZ-27-TEREKTI", "categories": "violence.bullying", "urgency": "P3",
              "summary": BULLYING_KK, "text_report_id": report_id, "form_token": token,
              "started_at": "2026-11-20T09:55:00+05:00", "csrf_token": csrf_token(desk, "/intake/new")}
    done = desk.post("/intake/new", data=fields)
    assert done.status_code == 302 and "/cases/" in done.headers["Location"], done.get_data(as_text=True)[:500]
    case = db.session.scalars(select(Case)).one()
    contact = db.session.scalars(select(Contact)).one()
    stored = get_row(TextReport, report_id)
    assert (stored.case_id, stored.contact_id, contact.channel) == (case.id, contact.id, "qr")
    client.post("/api/v1/public/reports/messages", json={"follow_up_code": code, "text": "Кейінгі хабар"})
    case_page = desk.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Anonymous conversation from a school" in case_page and "Кейінгі хабар" in case_page
    assert desk.get(f"/intake/new?text_report={report_id}").status_code == 404  # recorded once


def test_the_school_directory_for_supervisors(app: Any, school: School, create_user: Any) -> None:
    browser = app.test_client()
    sign_in(browser, create_user("supervisor"), lang="ru")
    html = browser.get("/schools", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert school.name_ru in html and f"/r/{poster_token(school)}" in html
    png = browser.get(f"/schools/{school.id}/poster.png?lang=ru")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = browser.get(f"/schools/{school.id}/poster.pdf?lang=kk")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    old = poster_token(school)
    page = f"/schools/{school.id}/rotate"
    assert browser.post(page, data={"csrf_token": csrf_token(browser, page)}).status_code == 302
    db.session.expire_all()
    assert poster_token(get_row(School, school.id)) != old


def test_operators_do_not_manage_schools(desk: FlaskClient, school: School) -> None:
    assert desk.get("/schools").status_code == 403
    assert desk.get(f"/schools/{school.id}/poster.pdf").status_code == 403


def test_the_operators_home_says_how_many_text_reports_wait(report: Any, desk: FlaskClient) -> None:
    assert 'id="text-reports-waiting"' not in desk.get("/").get_data(as_text=True)
    report()
    report(text=SUICIDE_RU, language="ru")
    html = desk.get("/").get_data(as_text=True)
    assert "Text reports from schools waiting: 2" in html and "urgent: 1" in html
