"""The handoff pages without JavaScript: the agency inbox, the referral page and its actions
with confirmation, the supervisors' list, and closing the loop on the case page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from intake.models import Case, CaseEvent
from referrals.handoffs.models import ReferralEvent
from tests.factories import csrf_token, sign_in
from tests.reading import get_row
from tests.referrals.handoffs.conftest import Acting, People, referral, unit_of
from tests.sql import counting_statements

POLICE = "police.juvenile_inspector"
EN = {"Accept-Language": "en"}


def signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    sign_in(client, user)
    return client


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path, headers=EN)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def post(client: FlaskClient, path: str, form_page: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, form_page), **data}, headers=EN)


# ---- the inbox -------------------------------------------------------------------------------------


def test_the_inbox_is_home_for_unit_staff_nearest_deadline_first(
        app: Flask, people: People, submit: Any, clock: FrozenClock) -> None:
    slow = submit()  # P2: acknowledge within 4 hours
    clock.advance(timedelta(minutes=5))
    urgent = submit(flags=["immediate_danger"])  # P1: within 15 minutes
    html = page(signed_in(app, people.police), "/")
    first = html.index(f"/referrals/{urgent['referrals'][POLICE]}")
    assert first < html.index(f"/referrals/{slow['referrals'][POLICE]}")
    assert "data-countdown-formats" in html and "js/inbox.js" in html
    assert "<script>" not in html  # no inline script (CSP)
    assert "15 min left" in html or "10 min left" in html


def test_overdue_referrals_are_marked_in_words_and_colour(
        app: Flask, people: People, case: dict[str, Any], clock: FrozenClock) -> None:
    clock.advance(timedelta(hours=4, minutes=30))
    html = page(signed_in(app, people.police), "/")
    assert "overdue by 30 min" in html and "is-overdue" in html and 'class="countdown overdue"' in html
    assert "Overdue: 1" in html


def test_the_inbox_counts_open_new_and_overdue_in_one_statement(
        app: Flask, people: People, submit: Any, acting: Callable[[User], Acting],
        clock: FrozenClock) -> None:
    new, late, acknowledged, completed = submit(), submit(urgency="P1"), submit(), submit()
    police = acting(people.police)
    police.act(acknowledged["referrals"][POLICE], "acknowledge")
    done = completed["referrals"][POLICE]
    for action, body in [("acknowledge", None), ("accept", None),
                         ("record_action", {"action": "home_visit", "note": "visited"}),
                         ("complete", {"outcome": "child_seen", "note": "done"})]:
        assert police.act(done, action, body).status_code == 200, action
    clock.advance(timedelta(minutes=20))  # only the P1 acknowledgement (15 min) is late
    client = signed_in(app, people.police)
    with counting_statements(db.engine) as seen:
        html = page(client, "/inbox")
    assert "Open: 3" in html  # new, late and acknowledged; not the completed one
    assert "Waiting for acknowledgement: 2" in html and "Overdue: 1" in html
    assert new["referrals"][POLICE] in html and late["referrals"][POLICE] in html
    assert sum("count(*)" in s.lower() and "referrals" in s for s in seen) == 1, seen.report()


def test_the_inbox_filters(app: Flask, people: People, submit: Any,
                           acting: Callable[[User], Acting], clock: FrozenClock) -> None:
    first, second = submit(), submit(urgency="P1")
    acting(people.police).act(first["referrals"][POLICE], "acknowledge")
    client = signed_in(app, people.police)
    assert '<option value="sent">New</option>' in page(client, "/inbox")  # as the rows say it
    acknowledged = page(client, "/inbox?status=acknowledged")
    assert first["referrals"][POLICE] in acknowledged and second["referrals"][POLICE] not in acknowledged
    p1 = page(client, "/inbox?urgency=P1")
    assert second["referrals"][POLICE] in p1 and first["referrals"][POLICE] not in p1
    emergency = page(client, "/inbox?service=police.emergency")
    assert "No referrals match these filters." in emergency
    clock.advance(timedelta(minutes=20))  # only the P1 acknowledgement (15 min) is late
    overdue = page(client, "/inbox?overdue=1")
    assert second["referrals"][POLICE] in overdue and first["referrals"][POLICE] not in overdue
    assert "Clear filters" in overdue


def test_the_inbox_is_paginated(app: Flask, people: People, submit: Any,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    from referrals.handoffs import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = [submit()["referrals"][POLICE] for _ in range(3)]
    client = signed_in(app, people.police)
    one, two = page(client, "/inbox"), page(client, "/inbox?page=2")
    assert sum(r in one for r in made) == 2 and sum(r in two for r in made) == 1
    assert 'rel="next"' in one and 'rel="prev"' in two


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin", "auditor"])
def test_the_inbox_is_for_unit_staff_only(app: Flask, create_user: Any, role: str) -> None:
    assert signed_in(app, create_user(role)).get("/inbox").status_code == 403


# ---- the referral page and its actions ---------------------------------------------------------------


def test_an_officer_acknowledges_accepts_acts_and_completes_through_the_forms(
        app: Flask, people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    client = signed_in(app, people.police)
    path = f"/referrals/{referral_id}"
    html = page(client, path)
    assert "Acknowledge receipt" in html and "Decline…" in html and "Transfer" in html
    assert "Re-route" not in html and "Override" not in html  # the supervisor's
    assert post(client, f"{path}/acknowledge", path).status_code == 302
    assert post(client, f"{path}/accept", path).status_code == 302
    assert post(client, f"{path}/record_action", path, action="child_seen",
                note="Баламен сөйлестік").status_code == 302
    asked = post(client, f"{path}/complete", path, outcome="support_provided", note="Көмек")
    assert asked.status_code == 200 and "Complete this referral?" in asked.get_data(as_text=True)
    assert referral(referral_id).status == "accepted"  # nothing happens before confirming
    done = post(client, f"{path}/complete", path, outcome="support_provided", note="Көмек",
                confirmed="1")
    assert done.status_code == 302
    final = referral(referral_id)
    assert (final.status, final.outcome) == ("completed", "support_provided")
    assert "Баламен сөйлестік" in page(client, path)


@pytest.mark.parametrize("action", ["decline", "transfer", "override"])
def test_decline_transfer_and_override_ask_for_confirmation(
        app: Flask, people: People, case: dict[str, Any], action: str) -> None:
    referral_id = case["referrals"][POLICE]
    user = people.supervisor if action == "override" else people.police
    client = signed_in(app, user)
    path = f"/referrals/{referral_id}"
    data = {"decline": {"reason": "wrong_district", "note": "Оралда"},
            "transfer": {"unit_id": people.police_oral.unit_id or ""},
            "override": {"reason": "Басқа іспен біріктірілді"}}[action]
    asked = post(client, f"{path}/{action}", path, **data)
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'name="confirmed" value="1"' in text and "Cancel" in text
    assert referral(referral_id).status == "sent"
    confirmed = post(client, f"{path}/{action}", path, confirmed="1", **data)
    assert confirmed.status_code == 302
    assert referral(referral_id).status == {"decline": "declined", "transfer": "sent",
                                            "override": "overridden"}[action]
    if action == "transfer":  # gone from this unit: back to the inbox
        assert confirmed.headers["Location"] == "/"


def test_a_refused_action_explains_itself(app: Flask, people: People, case: dict[str, Any],
                                          acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    client = signed_in(app, people.police)
    path = f"/referrals/{referral_id}"
    form_token = csrf_token(client, path)
    acting(people.police_head).act(referral_id, "acknowledge")  # a colleague was faster
    late = client.post(f"{path}/acknowledge", data={"csrf_token": form_token}, headers=EN)
    assert late.status_code == 409 and "no longer possible" in late.get_data(as_text=True)
    missing = client.post(f"{path}/record_action", data={"csrf_token": form_token}, headers=EN)
    assert missing.status_code == 409  # not accepted yet: the state answers first
    client.post(f"{path}/accept", data={"csrf_token": form_token})
    empty = client.post(f"{path}/record_action", data={"csrf_token": form_token, "action": ""},
                        headers=EN)
    assert empty.status_code == 422 and 'id="err-record_action-action"' in empty.get_data(as_text=True)


def _control(html: str, control_id: str) -> str:
    found = re.search(rf'<(?:select|textarea) id="{control_id}"[^>]*>', html)
    assert found is not None, control_id
    return found.group(0)


def test_a_refused_field_is_marked_invalid_and_names_its_error(
        app: Flask, people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    client = signed_in(app, people.police)
    path = f"/referrals/{referral_id}"
    post(client, f"{path}/accept", path)
    fresh = page(client, path)
    for control in ("record-action-code", "record_action-note"):
        assert "aria-invalid" not in _control(fresh, control)
        assert "aria-describedby" not in _control(fresh, control)
    refused = post(client, f"{path}/record_action", path, action="")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="err-record_action-action"' in html
    code = _control(html, "record-action-code")
    assert 'aria-invalid="true"' in code and 'aria-describedby="err-record_action-action"' in code
    assert "aria-invalid" not in _control(html, "record_action-note")  # only the refused field


def test_actions_need_the_csrf_token_and_post(app: Flask, people: People,
                                              case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    client = signed_in(app, people.police)
    assert client.post(f"/referrals/{referral_id}/acknowledge").status_code == 400
    assert client.get(f"/referrals/{referral_id}/acknowledge").status_code == 405
    assert client.post(f"/referrals/{referral_id}/fly",
                       data={"csrf_token": csrf_token(client, "/")}).status_code == 404
    assert referral(referral_id).status == "sent"


def test_other_units_get_404_on_the_page_and_the_actions(app: Flask, people: People,
                                                         case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    client = signed_in(app, people.police_oral)
    assert client.get(f"/referrals/{referral_id}").status_code == 404
    token = csrf_token(client, "/")
    assert client.post(f"/referrals/{referral_id}/acknowledge",
                       data={"csrf_token": token}).status_code == 404
    operator = signed_in(app, people.operator)
    token = csrf_token(operator, f"/referrals/{referral_id}")
    assert operator.post(f"/referrals/{referral_id}/accept",
                         data={"csrf_token": token}).status_code == 403


def test_notes_of_other_agencies_stay_hidden(app: Flask, people: People, case: dict[str, Any],
                                             acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "decline", {"reason": "not_competent",
                                                       "note": "Полицияның ішкі жазбасы"})
    education = unit_of("education", district="KZ-27-TEREKTI")
    acting(people.supervisor).act(referral_id, "reroute", {"service": "education.school",
                                                           "unit_id": education.id,
                                                           "note": "Мектепке жіберілді"})
    html = page(signed_in(app, people.education), f"/referrals/{referral_id}")
    assert "Мектепке жіберілді" in html and "Полицияның ішкі жазбасы" not in html
    helpline = page(signed_in(app, people.operator), f"/referrals/{referral_id}")
    assert "Полицияның ішкі жазбасы" in helpline
    api_notes = [e.get("note") for e in acting(people.education).get(
        f"/referrals/{referral_id}").json["events"]]
    assert "Мектепке жіберілді" in api_notes and "Полицияның ішкі жазбасы" not in api_notes
    case_body = acting(people.education).get(f"/cases/{case['case_id']}").json
    [in_case] = [r for r in case_body["referrals"] if r["id"] == referral_id]
    case_notes = [e.get("note") for e in in_case["events"]]
    assert "Мектепке жіберілді" in case_notes and "Полицияның ішкі жазбасы" not in case_notes


# ---- the supervisors' list and re-routing ----------------------------------------------------------


def test_a_declined_mandatory_referral_is_on_the_list_at_once_and_is_rerouted(
        app: Flask, people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"]["education.guardianship"]
    acting(people.education).act(referral_id, "decline", {"reason": "wrong_district"})
    supervisor = signed_in(app, people.supervisor)
    listed = page(supervisor, "/supervision/reroute")
    assert f"/referrals/{referral_id}" in listed and "mandatory" in listed
    assert "Wrong district" in listed
    path = f"/referrals/{referral_id}"
    html = page(supervisor, path)
    oral = unit_of("education", district="KZ-27-ORAL")
    # routing.md §8: a declined referral is re-routed; override is for open states only
    assert oral.id in html and "Re-route" in html and "Override…" not in html
    response = post(supervisor, f"{path}/reroute", path, service="education.guardianship",
                    unit_id=oral.id)
    assert response.status_code == 302
    assert (referral(referral_id).status, referral(referral_id).unit_id) == ("sent", oral.id)
    assert f"/referrals/{referral_id}" not in page(supervisor, "/supervision/reroute")
    assert "Override…" in page(supervisor, path)


def test_the_reroute_form_lists_units_of_another_service(
        app: Flask, people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "decline", {"reason": "not_competent"})
    supervisor = signed_in(app, people.supervisor)
    html = page(supervisor, f"/referrals/{referral_id}?service=health.medical_care")
    health = unit_of("health")
    assert health.id in html and unit_of("police", district="KZ-27-TEREKTI").id not in re.findall(
        r'name="unit_id"[^>]*>(.*?)</select>', html, re.S)[-1]


def test_unassigned_referrals_are_on_the_list_too(app: Flask, people: People,
                                                  case: dict[str, Any]) -> None:
    found = referral(case["referrals"][POLICE])
    found.status, found.unit_id = "unassigned", None
    db.session.commit()
    listed = page(signed_in(app, people.supervisor), "/supervision/reroute")
    assert f"/referrals/{found.id}" in listed and "No unit offers this service" in listed
    assert signed_in(app, people.operator).get("/supervision/reroute").status_code == 403


# ---- closing the loop on the case ----------------------------------------------------------------------


def finish_all(case: dict[str, Any], people: People, acting: Callable[[User], Acting]) -> None:
    units = {POLICE: people.police, "education.guardianship": people.education,
             "health.medical_care": people.health}
    for service, referral_id in case["referrals"].items():
        if service in units:
            acting(units[service]).act(referral_id, "accept")
            acting(units[service]).act(referral_id, "complete", {"outcome": "child_seen"})
        else:
            acting(people.supervisor).act(referral_id, "override", {"reason": "Қажет емес"})


def test_the_operator_sees_each_status_and_outcome_on_the_case_page(
        app: Flask, people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "accept")
    acting(people.police).act(referral_id, "complete", {"outcome": "investigation_opened"})
    html = page(signed_in(app, people.operator), f"/cases/{case['case_id']}")
    assert "Pre-trial investigation opened" in html and "Completed" in html
    assert f"/referrals/{referral_id}" in html
    assert "Still waiting for" in html  # three mandatory referrals are still open
    # the timeline names each handoff in words, never by its action code
    assert "Receipt acknowledged" not in html and ": accept" not in html and ": complete" not in html
    assert ": Accepted" in html and ": Completed" in html


def test_the_case_closes_only_when_every_mandatory_referral_is_done(
        app: Flask, people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    case_path = f"/cases/{case['case_id']}"
    operator = signed_in(app, people.operator)
    early = post(operator, f"{case_path}/close", case_path, summary="Бәрі жақсы")
    assert early.status_code == 302
    assert get_row(Case, case["case_id"]).status == "open"
    finish_all(case, people, acting)
    html = page(operator, case_path)
    assert "Closing summary" in html
    assert post(operator, f"{case_path}/close", case_path, summary="").status_code == 302
    assert get_row(Case, case["case_id"]).status == "open"  # a summary is required
    assert post(operator, f"{case_path}/close", case_path,
                summary="Барлық агенттік жұмысын аяқтады").status_code == 302
    closed = get_row(Case, case["case_id"])
    db.session.refresh(closed)
    assert closed.status == "closed" and closed.close_summary == "Барлық агенттік жұмысын аяқтады"
    assert "Reopen the case" not in page(operator, case_path)  # only a supervisor reopens
    token = csrf_token(operator, case_path)
    assert operator.post(f"{case_path}/reopen", data={"csrf_token": token,
                                                      "reason": "x"}).status_code == 403


def test_a_supervisor_reopens_a_closed_case_with_a_reason(
        app: Flask, people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    finish_all(case, people, acting)
    case_path = f"/cases/{case['case_id']}"
    supervisor = signed_in(app, people.supervisor)
    post(supervisor, f"{case_path}/close", case_path, summary="Аяқталды")
    html = page(supervisor, case_path)
    assert "Reopen the case" in html
    assert post(supervisor, f"{case_path}/reopen", case_path, reason="").status_code == 302
    assert get_row(Case, case["case_id"]).status == "closed"
    post(supervisor, f"{case_path}/reopen", case_path, reason="Анасы қайта хабарласты")
    db.session.expire_all()
    reopened = db.session.get(Case, case["case_id"])
    assert reopened is not None and reopened.status == "open" and reopened.closed_at is None
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.type == "reopened"))
    assert event is not None and event.reason == "Анасы қайта хабарласты"
    # the written reason stays encrypted on the event; the append-only audit points to it
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.reopened"))
    assert entry is not None and entry.reason is None and entry.details_map["event"] == event.id


def test_an_override_reason_stays_out_of_the_audit_trail(
        people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    reason = "Әжесі Жанар баланы Оралға алып кетті"
    assert acting(people.supervisor).act(referral_id, "override", {"reason": reason}).status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "referral.override"))
    assert entry is not None and entry.reason is None and reason not in str(entry.details_map)
    event = db.session.get(ReferralEvent, entry.details_map["event"])
    assert event is not None and event.note == reason
    # the API's event ``reason`` carries the justification (interfaces.md)
    events = acting(people.operator).get(f"/cases/{case['case_id']}").json["events"]
    assert {"type": "override", "reason": reason}.items() <= next(
        e for e in events if e["type"] == "override").items()
    [override] = [e for e in acting(people.police).get(f"/referrals/{referral_id}").json["events"]
                  if e["action"] == "override"]
    assert override["reason"] == reason


def test_agency_staff_may_not_close_a_case(app: Flask, people: People,
                                           case: dict[str, Any]) -> None:
    case_path = f"/cases/{case['case_id']}"
    police = signed_in(app, people.police)
    token = csrf_token(police, "/")
    assert police.post(f"{case_path}/close", data={"csrf_token": token,
                                                   "summary": "x"}).status_code == 403
    pavlodar = signed_in(app, people.pavlodar_health)
    token = csrf_token(pavlodar, "/")
    assert pavlodar.post(f"{case_path}/close", data={"csrf_token": token,
                                                     "summary": "x"}).status_code == 403


def test_the_case_page_links_supervisors_to_its_routing_audit_and_access_log(
        app: Flask, people: People, case: dict[str, Any]) -> None:
    case_path = f"/cases/{case['case_id']}"
    supervisor = page(signed_in(app, people.supervisor), case_path)
    assert f"{case_path}/routing-audit" in supervisor and f"{case_path}/access-log" in supervisor
    operator = page(signed_in(app, people.operator), case_path)
    assert "/routing-audit" not in operator and "/access-log" not in operator


def test_another_agency_s_handoffs_stay_out_of_the_case_events_and_timeline(
        app: Flask, people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    """security.md §2: another agency's referral shows its status and outcome only; its
    actions and decline reasons are not the police's to read, in the API or on the page."""
    health_referral = case["referrals"]["health.medical_care"]
    acting(people.health).act(health_referral, "accept")
    acting(people.health).act(health_referral, "record_action", {"action": "medical_exam"})
    police_view = acting(people.police).get(f"/cases/{case['case_id']}").json
    assert {e["referral_id"] for e in police_view["events"]} <= {None, case["referrals"][POLICE]}
    assert "medical_exam" not in str(police_view["events"])
    [health_json] = [r for r in police_view["referrals"] if r["id"] == health_referral]
    assert health_json["status"] == "accepted" and "events" not in health_json
    helpline_view = acting(people.operator).get(f"/cases/{case['case_id']}").json
    assert any(e["reason"] == "medical_exam" for e in helpline_view["events"])
    html = page(signed_in(app, people.police), f"/cases/{case['case_id']}")
    assert "Action recorded" not in html and "Receipt acknowledged" not in html
    assert "Action recorded" in page(signed_in(app, people.operator), f"/cases/{case['case_id']}")


