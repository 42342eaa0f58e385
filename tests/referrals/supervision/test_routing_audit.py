"""The supervisor's routing audit (issue 8 item 3): one case's decisions as made, the changes
made by hand with reason and author, the handoff timeline; and the filters across cases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from intake.models import Case, RoutingDecision
from referrals.handoffs.models import Referral
from referrals.routing import default_algorithm
from tests.reading import get_row, json_of

pytestmark = pytest.mark.usefixtures("directory")

REMOVED = "examined yesterday at the regional hospital"
ADDED = "panic attacks at night since the incident"
OVERRIDE = "The commission already holds the file of this family."
DECLINE_NOTE = "Wrong office: please send to the district."


def _label(kind: str, code: str) -> str:
    return default_algorithm().label(kind, code, "en")  # type: ignore[arg-type]


def _post(client: FlaskClient, headers: dict[str, str], data: dict[str, Any]) -> str:
    response = client.post("/api/v1/contacts", json=data, headers=headers)
    assert response.status_code == 201, response.json
    case_id: str = json_of(response)["case_id"]
    return case_id


def _act(client: FlaskClient, headers: dict[str, str], referral: Referral, action: str,
         **body: Any) -> None:
    response = client.post(f"/api/v1/referrals/{referral.id}/{action}", json=body, headers=headers)
    assert response.status_code == 200, response.json


@pytest.fixture
def staff(create_user: Any) -> Any:
    def _of(referral: Referral) -> User:
        user: User = create_user("agency_staff", unit=referral.unit)
        return user
    return _of


@pytest.fixture
def worked_case(client: FlaskClient, contact: Any, bearer: Any, supervisor: User, staff: Any,
                referrals_of: Any, clock: FrozenClock) -> str:
    """Reported by the supervisor with one proposal removed and one referral added by hand;
    then the police acknowledge late, education declines, the supervisor overrides the
    commission's referral."""
    boss = bearer(supervisor)
    case_id = _post(client, boss, contact(referral_changes={
        "remove": [{"service": "health.medical_care", "reason": REMOVED}],
        "add": [{"service": "health.mental_health", "reason": ADDED}]}))
    found = referrals_of(case_id)
    clock.advance(timedelta(hours=5))  # past the 14:00 acknowledgement deadline
    police = found["police.juvenile_inspector"]
    _act(client, bearer(staff(police)), police, "acknowledge")
    education = next(r for s, r in found.items() if s.startswith("education."))
    _act(client, bearer(staff(education)), education, "decline", reason="not_competent", note=DECLINE_NOTE)
    commission = next(r for s, r in found.items() if s.startswith("commission."))
    _act(client, boss, commission, "override", reason=OVERRIDE)
    return case_id


def test_the_routing_audit_shows_the_decision_changes_and_handoffs(
        worked_case: str, supervisor: User, signed_in: Any) -> None:
    response = signed_in(supervisor).get(f"/cases/{worked_case}/routing-audit")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    decisions = html.split('id="decisions-h"', 1)[1].split('id="changes-h"', 1)[0]
    assert "2026.2" in decisions and "sexual-violence" in decisions
    assert _label("rule", "sexual-violence") in decisions
    assert _label("service", "health.medical_care") in decisions  # proposed, with its deadlines
    assert "20/11/2026" in decisions or "11/20/26" in decisions
    assert _label("category", "violence.sexual") in decisions  # the facts it saw
    changes = html.split('id="changes-h"', 1)[1].split('id="handoffs-h"', 1)[0]
    assert REMOVED in changes and ADDED in changes and OVERRIDE in changes
    assert changes.count(supervisor.username) >= 3  # removal, addition and override: each by its author
    handoffs = html.split('id="handoffs-h"', 1)[1]
    assert "late by 1.0 h" in handoffs  # acknowledged at 15:00, due 14:00
    assert _label("decline_reason", "not_competent") in handoffs and DECLINE_NOTE in handoffs
    assert "transferred" not in handoffs


