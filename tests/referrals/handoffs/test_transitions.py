"""The handoff state machine against routing.md §8, through the API: every action from every
state by every kind of actor, the clocks, the events and the parameters each action needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from core import permissions
from core.audit import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from core.roles import Role
from referrals.handoffs import transitions
from referrals.handoffs.models import STATES, Referral, ReferralEvent
from tests.referrals.handoffs.conftest import Acting, People, referral, unit_of

POLICE = "police.juvenile_inspector"
TEREKTI = "KZ-27-TEREKTI"

# routing.md §8, written out again here (not imported) so the code is checked against the spec.
ALLOWED: dict[str, tuple[set[str], set[str], str | None]] = {
    # action: (from states, who, to)
    "acknowledge": ({"sent"}, {"unit"}, "acknowledged"),
    "accept": ({"sent", "acknowledged"}, {"unit"}, "accepted"),
    "decline": ({"sent", "acknowledged"}, {"unit"}, "declined"),
    "transfer": ({"sent", "acknowledged", "accepted"}, {"unit", "supervisor"}, "sent"),
    "record_action": ({"accepted"}, {"unit"}, "accepted"),
    "complete": ({"accepted"}, {"unit"}, "completed"),
    "reroute": ({"declined", "unassigned"}, {"supervisor"}, "sent"),
    # "any open state"; open states: unassigned, sent, acknowledged, accepted (declined is not)
    "override": ({"unassigned", "sent", "acknowledged", "accepted"}, {"supervisor"}, "overridden"),
    "note": (set(STATES), {"unit", "operator", "supervisor"}, None),
}


def bodies() -> dict[str, Any]:
    oral_police = unit_of("police", district="KZ-27-ORAL")
    return {
        "acknowledge": None, "accept": None,
        "decline": {"reason": "wrong_district", "note": "Бала Оралда тұрады"},
        "transfer": {"unit_id": oral_police.id},
        "record_action": {"action": "home_visit", "note": "Үйіне бардық"},
        "complete": {"outcome": "support_provided", "note": "Көмек көрсетілді"},
        "reroute": {"unit_id": oral_police.id},
        "override": {"reason": "Дубликат: іс басқа жолмен жабылды"},
        "note": {"note": "Анасы хабарласты"},
    }


def put_in_state(referral_id: str, state: str) -> None:
    found = referral(referral_id)
    found.status = state
    if state == "unassigned":
        found.unit_id = None
    db.session.commit()


def actors(people: People) -> dict[str, tuple[User, str]]:
    """name: (user, kind); kind is what the table's "who" column calls them, or why they
    never may: "hidden" (404: another unit, another region) or "endpoint" (403 at the door)."""
    return {
        "police": (people.police, "unit"), "police_head": (people.police_head, "unit"),
        "police_oral": (people.police_oral, "hidden"), "education": (people.education, "hidden"),
        "pavlodar_health": (people.pavlodar_health, "hidden"),
        "operator": (people.operator, "operator"), "supervisor": (people.supervisor, "supervisor"),
        "other_region_supervisor": (people.regional_supervisor, "hidden"),
        "admin": (people.admin, "endpoint"), "auditor": (people.auditor, "endpoint"),
    }


def expected_status(state: str, action: str, kind: str) -> int:
    sources, who, _ = ALLOWED[action]
    if kind == "endpoint":
        return 403
    if kind == "hidden" or (kind == "unit" and state == "unassigned"):
        return 404  # unit staff never see a referral that has no unit
    if kind not in who:
        return 403
    return 200 if state in sources else 409


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", transitions.ACTIONS)
def test_every_action_from_every_state_by_every_actor(
        acting: Callable[[User], Acting], people: People, submit: Any,
        state: str, action: str) -> None:
    case = submit()
    referral_id = case["referrals"][POLICE]
    put_in_state(referral_id, state)
    body = bodies()[action]
    winners = []
    for name, (user, kind) in actors(people).items():
        wanted = expected_status(state, action, kind)
        if wanted == 200:
            winners.append((name, user))
            continue
        response = acting(user).act(referral_id, action, body)
        assert response.status_code == wanted, (name, response.json)
        assert referral(referral_id).status == state
    for name, user in winners:  # each on a fresh referral in the same state
        fresh = submit()["referrals"][POLICE]
        put_in_state(fresh, state)
        response = acting(user).act(fresh, action, body)
        assert response.status_code == 200, (name, response.json)
        to = ALLOWED[action][2] or state
        assert response.json["status"] == to
        event = [e for e in referral(fresh).events if e.action == action][-1]
        assert (event.action, event.from_status, event.to_status, event.actor_id) == (
            action, state, to, user.id)


def test_the_table_and_the_policy_module_agree() -> None:
    """Whoever the table names for an action is exactly whom the policy lets try it."""
    class Person:
        def __init__(self, role: str, unit_id: str | None) -> None:
            self.id, self.role, self.unit_id, self.region, self.active = "u", role, unit_id, None, True

    class Case:
        id = "case-1"
        region = "KZ-27"
        referral_unit_ids = ("unit-1",)

    class Ref:
        unit_id = "unit-1"
        case = Case()

    kinds = {Role.AGENCY_STAFF: "unit", Role.AGENCY_HEAD: "unit", Role.SUPERVISOR: "supervisor",
             Role.OPERATOR: "operator", Role.ADMIN: "admin", Role.AUDITOR: "auditor"}
    for action in transitions.ACTIONS:
        for role, kind in kinds.items():
            person = Person(role.value, "unit-1" if kind == "unit" else None)
            who = transitions.BY_ACTION[action].who
            may = permissions.can_transition(person, Ref(), Case(), who)
            assert may == (kind in ALLOWED[action][1]), (action, role)


# ---- the clocks ------------------------------------------------------------------------------------


def test_acknowledge_then_accept_keeps_the_first_acknowledgement(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any],
        clock: FrozenClock) -> None:
    police = acting(people.police)
    referral_id = case["referrals"][POLICE]
    before = referral(referral_id)
    ack_due, action_due = before.ack_due_at, before.action_due_at
    police.act(referral_id, "acknowledge")
    acknowledged = clock.now()
    clock.advance(timedelta(minutes=30))
    assert police.act(referral_id, "accept").status_code == 200
    after = referral(referral_id)
    assert after.acknowledged_at == acknowledged and after.accepted_at == clock.now()
    assert (after.ack_due_at, after.action_due_at) == (ack_due, action_due)  # never recomputed


def test_accept_straight_from_sent_meets_the_acknowledgement(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any],
        clock: FrozenClock) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "accept")
    assert referral(referral_id).acknowledged_at == clock.now()


def test_only_the_first_action_meets_the_action_deadline(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any],
        clock: FrozenClock) -> None:
    police = acting(people.police)
    referral_id = case["referrals"][POLICE]
    police.act(referral_id, "accept")
    clock.advance(timedelta(hours=1))
    police.act(referral_id, "record_action", {"action": "child_seen"})
    first = clock.now()
    clock.advance(timedelta(hours=1))
    police.act(referral_id, "record_action", {"action": "home_visit", "note": "екінші рет"})
    clock.advance(timedelta(hours=1))
    response = police.act(referral_id, "complete", {"outcome": "child_seen"})
    assert response.json["outcome"] == "child_seen"
    done = referral(referral_id)
    assert done.first_action_at == first and done.closed_at == clock.now()
    assert [e.reason for e in done.events if e.action == "record_action"] == ["child_seen", "home_visit"]


def test_completing_without_a_recorded_action_meets_the_action_deadline(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any],
        clock: FrozenClock) -> None:
    police = acting(people.police)
    referral_id = case["referrals"][POLICE]
    police.act(referral_id, "accept")
    police.act(referral_id, "complete", {"outcome": "no_concern_found"})
    assert referral(referral_id).first_action_at == clock.now()


def test_a_transfer_keeps_the_clocks_and_the_new_unit_must_acknowledge(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    police = acting(people.police)
    police.act(referral_id, "accept")
    before = referral(referral_id)
    deadlines = (before.ack_due_at, before.action_due_at)
    oral = unit_of("police", district="KZ-27-ORAL")
    response = police.act(referral_id, "transfer", {"unit_id": oral.id, "note": "Оралда тұрады"})
    assert response.status_code == 200 and response.json["status"] == "sent"
    moved = referral(referral_id)
    assert moved.unit_id == oral.id and moved.acknowledged_at is None and moved.accepted_at is None
    assert (moved.ack_due_at, moved.action_due_at) == deadlines
    assert police.get(f"/referrals/{referral_id}").status_code == 404  # not theirs any more
    assert acting(people.police_oral).act(referral_id, "acknowledge").status_code == 200


def test_a_transfer_stays_within_the_agency_and_goes_somewhere_else(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    police = acting(people.police)
    for unit_id in (unit_of("education", district=TEREKTI).id, people.police.unit_id, "nope"):
        response = police.act(referral_id, "transfer", {"unit_id": unit_id})
        assert response.status_code == 422 and "unit_id" in response.json["error"]["fields"]
    assert referral(referral_id).unit_id == people.police.unit_id


def test_a_supervisor_reroutes_a_declined_referral_to_another_service(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "decline", {"reason": "not_competent"})
    before = referral(referral_id)
    deadlines = (before.ack_due_at, before.action_due_at)
    emergency = unit_of("police")  # the region's department offers police.emergency
    response = acting(people.supervisor).act(
        referral_id, "reroute", {"service": "police.emergency", "unit_id": emergency.id})
    assert response.status_code == 200, response.json
    moved = referral(referral_id)
    assert (moved.status, moved.service, moved.unit_id, moved.decline_reason) == (
        "sent", "police.emergency", emergency.id, None)
    assert (moved.ack_due_at, moved.action_due_at) == deadlines
    event = [e for e in moved.events if e.action == "reroute"][-1]
    assert event.details == {"from_service": POLICE, "to_service": "police.emergency"}


def test_reroute_needs_a_unit_offering_the_service(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any],
        create_unit: Any) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "decline", {"reason": "duplicate"})
    supervisor = acting(people.supervisor)
    bare = create_unit("police", "KZ-27", None, services=["police.emergency"], active=True)
    education = unit_of("education", district=TEREKTI)
    cases = [({"unit_id": bare.id}, "unit_id"), ({"unit_id": education.id}, "unit_id"),
             ({"unit_id": "missing"}, "unit_id"),
             ({"unit_id": education.id, "service": "police.nothing"}, "service")]
    for body, field in cases:
        response = supervisor.act(referral_id, "reroute", body)
        assert response.status_code == 422 and field in response.json["error"]["fields"], body
    assert referral(referral_id).status == "declined"


def test_an_unassigned_referral_is_rerouted_by_a_supervisor(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    put_in_state(referral_id, "unassigned")
    assert acting(people.police).get(f"/referrals/{referral_id}").status_code == 404
    unit = unit_of("police", district=TEREKTI)
    response = acting(people.supervisor).act(referral_id, "reroute", {"unit_id": unit.id})
    assert response.status_code == 200 and response.json["unit"]["id"] == unit.id
    assert acting(people.police).get(f"/referrals/{referral_id}").status_code == 200


# ---- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "body", "field"), [
    ("decline", {}, "reason"),
    ("decline", {"reason": "bored"}, "reason"),
    ("decline", {"reason": "duplicate", "note": "x" * 4001}, "note"),
    ("decline", {"reason": "duplicate", "status": "completed"}, "status"),  # smuggled field
    ("record_action", {"action": "prayed"}, "action"),
    ("complete", {"outcome": "fine"}, "outcome"),
    ("note", {"note": ""}, "note"),
    ("override", {"reason": ""}, "reason"),
    ("transfer", {}, "unit_id"),
])
def test_bad_parameters_are_422_naming_the_field(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any],
        action: str, body: dict[str, Any], field: str) -> None:
    referral_id = case["referrals"][POLICE]
    user = people.supervisor if action == "override" else people.police
    if action in ("record_action", "complete"):
        acting(people.police).act(referral_id, "accept")
    response = acting(user).act(referral_id, action, body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


def test_an_unknown_action_is_404_and_get_is_405(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    assert acting(people.police).act(referral_id, "escalate", {}).status_code == 404
    assert acting(people.police).get(f"/referrals/{referral_id}/acknowledge").status_code == 405


# ---- the record -----------------------------------------------------------------------------------


def test_every_transition_is_an_event_and_an_audit_entry_without_the_note(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    police = acting(people.police)
    police.act(referral_id, "decline", {"reason": "wrong_district", "note": "Ақжайық ауданында тұрады"})
    event = db.session.scalar(select(ReferralEvent).where(
        ReferralEvent.referral_id == referral_id, ReferralEvent.action == "decline"))
    assert event is not None and event.note == "Ақжайық ауданында тұрады"
    assert (event.actor_role, event.actor_agency, event.reason) == (
        "agency_staff", "police", "wrong_district")
    raw = db.session.execute(text("SELECT note FROM referral_events WHERE id = :id"),
                             {"id": event.id}).scalar()
    assert raw is not None and "Ақжайық".encode() not in bytes(raw)  # notes are encrypted at rest
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "referral.decline"))
    assert entry is not None and entry.object_id == referral_id
    assert "wrong_district" in (entry.details or "") and "Ақжайық" not in (entry.details or "")


def test_other_agencies_see_status_and_outcome_only(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    police = acting(people.police)
    police.act(referral_id, "accept")
    police.act(referral_id, "complete", {"outcome": "investigation_opened", "note": "Іс қозғалды"})
    seen = acting(people.education).get(f"/cases/{case['case_id']}").json
    other = next(r for r in seen["referrals"] if r["id"] == referral_id)
    assert set(other) == {"id", "case_id", "agency", "status", "outcome"}  # no service
    assert other["outcome"] == "investigation_opened"
    helpline = acting(people.operator).get(f"/referrals/{referral_id}").json
    assert [e["note"] for e in helpline["events"] if e["action"] == "complete"] == ["Іс қозғалды"]


def test_two_people_acting_at_once_cannot_both_win(
        acting: Callable[[User], Acting], people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    first = acting(people.police).act(referral_id, "acknowledge")
    second = acting(people.police_head).act(referral_id, "acknowledge")
    assert (first.status_code, second.status_code) == (200, 409)
    assert second.json["error"]["code"] == "conflict"
    count = db.session.scalar(select(db.func.count()).select_from(ReferralEvent).where(
        ReferralEvent.referral_id == referral_id, ReferralEvent.action == "acknowledge"))
    assert count == 1
    assert isinstance(db.session.get(Referral, referral_id), Referral)


def test_every_action_has_its_audit_name_spelled_out() -> None:
    assert set(transitions.AUDIT_ACTIONS) == set(transitions.ACTIONS)
    assert all(name == f"referral.{action}" for action, name in transitions.AUDIT_ACTIONS.items())
