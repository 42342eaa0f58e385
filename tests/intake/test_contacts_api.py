"""POST/GET contacts and cases through the API (interfaces.md), with idempotency, validation,
visibility per agency and search through blind indexes."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.extensions import db
from core.models import AgencyUnit, User
from intake.models import Case, Contact
from referrals.handoffs.models import Referral
from tests.reading import get_row, json_of

pytestmark = pytest.mark.usefixtures("directory")


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_sexual_violence_report_creates_a_case_and_four_mandatory_referrals(api: Any, contact: Any) -> None:
    response = api.post("/contacts", contact(), headers={"Idempotency-Key": "k1"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["case_id"] and body["urgency"] == "P2" and body["lead"] == "police"
    assert body["algorithm_version"] == "2026.2"
    services = {r["service"]: r for r in body["referrals"]}
    assert set(services) == {"police.juvenile_inspector", "education.guardianship",
                             "health.medical_care", "commission.case_control"}
    assert all(r["mandatory"] and r["status"] == "sent" for r in body["referrals"])
    units = {s: get_row(AgencyUnit, r["unit"]["id"]) for s, r in services.items()}
    assert units["police.juvenile_inspector"].district == "KZ-27-TEREKTI"
    assert units["health.medical_care"].district is None  # no district health unit: region level
    assert services["police.juvenile_inspector"]["ack_due_at"] == "2026-11-20T14:00:00+05:00"


def test_a_replay_returns_the_original_and_creates_nothing(api: Any, contact: Any) -> None:
    first = api.post("/contacts", contact(), headers={"Idempotency-Key": "same"})
    again = api.post("/contacts", contact(), headers={"Idempotency-Key": "same"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["id"] == first.json["id"] and again.json["case_id"] == first.json["case_id"]
    assert _count(Contact) == 1 and _count(Case) == 1 and _count(Referral) == 4


def test_the_same_key_with_another_body_is_409(api: Any, contact: Any) -> None:
    api.post("/contacts", contact(), headers={"Idempotency-Key": "k"})
    response = api.post("/contacts", contact(urgency="P1"), headers={"Idempotency-Key": "k"})
    assert response.status_code == 409 and response.json["error"]["code"] == "conflict"


@pytest.mark.parametrize("kind", ["silent", "prank", "wrong_number", "information", "abusive", "feedback"])
def test_contacts_that_open_no_case_are_still_stored(api: Any, kind: str) -> None:
    response = api.post("/contacts", {"channel": "phone", "contact_type": kind, "language": "ru"})
    assert response.status_code == 201, response.json
    assert response.json["case_id"] is None and response.json["referrals"] == []
    assert _count(Contact) == 1 and _count(Case) == 0


@pytest.mark.parametrize(("changes", "field"), [
    ({"categories": ["violence.nonsense"]}, "categories"),
    ({"categories": []}, "categories"),
    ({"urgency": ...}, "urgency"),
    ({"child__region": ...}, "child.region"),
    ({"child__age": 18}, "child.age"),
    ({"child__district": "KZ-27-NOWHERE"}, "child.district"),
    ({"child__iin": "140315600019"}, "child.iin"),
    ({"caller__phone": "+7 123"}, "caller.phone"),
    ({"ended_at": "2026-11-20T09:40:00+05:00"}, "ended_at"),
    ({"started_at": "2027-01-01T10:00:00+05:00"}, "started_at"),
    ({"channel": "pigeon"}, "channel"),
    ({"summary": "a\x00b"}, "summary"),
    ({"role": "supervisor"}, "role"),
    ({"urgency": "P4", "flags": ["immediate_danger"]}, "urgency"),
])
def test_bad_input_is_422_naming_the_field_and_nothing_is_written(
        api: Any, contact: Any, changes: dict[str, Any], field: str) -> None:
    response = api.post("/contacts", contact(**changes))
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "invalid"
    assert field in response.json["error"]["fields"], response.json
    assert _count(Contact) == 0 and _count(Case) == 0 and _count(Referral) == 0


def test_malformed_json_and_invalid_utf8_are_400(api: Any, client: FlaskClient, bearer: Any,
                                                  operator: User) -> None:
    headers = {**bearer(operator), "Content-Type": "application/json"}
    lone_surrogate = b'{"channel": "phone", "contact_type": "silent", "summary": "\\ud800"}'
    for raw in (b"{not json", b'{"channel": "\xff\xfe"}', lone_surrogate):
        response = client.post("/api/v1/contacts", data=raw, headers=headers)
        assert response.status_code == 400 and json_of(response)["error"]["code"] == "malformed"


def test_a_10_mb_body_is_413(client: FlaskClient, bearer: Any, operator: User) -> None:
    response = client.post("/api/v1/contacts", data=b"x" * (10 * 1024 * 1024),
                           headers={**bearer(operator), "Content-Type": "application/json"})
    assert response.status_code == 413 and json_of(response)["error"]["code"] == "too_large"


def test_removing_a_mandatory_referral_needs_a_supervisor(api: Any, contact: Any, client: FlaskClient,
                                                          bearer: Any, create_user: Any) -> None:
    change = {"remove": [{"service": "health.medical_care", "reason": "examined yesterday"}]}
    refused = api.post("/contacts", contact(referral_changes=change))
    assert refused.status_code == 403
    supervisor = create_user("supervisor")
    response = client.post("/api/v1/contacts", json=contact(referral_changes=change),
                           headers=bearer(supervisor))
    assert response.status_code == 201
    assert "health.medical_care" not in {r["service"] for r in json_of(response)["referrals"]}


def test_suggested_referrals_can_be_removed_and_manual_ones_added_with_reasons(api: Any, contact: Any) -> None:
    data = contact(categories=["violence.bullying"], urgency="P3", perpetrator={"relation": "peer"},
                   referral_changes={
                       "remove": [{"service": "education.psychological_support", "reason": "already seen"}],
                       "add": [{"service": "health.mental_health", "reason": "panic attacks"}]})
    response = api.post("/contacts", data)
    assert response.status_code == 201, response.json
    services = {r["service"]: r for r in response.json["referrals"]}
    assert "education.psychological_support" not in services
    assert services["health.mental_health"]["manual"] is True
    missing_reason = contact(referral_changes={"add": [{"service": "health.mental_health", "reason": ""}]})
    assert api.post("/contacts", missing_reason).status_code == 422


def test_a_follow_up_attaches_to_the_case_without_duplicating_open_referrals(api: Any, contact: Any) -> None:
    first = api.post("/contacts", contact()).json
    follow = contact(contact_type="follow_up", case_id=first["case_id"],
                     categories=["violence.sexual", "mental_health.self_harm"])
    response = api.post("/contacts", follow)
    assert response.status_code == 201, response.json
    assert response.json["case_id"] == first["case_id"]
    services = [r["service"] for r in response.json["referrals"]]
    assert sorted(services) == ["education.psychological_support", "health.mental_health"]
    assert _count(Case) == 1 and _count(Referral) == 6


def test_a_follow_up_to_an_unknown_case_is_refused(api: Any, contact: Any) -> None:
    response = api.post("/contacts", contact(contact_type="follow_up", case_id="nope"))
    assert response.status_code == 422 and "case_id" in response.json["error"]["fields"]


def test_get_case_shows_each_agency_only_its_fields(app: Flask, api: Any, contact: Any, client: FlaskClient,
                                                    bearer: Any, create_user: Any) -> None:
    case_id = api.post("/contacts", contact()).json["case_id"]
    full = api.get(f"/cases/{case_id}").json
    assert full["child"]["name"] == "Әсел Қайратқызы" and full["child"]["school"] == "№3 мектеп"
    assert "mental_illness" in full["child"]["flags"]
    referrals = {r.service: r for r in db.session.scalars(select(Referral))}
    police = create_user("agency_staff", unit=referrals["police.juvenile_inspector"].unit)
    health = create_user("agency_staff", unit=referrals["health.medical_care"].unit)
    seen_by_police = json_of(client.get(f"/api/v1/cases/{case_id}", headers=bearer(police)))
    seen_by_health = json_of(client.get(f"/api/v1/cases/{case_id}", headers=bearer(health)))
    assert seen_by_police["child"]["school"] == "№3 мектеп"
    assert "school" not in seen_by_health["child"]
    assert "mental_illness" not in seen_by_police["child"]["flags"]
    assert "mental_illness" in seen_by_health["child"]["flags"]
    others = [r for r in seen_by_police["referrals"] if r["agency"] != "police"]
    # status and outcome only (security.md §2): never the service (issue 16 item 10)
    assert others and all(set(r) == {"id", "case_id", "agency", "status", "outcome"} for r in others)
    assert "health.medical_care" not in str(seen_by_police)


def test_case_and_referral_pages_hide_other_agencies_services(
        app: Flask, api: Any, contact: Any, create_user: Any) -> None:
    from intake.templating import label
    from tests.factories import sign_in

    case_id = api.post("/contacts", contact()).json["case_id"]
    referrals = {r.service: r for r in db.session.scalars(select(Referral))}
    police = create_user("agency_staff", unit=referrals["police.juvenile_inspector"].unit)
    helpline = create_user("operator")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        health_service = label("service", "health.medical_care")
    pages = {}
    for who in (police, helpline):
        browser = app.test_client()
        assert sign_in(browser, who, lang="en").status_code == 302
        pages[who.role] = browser.get(f"/cases/{case_id}", headers={"Accept-Language": "en"})
        if who is police:
            referral = browser.get(f"/referrals/{referrals['police.juvenile_inspector'].id}",
                                   headers={"Accept-Language": "en"})
            assert referral.status_code == 200 and health_service not in referral.get_data(as_text=True)
    assert health_service in pages["operator"].get_data(as_text=True)
    police_page = pages["agency_staff"].get_data(as_text=True)
    assert pages["agency_staff"].status_code == 200 and health_service not in police_page


def test_cases_of_other_regions_and_agencies_are_404(api: Any, contact: Any, client: FlaskClient,
                                                     bearer: Any, create_user: Any, create_unit: Any) -> None:
    body = api.post("/contacts", contact()).json
    pavlodar = db.session.scalar(select(AgencyUnit).where(AgencyUnit.agency == "health",
                                                          AgencyUnit.region == "KZ-55"))
    outsider = create_user("agency_staff", unit=pavlodar)
    for path in (f"/cases/{body['case_id']}", f"/contacts/{body['id']}", "/cases/not-a-case"):
        response = client.get(f"/api/v1{path}", headers=bearer(outsider))
        assert response.status_code == 404 and json_of(response)["error"]["code"] == "not_found"
    other_region = create_user("operator", region="KZ-75")
    assert client.get(f"/api/v1/cases/{body['case_id']}", headers=bearer(other_region)).status_code == 404


@pytest.mark.parametrize("query", ["+7 701 123 45 67", "140315600018", "  ӘСЕЛ  қайратқызы ", "number"])
def test_search_finds_the_case_by_phone_iin_name_or_number(api: Any, contact: Any, query: str) -> None:
    body = api.post("/contacts", contact()).json
    api.post("/contacts", contact(child={"name": "Тимур", "region": "KZ-27", "age": 10},
                                  caller={"relation": "self", "phone": "+77755550123"}))
    if query == "number":
        query = get_row(Case, body["case_id"]).number
    found = api.get("/cases", query_string={"q": query}).json
    assert [item["id"] for item in found["items"]] == [body["case_id"]]


def test_search_is_paginated_and_limit_is_checked(api: Any, contact: Any) -> None:
    for _ in range(3):
        api.post("/contacts", contact())
    first = api.get("/cases", query_string={"limit": 2}).json
    second = api.get("/cases", query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert {i["id"] for i in first["items"]}.isdisjoint({i["id"] for i in second["items"]})
    assert api.get("/cases", query_string={"limit": 501}).status_code == 422
    assert api.get("/cases", query_string={"limit": "²"}).status_code == 422  # a digit to Python


def test_every_case_view_is_audited_once_with_the_fields_decrypted(api: Any, contact: Any) -> None:
    from core.audit.models import AuditEntry

    case_id = api.post("/contacts", contact()).json["case_id"]
    api.get(f"/cases/{case_id}")
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "case.viewed")))
    assert len(entries) == 1 and entries[0].object_id == case_id
    fields = entries[0].fields or ""
    assert "children.name" in fields and "contacts.summary" in fields
    assert "Әсел" not in (entries[0].fields or "") + (entries[0].details or "")


def test_personal_data_written_through_the_api_never_reaches_the_database_in_clear(
        app: Flask, api: Any, contact: Any) -> None:
    from tests.raw_database import raw_database_bytes

    api.post("/contacts", contact())
    raw = raw_database_bytes()
    for needle in ("Әсел Қайратқызы", "Гүлнар", "+77011234567", "140315600018", "Фёдоровка",
                   "бейтаныс", "№3 мектеп"):
        assert needle.encode() not in raw, needle


def test_a_search_entry_names_the_fields_decrypted_for_its_candidates(api: Any, contact: Any) -> None:
    """security.md §3: candidates decrypted and discarded are covered by the lookup's entry."""
    from core.audit.models import AuditEntry

    api.post("/contacts", contact())
    assert len(api.get("/cases", query_string={"q": "Әсел Қайратқызы"}).json["items"]) == 1
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "case.search")).one()
    assert "children.name" in (entry.fields or "")