def test_each_view_of_the_routing_audit_is_one_entry_naming_what_was_decrypted(
        worked_case: str, supervisor: User, signed_in: Any) -> None:
    browser = signed_in(supervisor)
    browser.get(f"/cases/{worked_case}/routing-audit")
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.routing_audit_viewed")))
    assert len(entries) == 1 and entries[0].object_id == worked_case
    assert set(entries[0].field_names) == {"referral_events.note", "referrals.manual_reason",
                                           "routing_decisions.change_reasons"}
    assert ADDED not in (entries[0].fields or "") + (entries[0].details or "")
    browser.get(f"/cases/{worked_case}/routing-audit")
    latest = db.session.scalar(select(AuditEntry.sequence).where(
        AuditEntry.action == "case.routing_audit_viewed").order_by(AuditEntry.sequence.desc()))
    assert latest is not None and latest > entries[0].sequence


def test_only_supervisors_who_may_see_the_case_read_its_routing_audit(
        case_id: str, create_user: Any, signed_in: Any, almaty_supervisor: User,
        referrals_of: Any) -> None:
    police_unit = referrals_of(case_id)["police.juvenile_inspector"].unit
    for user in (create_user("operator"), create_user("auditor"), create_user("admin"),
                 create_user("agency_head", unit=police_unit)):
        assert signed_in(user).get(f"/cases/{case_id}/routing-audit").status_code == 403, user.role
    browser = signed_in(almaty_supervisor)
    assert browser.get(f"/cases/{case_id}/routing-audit").status_code == 404
    assert browser.get("/cases/not-a-case/routing-audit").status_code == 404


# ---- filters across cases ---------------------------------------------------------------------


def _numbers(client: FlaskClient, kind: str, **args: str) -> set[str]:
    response = client.get("/supervision/routing", query_string={"filter": kind, **args})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    table = html.split('class="figures routing-cases"', 1)[1]
    return {number for number in _case_numbers() if f">{number}</a>" in table}


def _case_numbers() -> list[str]:
    return list(db.session.scalars(select(Case.number)))


def _number(case_id: str) -> str:
    return get_row(Case, case_id).number


def test_the_filters_find_overridden_manual_unrouted_declined_and_overdue_cases(
        client: FlaskClient, contact: Any, bearer: Any, supervisor: User, operator: User,
        staff: Any, referrals_of: Any, signed_in: Any, clock: FrozenClock, create_user: Any) -> None:
    boss, desk = bearer(supervisor), bearer(operator)
    bullying = {"categories": ["violence.bullying"], "urgency": "P3", "perpetrator": {"relation": "peer"},
                "place": "school"}
    removed = _post(client, boss, contact(referral_changes={
        "remove": [{"service": "health.medical_care", "reason": REMOVED}]}))
    manual = _post(client, desk, contact(**bullying, referral_changes={
        "add": [{"service": "health.mental_health", "reason": ADDED}]}))
    unrouted = _post(client, desk, contact(categories=["mental_health.anxiety"], urgency="P4",
                                           perpetrator={"relation": "none"}, place="home"))
    declined = _post(client, desk, contact(**bullying))
    overridden = _post(client, desk, contact(**bullying))
    elsewhere = _post(client, desk, contact(**bullying, child__region="KZ-19", child__district=...,
                                            referral_changes={"add": [{"service": "health.mental_health",
                                                                       "reason": ADDED}]}))
    assert referrals_of(unrouted) == {}
    education = next(r for s, r in referrals_of(declined).items() if s.startswith("education."))
    _act(client, bearer(staff(education)), education, "decline", reason="duplicate")
    first = next(iter(referrals_of(overridden).values()))
    _act(client, boss, first, "override", reason=OVERRIDE)

    national = signed_in(supervisor)
    assert _numbers(national, "overridden") == {_number(removed), _number(overridden)}
    assert _numbers(national, "manual") == {_number(manual), _number(elsewhere)}
    assert _numbers(national, "unrouted") == {_number(unrouted)}
    assert _numbers(national, "declined") == {_number(declined)}
    assert _numbers(national, "overdue") == set()
    clock.advance(timedelta(days=30))  # every deadline of a P2 or P3 referral has passed
    overdue = _numbers(signed_in(supervisor), "overdue")  # a new session: the old one timed out
    assert {_number(removed), _number(manual), _number(elsewhere)} <= overdue
    assert _number(unrouted) not in overdue

    west = signed_in(create_user("supervisor", region="KZ-27"))
    assert _numbers(west, "manual") == {_number(manual)}  # KZ-19 is outside their scope
    assert _numbers(west, "manual", status="closed") == set()
    assert west.get("/supervision/routing", query_string={"filter": "bogus"}).status_code == 404