def test_walking_ids_outside_one_s_scope_is_404_and_on_record(
        app: Flask, people: People, case: dict[str, Any], acting: Callable[[User], Acting]) -> None:
    """The Pavlodar health officer meets the same 404 as for an absent id, and each attempt on
    a real object is a ``permission.denied`` entry naming it (security.md §3)."""
    outsider = acting(people.pavlodar_health)
    police_referral = case["referrals"][POLICE]
    contact_id = acting(people.operator).get(f"/cases/{case['case_id']}").json["contacts"][0]["id"]
    attempts = [outsider.get(f"/cases/{case['case_id']}"), outsider.get(f"/contacts/{contact_id}"),
                outsider.get(f"/referrals/{police_referral}"),
                outsider.act(police_referral, "acknowledge")]
    assert [r.status_code for r in attempts] == [404] * 4
    web = signed_in(app, people.pavlodar_health)
    assert web.get(f"/cases/{case['case_id']}").status_code == 404
    absent = outsider.get("/cases/0000000000000000")
    assert absent.status_code == 404 and absent.json == attempts[0].json
    denied = [(e.object_type, e.object_id) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "permission.denied",
                                 AuditEntry.actor_id == people.pavlodar_health.id)
        .order_by(AuditEntry.sequence))]
    assert denied == [("case", case["case_id"]), ("contact", contact_id),
                      ("referral", police_referral), ("referral", police_referral),
                      ("case", case["case_id"])]


def test_a_refused_form_marks_its_own_fields_not_the_same_names_in_other_forms(
        app: Flask, people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    client = signed_in(app, people.police)
    path = f"/referrals/{referral_id}"
    post(client, f"{path}/accept", path)
    refused = post(client, f"{path}/note", path, note="")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="err-note-note"' in html
    assert 'aria-invalid="true"' in _control(html, "note-note")
    # The record-action and complete forms have a "note" field too: not refused, not marked.
    for control in ("record_action-note", "complete-note"):
        assert "aria-invalid" not in _control(html, control)
    assert 'id="err-record_action-note"' not in html and 'id="err-complete-note"' not in html