@pytest.mark.parametrize("values", [["not-a-date", "x"], [5, "x"], [None, None]])
def test_a_forged_search_cursor_is_a_422_naming_the_cursor(api: Any, values: list[Any]) -> None:
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    response = api.get("/cases", query_string={"cursor": cursor})
    assert response.status_code == 422 and response.json["error"]["fields"] == {"cursor": "invalid"}


def test_an_agency_sees_the_caller_only_when_the_caller_agreed_to_be_contacted(
        api: Any, contact: Any, create_user: Any, bearer: Any, client: FlaskClient) -> None:
    body = api.post("/contacts", contact(caller={"relation": "neighbour", "name": "Гүлнар Сапарова",
                                                 "phone": "+77011234567", "callback_consent": False})).json
    police_unit = get_row(Referral, body["referrals"][0]["id"]).unit
    officer = create_user("agency_staff", unit=police_unit)
    seen = json_of(client.get(f"/api/v1/cases/{body['case_id']}", headers=bearer(officer)))
    assert seen["contacts"][0]["caller"] == {"callback_consent": False}
    helpline = api.get(f"/cases/{body['case_id']}").json["contacts"][0]["caller"]
    assert helpline["relation"] == "neighbour" and helpline["phone"] == "+77011234567"


def test_search_dates_are_whole_local_days_both_included(api: Any, contact: Any, clock: Any) -> None:
    """Almaty is UTC+5: a case opened at 02:00 on 20 November there is on the 19th in UTC."""
    from datetime import UTC, datetime

    clock.set(datetime(2026, 11, 19, 21, 0, tzinfo=UTC))  # 20 Nov, 02:00 in Almaty
    early = api.post("/contacts", contact(started_at="2026-11-20T01:50:00+05:00",
                                          ended_at="2026-11-20T01:58:00+05:00")).json
    clock.set(datetime(2026, 11, 20, 20, 0, tzinfo=UTC))  # 21 Nov, 01:00 in Almaty
    late = api.post("/contacts", contact(started_at="2026-11-21T00:50:00+05:00",
                                         ended_at="2026-11-21T00:58:00+05:00")).json

    def found(**dates: str) -> list[str]:
        return [item["id"] for item in api.get("/cases", query_string=dates).json["items"]]

    assert found(**{"from": "2026-11-20", "to": "2026-11-20"}) == [early["case_id"]]
    assert found(**{"from": "2026-11-21"}) == [late["case_id"]]
    assert found(to="2026-11-19") == []
    assert found(**{"from": "2026-11-20T02:30:00+05:00"}) == [late["case_id"]]
    assert api.get("/cases", query_string={"to": "20.11.2026"}).status_code == 422