def test_the_reasons_for_changing_a_proposal_are_stored_encrypted(worked_case: str) -> None:
    """The codes stay in clear for the statistics; the operator's words do not."""
    from sqlalchemy import text

    raw = db.session.execute(text(
        "SELECT changes, change_reasons FROM routing_decisions WHERE case_id = :case"),
        {"case": worked_case}).one()
    assert "health.medical_care" in str(raw.changes) and REMOVED not in str(raw.changes)
    assert REMOVED.encode() not in bytes(raw.change_reasons) and ADDED not in str(raw.changes)
    row = db.session.scalar(select(RoutingDecision).where(RoutingDecision.case_id == worked_case))
    assert row is not None and row.referral_changes["remove"] == [
        {"service": "health.medical_care", "reason": REMOVED}]


# ---- a decision keeps its version (issue 14) ------------------------------------------------------


def test_a_decision_stored_under_2026_1_keeps_its_referrals_and_deadlines(
        client: FlaskClient, contact: Any, bearer: Any, supervisor: User, signed_in: Any,
        referrals_of: Any, create_user: Any) -> None:
    from referrals.models import AlgorithmVersion
    from referrals.routing import bundled_algorithm
    from referrals.routing_app import service as routing_service

    old = bundled_algorithm("2026.1")
    db.session.add(AlgorithmVersion(version=old.version, document=old.source_text,
                                    digest=old.digest, reason="in force", is_current=True))
    db.session.commit()
    boss = bearer(supervisor)
    old_case = _post(client, boss, contact())  # Friday 10:00, sexual violence, P2
    before = {s: (r.ack_due_at, r.action_due_at) for s, r in referrals_of(old_case).items()}
    assert "health.forensic_exam" in before
    guardianship_act = before["education.guardianship"][1]  # 2026.1: 24 h on the clock

    routing_service.publish(bundled_algorithm("2026.2").source_text, "Issue 14",
                            create_user("admin"))
    db.session.commit()
    new_case = _post(client, boss, contact())
    assert set(referrals_of(new_case)) >= {"health.medical_care", "education.guardianship"}
    assert "health.forensic_exam" not in referrals_of(new_case)
    assert referrals_of(new_case)["education.guardianship"].action_due_at > guardianship_act

    after = {s: (r.ack_due_at, r.action_due_at) for s, r in referrals_of(old_case).items()}
    assert after == before  # stored, never recomputed
    html = signed_in(supervisor).get(f"/cases/{old_case}/routing-audit").get_data(as_text=True)
    decisions = html.split('id="decisions-h"', 1)[1].split('id="changes-h"', 1)[0]
    assert "<code>2026.1</code>" in decisions and "an earlier version" in decisions
    assert old.label("service", "health.forensic_exam", "en") in decisions
    assert old.label("agency", "commission", "en") in decisions  # 2026.1's own words
    assert "21/11/2026" in decisions or "11/21/26" in decisions  # act by Saturday 10:00
    assert bundled_algorithm("2026.2").label("instruction", "police_orders_forensic_exam",
                                             "en") not in decisions
    fresh = signed_in(supervisor).get(f"/cases/{new_case}/routing-audit").get_data(as_text=True)
    assert "<code>2026.2</code>" in fresh and "the version in force" in fresh
