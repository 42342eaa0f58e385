"""Who sees which referral (security.md §2): the unit's own, in the list and in detail; 404
for what is not yours, identical to what does not exist; the list is scoped in SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from core.models import User
from tests.factories import sign_in
from tests.referrals.handoffs.conftest import Acting, People

POLICE = "police.juvenile_inspector"


def test_the_terekti_police_sees_its_referral_and_pavlodar_health_sees_nothing(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    police_referral = case["referrals"][POLICE]
    police = acting(people.police)
    listed = police.get("/referrals").json
    assert [r["id"] for r in listed["items"]] == [police_referral]
    assert listed["items"][0]["unit"]["id"] == people.police.unit_id
    assert police.get(f"/referrals/{police_referral}").status_code == 200
    assert police.get(f"/cases/{case['case_id']}").status_code == 200

    pavlodar = acting(people.pavlodar_health)
    assert pavlodar.get(f"/cases/{case['case_id']}").status_code == 404
    assert pavlodar.get("/referrals").json == {"items": [], "next_cursor": None}
    for referral_id in case["referrals"].values():
        absent = pavlodar.get("/referrals/01900000-0000-7000-8000-000000000000")
        theirs = pavlodar.get(f"/referrals/{referral_id}")
        assert theirs.status_code == absent.status_code == 404
        assert theirs.json == absent.json  # "not yours" reads exactly like "absent"


def test_the_pages_agree_with_the_api(app: Flask, people: People, case: dict[str, Any]) -> None:
    police_referral = case["referrals"][POLICE]
    police, pavlodar = app.test_client(), app.test_client()
    sign_in(police, people.police)
    sign_in(pavlodar, people.pavlodar_health)
    inbox = police.get("/").get_data(as_text=True)
    assert f"/referrals/{police_referral}" in inbox
    assert pavlodar.get(f"/cases/{case['case_id']}").status_code == 404
    assert pavlodar.get(f"/referrals/{police_referral}").status_code == 404
    empty = pavlodar.get("/").get_data(as_text=True)
    assert "/referrals/" not in empty.replace('href="/referrals/"', "")
    assert all(f"/referrals/{r}" not in empty for r in case["referrals"].values())


def test_each_unit_lists_only_its_own_and_helpline_sees_all_in_region(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    education = acting(people.education).get("/referrals").json["items"]
    assert [r["service"] for r in education] == ["education.guardianship"]
    everything = acting(people.operator).get("/referrals").json["items"]
    assert {r["id"] for r in everything} == set(case["referrals"].values())
    assert acting(people.regional_supervisor).get("/referrals").json["items"] == []


def test_admins_and_auditors_may_not_list_referrals(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    for user in (people.admin, people.auditor):
        response = acting(user).get("/referrals")
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_the_list_filters_by_status_and_pages_by_nearest_deadline(
        acting: Callable[[User], Acting], people: People, submit: Any) -> None:
    first = submit()  # P2: acknowledge within 4 hours
    urgent = submit(flags=["immediate_danger"])  # P1: acknowledge within 15 minutes
    police = acting(people.police)
    police.act(first["referrals"][POLICE], "acknowledge")
    items = police.get("/referrals?status=open").json["items"]
    order = [r["id"] for r in items]
    # The P1 referral's acknowledgement is due first; the acknowledged one now runs on its
    # action deadline (24 h), after every acknowledgement deadline.
    assert order[0] in urgent["referrals"].values()
    assert order[-1] == first["referrals"][POLICE]
    assert [r["id"] for r in police.get("/referrals?status=acknowledged").json["items"]] == [
        first["referrals"][POLICE]]
    pages, cursor = [], ""
    while True:
        body = police.get(f"/referrals?status=open&limit=1{cursor}").json
        pages += [r["id"] for r in body["items"]]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert pages == order


@pytest.mark.parametrize("query", ["status=lost", "limit=0", "limit=501", "cursor=%%%"])
def test_bad_list_parameters_are_422(acting: Callable[[User], Acting], people: People,
                                     query: str) -> None:
    assert acting(people.police).get(f"/referrals?{query}").status_code == 422


def test_agency_officers_see_only_the_fields_their_agency_needs(
        app: Flask, people: People, case: dict[str, Any]) -> None:
    """security.md §2: health sees no school but the health-only risk flags; police the
    reverse; the caller's phone because the caller consented."""
    pages = {}
    for name, user, service in (("police", people.police, POLICE),
                                ("health", people.health, "health.medical_care")):
        client = app.test_client()
        sign_in(client, user)
        pages[name] = client.get(f"/referrals/{case['referrals'][service]}",
                                 headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "№3 мектеп" in pages["police"] and "№3 мектеп" not in pages["health"]
    assert "Әсел Қайратқызы" in pages["police"] and "Әсел Қайратқызы" in pages["health"]
    assert "+77011234567" in pages["police"]
    mental = "Mental illness"
    assert mental not in pages["police"] and mental in pages["health"]


def test_the_openapi_description_documents_every_action_body(client: Any) -> None:
    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert "get" in paths["/api/v1/referrals"] and "get" in paths["/api/v1/referrals/{referral_id}"]
    decline = paths["/api/v1/referrals/{referral_id}/decline"]["post"]
    schema = decline["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["reason"] and "wrong_district" in schema["properties"]["reason"]["enum"]
    assert "requestBody" not in paths["/api/v1/referrals/{referral_id}/acknowledge"]["post"]
