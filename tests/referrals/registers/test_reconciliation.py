"""The monthly reconciliation act (issue 11 item 2, WKO plan item 30): which cases it lists
(the reconciliation register, the month in the deployment's time zone), the discrepancies it
flags (one planted), a terminated pregnancy, sign-offs once per agency (409), amendments after
signing, 404 for another region's heads, the page, print and PDF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from intake.models import Case
from tests.factories import csrf_token, sign_in
from tests.reading import get_row
from tests.referrals.handoffs.conftest import Acting, People, referral
from tests.referrals.registers.conftest import Heads

NOVEMBER = "region=KZ-27&month=2026-11"
PREGNANCY = ["physical_health.pregnancy"]


def _services(made: dict[str, Any], agency: str) -> list[str]:
    return [rid for service, rid in made["referrals"].items() if service.startswith(agency + ".")]


@pytest.fixture
def month(acting: Callable[[User], Acting], people: People, clock: FrozenClock,
          submit: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """November 2026 in West Kazakhstan, with what each case should show planted by hand."""
    supervisor, health = acting(people.supervisor), acting(people.health)
    made: dict[str, Any] = {}
    # A: sexual violence, the education referral declined and left so.
    made["violence"] = submit()
    education = _services(made["violence"], "education")
    assert education
    assert acting(people.education).act(education[0], "decline",
                                        {"reason": "not_competent"}).status_code == 200
    # B: a pregnancy at 15 whose police referral a supervisor withdrew: the planted discrepancy.
    made["pregnant_15"] = submit(categories=PREGNANCY, urgency="P3", child__age=15,
                                 child__district="KZ-27-ORAL", perpetrator=..., place=...,
                                 child__flags=["pregnancy"])
    for rid in _services(made["pregnant_15"], "police"):
        assert supervisor.act(rid, "override", {"reason": "planted for the test"}).status_code == 200
    # C: a pregnancy at 17 (no police needed), the health referral completed: terminated.
    made["pregnant_17"] = submit(categories=PREGNANCY, urgency="P3", child__age=17,
                                 perpetrator=..., place=..., child__flags=["pregnancy"])
    for rid in _services(made["pregnant_17"], "health"):
        assert health.act(rid, "accept").status_code == 200
        done = health.act(rid, "complete", {"outcome": "pregnancy_terminated"})
        assert done.status_code == 200, done.json
    # Not in the act: another region, another register, another month.
    made["pavlodar"] = submit(child__region="KZ-55", child__district=...)
    made["family"] = submit(categories=["family.relationship_with_caregiver"], urgency="P3",
                            child__flags=["orphan"], perpetrator=..., place=...)
    made["october"] = submit(child__age=9)
    made["first_of_november"] = submit(child__age=10)
    _opened(made["october"], datetime(2026, 10, 31, 18, 30, tzinfo=UTC))  # 23:30 in Almaty
    _opened(made["first_of_november"], datetime(2026, 10, 31, 19, 30, tzinfo=UTC))  # 00:30
    # December 20th: every referral still open is past both deadlines.
    clock.set(datetime(2026, 12, 20, 5, 0, tzinfo=UTC))
    return made


def _opened(made: dict[str, Any], at: datetime) -> None:
    case = db.session.get(Case, made["case_id"])
    assert case is not None
    case.opened_at = at
    db.session.commit()


def _statuses(made: dict[str, Any]) -> dict[str, list[str]]:
    by_agency: dict[str, list[str]] = {}
    for service, rid in made["referrals"].items():
        by_agency.setdefault(service.split(".")[0], []).append(referral(rid).status)
    return by_agency


def expected_discrepancies(made: dict[str, Any], sexual: bool, pregnant_under_16: bool) -> list[str]:
    """The rules of interfaces.md, applied to what the test planted (every open referral is
    overdue by December 20th)."""
    statuses = _statuses(made)
    mine = [s for agency in ("health", "police", "education") for s in statuses.get(agency, [])]
    found = []
    police = [s for s in statuses.get("police", []) if s != "overridden"]
    if (sexual or pregnant_under_16) and not police:
        found.append("no_police_referral")
    open_ = [s for s in mine if s in ("unassigned", "sent", "acknowledged", "accepted")]
    if open_:
        found.append("referral_overdue")
    if "declined" in mine:
        found.append("referral_declined_not_rerouted")
    if open_:
        found.append("referral_not_completed")
    return found


def test_the_act_lists_the_months_register_cases_with_their_discrepancies(
        acting: Callable[[User], Acting], people: People, month: dict[str, Any]) -> None:
    act = acting(people.supervisor).get(f"/reports/reconciliation?{NOVEMBER}").json
    assert act["region"] == "KZ-27" and act["month"] == "2026-11" and act["signoffs"] == []
    listed = {case["case_id"]: case for case in act["cases"]}
    wanted = {month[k]["case_id"] for k in ("violence", "pregnant_15", "pregnant_17",
                                             "first_of_november")}
    assert set(listed) == wanted
    plan = {"violence": (True, False), "pregnant_15": (False, True),
            "pregnant_17": (False, False), "first_of_november": (True, False)}
    for key, (sexual, under_16) in plan.items():
        case = listed[month[key]["case_id"]]
        assert case["discrepancies"] == expected_discrepancies(month[key], sexual, under_16), key
    assert "no_police_referral" in listed[month["pregnant_15"]["case_id"]]["discrepancies"]
    assert "no_police_referral" not in listed[month["pregnant_17"]["case_id"]]["discrepancies"]
    declined = listed[month["violence"]["case_id"]]["discrepancies"]
    assert "referral_declined_not_rerouted" in declined
    health = listed[month["pregnant_17"]["case_id"]]["referrals"]["health"]
    assert [r["outcome"] for r in health] == ["pregnancy_terminated"] * len(health) and health
    assert listed[month["violence"]["case_id"]]["categories"] == ["violence.sexual"]
    assert set(listed[month["violence"]["case_id"]]["referrals"]) == {"health", "police", "education"}


def test_a_termination_is_a_health_outcome_only(
        acting: Callable[[User], Acting], people: People,
        submit: Callable[..., dict[str, Any]]) -> None:
    made = submit()
    police = _services(made, "police")[0]
    assert acting(people.police).act(police, "accept").status_code == 200
    refused = acting(people.police).act(police, "complete", {"outcome": "pregnancy_terminated"})
    assert refused.status_code == 422 and "outcome" in refused.json["error"]["fields"]


def test_each_agency_signs_once_and_other_regions_get_404(
        acting: Callable[[User], Acting], people: People, heads: Heads,
        month: dict[str, Any]) -> None:
    body = {"region": "KZ-27", "month": "2026-11"}
    signed = acting(heads.health).post("/reports/reconciliation/sign", body)
    assert signed.status_code == 200, signed.json
    assert [(s["agency"], s["by"]) for s in signed.json["signoffs"]] == [("health", "Health Head")]
    again = acting(heads.health).post("/reports/reconciliation/sign", body)
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"
    assert acting(heads.police).post("/reports/reconciliation/sign", body).status_code == 200

    for outsider in (heads.other_health, heads.other_police):
        absent = acting(outsider).get("/reports/reconciliation?region=KZ-99&month=2026-11")
        hidden = acting(outsider).get(f"/reports/reconciliation?{NOVEMBER}")
        assert hidden.status_code == absent.status_code == 404 and hidden.json == absent.json
        assert acting(outsider).post("/reports/reconciliation/sign", body).status_code == 404
    # A district unit's head reads the act but does not sign; nor do the commission or staff.
    assert acting(heads.police_terekti).get(f"/reports/reconciliation?{NOVEMBER}").status_code == 200
    assert acting(heads.police_terekti).post("/reports/reconciliation/sign", body).status_code == 403
    assert acting(heads.commission).get(f"/reports/reconciliation?{NOVEMBER}").status_code == 404
    assert acting(people.supervisor).post("/reports/reconciliation/sign", body).status_code == 403
    assert acting(people.health).get(f"/reports/reconciliation?{NOVEMBER}").status_code == 403
    # The month under way cannot be signed yet; a malformed month is named.
    early = acting(heads.education).post("/reports/reconciliation/sign",
                                         {"region": "KZ-27", "month": "2026-12"})
    assert early.status_code == 422 and "month" in early.json["error"]["fields"]
    assert acting(people.supervisor).get(
        "/reports/reconciliation?region=KZ-27&month=2026-13").status_code == 422

    act = acting(people.supervisor).get(f"/reports/reconciliation?{NOVEMBER}").json
    assert [s["agency"] for s in act["signoffs"]] == ["health", "police"]
    assert not any(s["amended"] for s in act["signoffs"])
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "reconciliation.signed")))
    assert {e.actor_id for e in entries} == {heads.health.id, heads.police.id}


def test_a_change_after_signing_shows_as_an_amendment(
        acting: Callable[[User], Acting], people: People, heads: Heads,
        month: dict[str, Any]) -> None:
    body = {"region": "KZ-27", "month": "2026-11"}
    assert acting(heads.health).post("/reports/reconciliation/sign", body).status_code == 200
    violence = month["violence"]
    police = _services(violence, "police")[0]
    assert acting(people.police).act(police, "accept").status_code == 200
    act = acting(people.supervisor).get(f"/reports/reconciliation?{NOVEMBER}").json
    (signoff,) = act["signoffs"]
    assert signoff["amended"] is True
    assert signoff["changes"] == [{"case_id": violence["case_id"],
                                   "number": get_row(Case, violence["case_id"]).number,
                                   "change": "changed"}]


def test_the_page_signs_after_confirmation_and_exports_a_pdf(
        app: Flask, client: Any, heads: Heads, month: dict[str, Any]) -> None:
    sign_in(client, heads.education)
    en = {"Accept-Language": "en"}
    page = client.get("/reports/reconciliation?month=2026-11", headers=en).get_data(as_text=True)
    assert "Monthly reconciliation act" in page and "No police referral" in page
    assert "Sign the act for" in page
    token = csrf_token(client, "/reports/reconciliation?month=2026-11")
    form = {"region": "KZ-27", "month": "2026-11", "csrf_token": token}
    confirm = client.post("/reports/reconciliation/sign", data=form, headers=en)
    assert confirm.status_code == 200 and "Your agency signs once" in confirm.get_data(as_text=True)
    done = client.post("/reports/reconciliation/sign", data={**form, "confirmed": "1"})
    assert done.status_code == 302
    again = client.post("/reports/reconciliation/sign", data={**form, "confirmed": "1"})
    assert again.status_code == 409
    page = client.get("/reports/reconciliation?month=2026-11", headers=en).get_data(as_text=True)
    assert "signed by Education Head" in page and "Sign the act for" not in page
    pdf = client.get("/reports/reconciliation.pdf?region=KZ-27&month=2026-11")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and len(pdf.data) > 2000
    other = client.get("/reports/reconciliation?region=KZ-55&month=2026-11")
    assert other.status_code == 404


def test_viewing_the_act_is_audited(acting: Callable[[User], Acting], heads: Heads,
                                    month: dict[str, Any]) -> None:
    acting(heads.police).get(f"/reports/reconciliation?{NOVEMBER}")
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "reconciliation.viewed"))
    assert entry is not None and entry.actor_id == heads.police.id
    assert entry.object_id == "KZ-27/2026-11"


def test_the_openapi_description_documents_the_three_endpoints(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    register = paths["/api/v1/registers/risk-group"]["get"]
    assert {p["name"] for p in register["parameters"]} >= {"region", "district", "flag", "limit",
                                                           "cursor"}
    assert "next_cursor" in register["responses"]["200"]["content"]["application/json"][
        "schema"]["required"]
    act = paths["/api/v1/reports/reconciliation"]["get"]
    assert act["responses"]["200"]["content"]["application/json"]["schema"]["required"] == [
        "region", "month", "cases", "signoffs"]
    sign = paths["/api/v1/reports/reconciliation/sign"]["post"]
    assert sign["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "region", "month"]
    assert {"404", "409"} <= set(sign["responses"])
