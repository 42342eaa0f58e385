"""Retention: what is past its period is anonymised, unless on legal hold; the dry run only
counts; everything is audited and the audit chain still verifies afterwards."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from core import audit, encryption
from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.config import ConfigError, Retention
from core.extensions import db
from core.models import User
from intake.models import Case, CaseEvent, Child, Contact, Correction, Draft, RoutingDecision
from intake.text.models import School, TextMessage, TextReport
from referrals.handoffs.models import Referral, ReferralEvent
from referrals.retention import service
from referrals.retention.models import LegalHold
from tests.factories import csrf_token, sign_in
from tests.intake.conftest import api, bearer, contact, directory, operator  # noqa: F401
from tests.reading import get_row

PERIODS = Retention(closed_case_days=30, caseless_contact_days=10, draft_days=5)


@pytest.fixture
def closed_case(app: Flask, api: Any, contact: Any, directory: None, clock: FrozenClock) -> Case:  # noqa: F811
    response = api.post("/contacts", contact())
    assert response.status_code == 201, response.json
    case = db.session.get(Case, response.json["case_id"])
    assert case is not None
    case.status, case.closed_at = "closed", clock.now()
    case.close_summary = "Отбасы психологқа жіберілді."
    db.session.commit()
    return case


@pytest.fixture
def caseless(app: Flask, api: Any, contact: Any) -> Contact:  # noqa: F811
    response = api.post("/contacts", contact(contact_type="information", child=..., categories=[],
                                             urgency=..., perpetrator=..., place=...))
    assert response.status_code == 201, response.json
    found = db.session.get(Contact, response.json["id"])
    assert found is not None
    return found


@pytest.fixture
def supervisor(create_user: Any) -> User:
    user: User = create_user("supervisor", username="supervisor.retention")
    return user


def _client(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, user).status_code == 302
    return client


def _raw(table: str, column: str, row_id: str) -> Any:
    return db.session.execute(text(f"SELECT {column} FROM {table} WHERE id = :id"),
                              {"id": row_id}).scalar()


def test_a_closed_case_past_its_period_loses_its_personal_fields_and_keeps_its_codes(
        app: Flask, closed_case: Case, caseless: Contact, clock: FrozenClock) -> None:
    case_id, child_id = closed_case.id, closed_case.child_id
    assert child_id is not None and _raw("children", "name", child_id) is not None
    clock.advance(timedelta(days=31))
    done = service.apply(PERIODS, clock.now())
    assert (done.closed_cases, done.caseless_contacts) == (1, 1)
    db.session.expire_all()
    child = db.session.get(Child, child_id)
    assert child is not None
    assert (child.name, child.iin, child.address, child.school) == (None, None, None, None)
    assert child.name_bidx is None and child.iin_bidx is None
    assert (child.age, child.sex, child.region) == (12, "female", "KZ-27")
    case = db.session.get(Case, case_id)
    assert case is not None and case.close_summary is None and case.anonymised_at == clock.now()
    for item in db.session.scalars(select(Contact).where(Contact.case_id == case_id)):
        assert (item.caller_name, item.caller_phone, item.summary) == (None, None, None)
        assert item.categories == ["violence.sexual"] and item.caller_phone_bidx is None
    referrals = list(db.session.scalars(select(Referral).where(Referral.case_id == case_id)))
    assert referrals and all(r.manual_reason is None for r in referrals)
    for model, column in ((ReferralEvent, "note"), (CaseEvent, "reason"), (Correction, "changes"),
                          (RoutingDecision, "change_reasons")):
        table = model.__tablename__
        assert db.session.execute(text(f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL")
                                  ).scalar() == 0
    found = db.session.get(Contact, caseless.id)
    assert found is not None and found.caller_name is None and found.anonymised_at is not None
    # one entry per batch, and the chain still verifies
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.applied")))
    assert {e.details_map["record_type"]: e.details_map["count"] for e in entries} == {
        "cases": 1, "caseless_contacts": 1}
    result = audit.verify()
    assert result.ok and result.entries >= 3
    # done once: a second run finds nothing
    assert service.apply(PERIODS, clock.now()).closed_cases == 0


def test_within_its_period_nothing_is_touched(app: Flask, closed_case: Case, clock: FrozenClock) -> None:
    clock.advance(timedelta(days=29))
    assert service.plan(PERIODS, clock.now()).closed_cases == 0
    service.apply(PERIODS, clock.now())
    db.session.expire_all()
    assert get_row(Case, closed_case.id).anonymised_at is None


def test_open_cases_are_never_anonymised(app: Flask, closed_case: Case, clock: FrozenClock) -> None:
    closed_case.status, closed_case.closed_at = "open", None
    db.session.commit()
    clock.advance(timedelta(days=3650))
    assert service.apply(PERIODS, clock.now()).closed_cases == 0


def test_the_dry_run_counts_and_changes_nothing(app: Flask, closed_case: Case, caseless: Contact,
                                                clock: FrozenClock, create_user: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    db.session.add(Draft(operator_id=create_user("operator").id, created_at=clock.now(),
                         updated_at=clock.now()))
    db.session.commit()
    clock.advance(timedelta(days=31))
    runner = app.test_cli_runner()
    monkeypatch.setitem(app.config, "SENIM", app.config["SENIM"].with_overrides(retention=PERIODS))
    result = runner.invoke(args=["retention", "apply", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "closed cases would anonymise: 1" in result.output
    assert "caseless contacts would anonymise: 1" in result.output
    assert "drafts would be deleted: 1" in result.output
    db.session.expire_all()
    assert get_row(Case, closed_case.id).anonymised_at is None
    assert db.session.scalar(select(Draft)) is not None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.dry_run")).one()
    assert entry.details_map == {"closed_cases": 1, "caseless_contacts": 1, "drafts": 1, "held_cases": 0,
                                 "text_threads": 0}
    result = runner.invoke(args=["retention", "apply"])
    assert result.exit_code == 0 and "drafts deleted: 1" in result.output
    assert db.session.scalar(select(Draft)) is None


def test_a_legal_hold_keeps_a_case_until_it_is_lifted(app: Flask, closed_case: Case,
                                                      supervisor: User, clock: FrozenClock) -> None:
    client = _client(app, supervisor)
    path = f"/cases/{closed_case.id}/legal-hold"
    assert client.get(path).status_code == 200
    short = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "set",
                                    "reason": "court"})
    assert short.status_code == 422
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "set",
                                       "reason": "Сот сұрауы бойынша сақталсын (іс №12)"})
    assert response.status_code == 302
    again = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "set",
                                    "reason": "Сот сұрауы бойынша сақталсын (іс №12)"})
    assert again.status_code == 409
    hold = db.session.scalar(select(LegalHold))
    assert hold is not None and hold.active and hold.set_by == supervisor.id
    assert _raw("legal_holds", "reason", hold.id) != b"court"  # encrypted at rest
    assert "/cases/" in client.get("/supervision/legal-holds").get_data(as_text=True)
    clock.advance(timedelta(days=31))
    done = service.apply(PERIODS, clock.now())
    assert (done.closed_cases, done.held_cases) == (0, 1)
    client = _client(app, supervisor)  # the session ended while the clock moved
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "lift",
                                       "reason": "Сот ісі аяқталды, сақтау қажет емес"})
    assert response.status_code == 302
    assert service.apply(PERIODS, clock.now()).closed_cases == 1
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.sequence))]
    assert "legal_hold.set" in actions and "legal_hold.lifted" in actions
    assert audit.verify().ok


def test_only_a_supervisor_in_scope_sets_a_hold(app: Flask, closed_case: Case, create_user: Any) -> None:
    path = f"/cases/{closed_case.id}/legal-hold"
    almaty = _client(app, create_user("supervisor", region="KZ-19"))
    assert almaty.get(path).status_code == 404
    operator_client = _client(app, create_user("operator"))
    assert operator_client.get(path).status_code == 403  # the endpoint is for supervisors only
    assert operator_client.get("/supervision/legal-holds").status_code == 403


def test_a_child_named_in_a_newer_case_keeps_their_identity(app: Flask, closed_case: Case,
                                                            clock: FrozenClock) -> None:
    newer = Case(number="2026-999999", status="open", region="KZ-27", child_id=closed_case.child_id)
    db.session.add(newer)
    db.session.commit()
    clock.advance(timedelta(days=31))
    service.apply(PERIODS, clock.now())
    db.session.expire_all()
    child = db.session.get(Child, closed_case.child_id)
    assert child is not None and child.name == "Әсел Қайратқызы"


def test_every_encrypted_field_of_a_case_is_erased_or_kept_on_purpose() -> None:
    """A new encrypted column anywhere must be added to the retention plan or kept on purpose."""
    covered = {
        "children": service.CHILD_COLUMNS, "contacts": service.CONTACT_COLUMNS,
        "cases": service.CASE_COLUMNS, "corrections": service.CORRECTION_COLUMNS,
        "case_events": service.EVENT_COLUMNS, "routing_decisions": service.DECISION_COLUMNS,
        "referrals": service.REFERRAL_COLUMNS, "referral_events": service.REFERRAL_EVENT_COLUMNS,
        "text_reports": service.TEXT_REPORT_COLUMNS, "text_messages": service.TEXT_MESSAGE_COLUMNS,
    }
    for table, kept in service.KEPT.items():
        covered[table] = (*covered.get(table, ()), *kept)
    for found in encryption.ENCRYPTED_FIELDS:
        assert found.name in covered.get(found.table, ()), f"{found.table}.{found.name}"
        if found.blind_index and found.name not in service.KEPT.get(found.table, ()):
            assert f"{found.name}_bidx" in covered[found.table]


def test_retention_periods_come_from_the_environment() -> None:
    periods = Retention.from_env({"SENIM_RETENTION_CLOSED_CASE_DAYS": "100",
                                  "SENIM_EXPORT_EXPIRY_HOURS": "2"})
    assert (periods.closed_case_days, periods.export_hours, periods.draft_days) == (100, 2, 30)
    with pytest.raises(ConfigError, match="SENIM_RETENTION_DRAFT_DAYS"):
        Retention.from_env({"SENIM_RETENTION_DRAFT_DAYS": "0"})


def _thread(case_id: str | None, clock: FrozenClock) -> TextReport:
    school = School(name_kk="Мектеп №1", name_ru="Школа №1", region="KZ-27")
    db.session.add(school)
    db.session.flush()
    report = TextReport(school_id=school.id, region="KZ-27", language="kk", code_hash=os.urandom(32).hex(),
                        status="closed", closed_at=clock.now(), case_id=case_id, contact_how="Телефон")
    report.messages.append(TextMessage(sender="child", text="Мені ұрады", at=clock.now()))
    db.session.add(report)
    db.session.commit()
    return report


def test_anonymous_threads_lose_their_texts_with_their_case_or_after_the_period(
        app: Flask, closed_case: Case, clock: FrozenClock) -> None:
    with_case, alone = _thread(closed_case.id, clock), _thread(None, clock)
    clock.advance(timedelta(days=11))
    recent = _thread(None, clock)

    def texts() -> dict[str, tuple[list[str | None], str | None]]:
        db.session.expire_all()
        return {r.id: ([m.text for m in r.messages], r.contact_how)
                for r in db.session.scalars(select(TextReport))}

    assert service.plan(PERIODS, clock.now()).text_threads == 1
    assert service.apply(PERIODS, clock.now()).text_threads == 1
    found = texts()
    assert found[alone.id] == ([None], None)
    assert found[recent.id] == found[with_case.id] == (["Мені ұрады"], "Телефон")
    clock.advance(timedelta(days=20))  # the case is now past its 30 days: its thread goes with it
    assert service.apply(PERIODS, clock.now()).closed_cases == 1
    assert texts()[with_case.id] == ([None], None)