def test_openapi_documents_idempotent_submission(client: FlaskClient) -> None:
    post = json_of(client.get("/api/v1/openapi.json"))["paths"]["/api/v1/contacts"]["post"]
    [header] = [p for p in post["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["schema"]["maxLength"] == 100
    assert {"200", "201", "409"} <= set(post["responses"])
    assert post["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_validation_errors_never_quote_what_was_submitted(api: Any, contact: Any) -> None:
    """A 422 names the field and the rule; the child's summary is not echoed back (or logged)."""
    secret = "Әсел анасынан қорқады " * 1000  # longer than the 20,000 characters allowed
    response = api.post("/contacts", contact(summary=secret, child={"name": 12345}))
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert fields["summary"].startswith("at most") and fields["child.name"] == "must be string or null"
    assert "Әсел" not in response.get_data(as_text=True)


def test_a_contact_without_a_case_stays_within_the_reader_s_region(
        client: FlaskClient, bearer: Any, create_user: Any) -> None:
    """It keeps no child, so it belongs to the region of the desk that took it."""
    west = create_user("operator", region="KZ-27")
    body = json_of(client.post("/api/v1/contacts", headers=bearer(west), json={
        "channel": "phone", "contact_type": "information", "language": "kk",
        "caller": {"name": "Гүлнар Сапарова", "phone": "+77011234567", "relation": "parent"}}))
    assert body["case_id"] is None
    path = f"/api/v1/contacts/{body['id']}"
    pavlodar = create_user("operator", region="KZ-55")
    helpline = create_user("supervisor", region=None)
    assert client.get(path, headers=bearer(west)).status_code == 200
    assert client.get(path, headers=bearer(helpline)).status_code == 200
    assert client.get(path, headers=bearer(pavlodar)).status_code == 404
