"""Notifications: emails to the receiving unit through a real local SMTP server (aiosmtpd), in
the recipients' language, with no personal data and a link to the referral; in-app
notifications with the unread count in the header."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from referrals.handoffs import escalation, notify
from referrals.handoffs.notification_models import Notification
from tests.factories import csrf_token, sign_in
from tests.intake.conftest import TEREKTI_GIRL
from tests.referrals.handoffs.conftest import Acting, People, referral, unit_of

POLICE = "police.juvenile_inspector"
PERSONAL = [TEREKTI_GIRL["child"]["name"], TEREKTI_GIRL["child"]["iin"],
            TEREKTI_GIRL["child"]["address"], TEREKTI_GIRL["child"]["school"],
            TEREKTI_GIRL["caller"]["name"], TEREKTI_GIRL["caller"]["phone"],
            TEREKTI_GIRL["summary"], "Қайратқызы", "7011234567"]


class Sink:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    config = app.config["SENIM"].with_overrides(
        smtp_url=f"smtp://127.0.0.1:{port}?from=senim@helpline.example.kz",
        base_url="https://senim.example.kz")
    monkeypatch.setitem(app.config, "SENIM", config)
    try:
        yield sink
    finally:
        controller.stop()


def body_of(message: EmailMessage) -> str:
    return message.get_content()


def test_a_new_referral_emails_each_receiving_unit_without_personal_data(
        smtp: Sink, people: People, case: dict[str, Any]) -> None:
    police_unit = unit_of("police", district="KZ-27-TEREKTI")
    mails = smtp.to(police_unit.contact_email or "")
    assert len(mails) == 1
    mail = mails[0]
    assert mail["From"] == "senim@helpline.example.kz"
    text = mail["Subject"] + body_of(mail)
    assert f"https://senim.example.kz/referrals/{case['referrals'][POLICE]}" in text
    assert "P2" in mail["Subject"]
    for value in PERSONAL:
        assert value not in text, value
    assert len(smtp.messages) == 4  # police, education, health and the commission


def test_the_email_is_in_the_language_the_units_people_chose(
        smtp: Sink, people: People, submit: Any) -> None:
    for user in (people.police, people.police_head):
        user.language = "ru"
    db.session.commit()
    submit()
    police_unit = unit_of("police", district="KZ-27-TEREKTI")
    education_unit = unit_of("education", district="KZ-27-TEREKTI")
    police_mail = body_of(smtp.to(police_unit.contact_email or "")[0])
    assert police_unit.name("ru") in police_mail
    education_mail = body_of(smtp.to(education_unit.contact_email or "")[0])
    assert education_unit.name("kk") in education_mail  # nobody chose: Kazakh


def test_escalation_emails_the_late_unit_and_at_level_two_the_commission(
        smtp: Sink, clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "acknowledge")
    smtp.messages.clear()
    escalation.sweep(now=referral(referral_id).action_due_at + timedelta(seconds=1))
    police_unit = unit_of("police", district="KZ-27-TEREKTI")
    commission = unit_of("commission", district="KZ-27-TEREKTI")
    to_police = [m for m in smtp.to(police_unit.contact_email or "") if "2" in m["Subject"]]
    to_commission = smtp.to(commission.contact_email or "")
    assert to_police and f"/referrals/{referral_id}" in body_of(to_police[0])
    # The commission's mailbox gets a link to the case, which it sees through its own referral.
    assert any(f"/cases/{case['case_id']}" in body_of(m) for m in to_commission)
    for message in smtp.messages:
        for value in PERSONAL:
            assert value not in message["Subject"] + body_of(message)


def test_nothing_is_sent_for_a_rolled_back_transaction(smtp: Sink, case: dict[str, Any]) -> None:
    smtp.messages.clear()
    notify.referral_sent(referral(case["referrals"][POLICE]))
    db.session.rollback()
    assert smtp.messages == []
    notify.referral_sent(referral(case["referrals"][POLICE]))
    db.session.commit()
    assert len(smtp.messages) == 1


def test_without_smtp_the_email_is_logged(app: Flask, people: People, submit: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    assert app.config["SENIM"].smtp_url is None
    with caplog.at_level(logging.INFO, logger="referrals.handoffs.notify"):
        submit()
    logged = [r.getMessage() for r in caplog.records if "SENIM_SMTP_URL unset" in r.getMessage()]
    assert len(logged) == 4 and "/referrals/" in logged[0]


def test_an_unreachable_smtp_server_does_not_undo_the_action(
        app: Flask, monkeypatch: pytest.MonkeyPatch, people: People, submit: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(app.config, "SENIM", app.config["SENIM"].with_overrides(
        smtp_url=f"smtp://127.0.0.1:{_free_port()}"))
    with caplog.at_level(logging.ERROR, logger="referrals.handoffs.notify"):
        created = submit()
    assert referral(created["referrals"][POLICE]).status == "sent"
    assert any("not sent" in r.getMessage() for r in caplog.records)


# ---- in-app ------------------------------------------------------------------------------------


def test_unit_people_get_an_in_app_notification_and_the_header_counts_it(
        app: Flask, people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    mine = list(db.session.scalars(select(Notification).where(
        Notification.user_id == people.police.id)))
    assert [(n.kind, n.referral_id) for n in mine] == [("new_referral", referral_id)]
    client = app.test_client()
    sign_in(client, people.police)
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'class="badge unread-count">1<' in page
    listed = client.get("/notifications", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"/referrals/{referral_id}" in listed
    client.get(f"/referrals/{referral_id}")  # opening the referral reads its notifications
    assert notify.unread_count(people.police) == 0
    assert "unread-count" not in client.get("/").get_data(as_text=True)


def test_mark_all_as_read(app: Flask, people: People, case: dict[str, Any]) -> None:
    client = app.test_client()
    sign_in(client, people.police_head)
    assert notify.unread_count(people.police_head) == 1
    response = client.post("/notifications/read",
                           data={"csrf_token": csrf_token(client, "/notifications")})
    assert response.status_code == 302
    assert notify.unread_count(people.police_head) == 0
    assert client.get("/notifications/read").status_code == 405


def test_the_loop_notifies_the_helpline_and_the_supervisors(
        people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    police = acting(people.police)
    police_id = case["referrals"][POLICE]
    police.act(police_id, "note", {"note": "Анасымен сөйлестік"})
    police.act(police_id, "accept")
    police.act(police_id, "complete", {"outcome": "child_seen"})
    education_id = case["referrals"]["education.guardianship"]
    acting(people.education).act(education_id, "decline", {"reason": "wrong_district"})
    kinds = {(n.user_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (people.operator.id, "note") in kinds and (people.operator.id, "completed") in kinds
    assert (people.supervisor.id, "declined") in kinds
    assert (people.regional_supervisor.id, "declined") not in kinds
    acting(people.operator).act(police_id, "note", {"note": "Рақмет"})
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == people.police.id, Notification.kind == "note")) is not None


def test_a_transfer_announces_itself_to_the_new_unit(
        smtp: Sink, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    smtp.messages.clear()
    acting(people.police).act(referral_id, "transfer", {"unit_id": people.police_oral.unit_id})
    oral = unit_of("police", district="KZ-27-ORAL")
    mails = smtp.to(oral.contact_email or "")
    assert len(mails) == 1 and f"/referrals/{referral_id}" in body_of(mails[0])
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == people.police_oral.id, Notification.kind == "new_referral",
        Notification.referral_id == referral_id)) is not None
