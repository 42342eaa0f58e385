"""`POST /api/v1/route` and `senim route [FILE]` (interfaces.md; routing.md §2, §9)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.audit.models import AuditEntry
from core.extensions import db
from core.roles import Role
from core.users_service import issue_token
from referrals.models import AlgorithmVersion, CalendarDayOff
from tests.reading import json_of

# routing.md §9's example, completed: sexual violence at P2 makes four mandatory referrals.
SECTION_9_FACTS: dict[str, Any] = {
    "contact_type": "child_self",
    "categories": ["violence.sexual"],
    "urgency": "P2",
    "child": {"age": 12, "region": "KZ-27", "district": "KZ-27-TEREKTI"},
    "perpetrator": {"relation": "stranger"},
    "place": "home",
    "submitted_at": "2026-11-20T10:02:00+05:00",
}


def _referral(agency: str, service: str, action_due_at: str = "2026-11-21T10:02:00+05:00",
              ) -> dict[str, Any]:
    return {"agency": agency, "service": service, "mandatory": True, "rules": ["sexual-violence"],
            "ack_due_at": "2026-11-20T14:02:00+05:00", "action_due_at": action_due_at}


# The same facts under 2026.2 (issue 14): medical care instead of the forensic examination, and
# the office-hours bodies count 24 working hours from Friday 10:02 (7 h 58 min on Friday, 9 h on
# Monday, 7 h 02 min on Tuesday): Tuesday 16:02.
OFFICE_ACT = "2026-11-24T16:02:00+05:00"
SECTION_9_DECISION: dict[str, Any] = {
    "routable": True,
    "reason": None,
    "algorithm_version": "2026.2",
    "urgency": "P2",
    "lead": "police",
    "matched_rules": ["sexual-violence"],
    "referrals": [
        _referral("police", "police.juvenile_inspector"),
        _referral("education", "education.guardianship", OFFICE_ACT),
        _referral("health", "health.medical_care"),
        _referral("commission", "commission.case_control", OFFICE_ACT),
    ],
    "instructions": ["do_not_interview_child", "police_orders_forensic_exam"],
    "registers": ["reconciliation"],
}
# routing.md §9 itself: what 2026.1 decides, still, where 2026.1 is in force.
SECTION_9_DECISION_2026_1: dict[str, Any] = {
    **SECTION_9_DECISION,
    "algorithm_version": "2026.1",
    "referrals": [
        _referral("police", "police.juvenile_inspector"),
        _referral("education", "education.guardianship"),
        _referral("health", "health.forensic_exam"),
        _referral("commission", "commission.case_control"),
    ],
    "instructions": ["do_not_interview_child"],
}


@pytest.fixture
def bearer(create_user: Callable[..., Any],
           create_unit: Callable[..., Any]) -> Callable[[str], dict[str, str]]:
    def _headers(role: str) -> dict[str, str]:
        unit = create_unit("police", "KZ-27", "KZ-27-ORAL") if role.startswith("agency") else None
        _, value = issue_token(create_user(role, unit=unit), "test", None)
        db.session.commit()
        return {"Authorization": f"Bearer {value}"}
    return _headers


def _counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count()).select_from(AlgorithmVersion)) or 0,
            db.session.scalar(select(func.count()).select_from(CalendarDayOff)) or 0,
            db.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


# ---- the API ----------------------------------------------------------------------------------


def test_api_returns_exactly_the_section_9_decision(client: FlaskClient, bearer: Any) -> None:
    headers = bearer("operator")
    before = _counts()
    response = client.post("/api/v1/route", json=SECTION_9_FACTS, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json == SECTION_9_DECISION
    assert list(response.json) == list(SECTION_9_DECISION)  # the key order of §9 too
    assert _counts() == before  # no side effects


def test_submitted_at_defaults_to_the_servers_clock(client: FlaskClient, bearer: Any) -> None:
    facts = {k: v for k, v in SECTION_9_FACTS.items() if k != "submitted_at"}
    response = client.post("/api/v1/route", json=facts, headers=bearer("supervisor"))
    # The test clock stands at 2026-11-20 05:00 UTC, 10:00 in Almaty: P2 acknowledges in 4 h.
    assert json_of(response)["referrals"][0]["ack_due_at"] == "2026-11-20T14:00:00+05:00"


@pytest.mark.parametrize(("facts", "fields"), [
    ({"contact_type": "child_self", "categories": ["violence.nonsense"], "urgency": "P2",
      "child": {"age": 18, "region": "KZ-27"}}, {"categories", "child.age"}),
    ({"contact_type": "child_self", "categories": ["violence.bullying"], "urgency": "P4",
      "flags": ["immediate_danger"], "child": {"region": "KZ-27"}}, {"urgency"}),
    ({"contact_type": "child_self", "categories": ["violence.bullying"], "urgency": "P3",
      "child": {"age": 12.0, "region": "KZ-99"}, "submitted_at": "yesterday"},
     {"child.age", "child.region", "submitted_at"}),
    ({"contact_type": "child_self", "urgency": "P2", "categories": ["violence.bullying"],
      "child": {"region": "KZ-27", "district": "KZ-11-NOWHERE"}}, {"child.district"}),
])
def test_invalid_facts_are_422_naming_every_field(client: FlaskClient, bearer: Any,
                                                  facts: dict[str, Any], fields: set[str]) -> None:
    response = client.post("/api/v1/route", json=facts, headers=bearer("operator"))
    assert response.status_code == 422
    error = json_of(response)["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == fields
    assert all(name in error["message"] for name in fields)


def test_malformed_json_is_400(client: FlaskClient, bearer: Any) -> None:
    headers = {**bearer("operator"), "Content-Type": "application/json"}
    for body in (b'{"contact_type": ', b"\xff\xfe{}"):
        response = client.post("/api/v1/route", data=body, headers=headers)
        assert response.status_code == 400
        assert json_of(response)["error"]["code"] == "malformed"


def test_a_body_that_is_not_an_object_is_422(client: FlaskClient, bearer: Any) -> None:
    response = client.post("/api/v1/route", json=["child_self"], headers=bearer("operator"))
    assert response.status_code == 422 and json_of(response)["error"]["fields"]


@pytest.mark.parametrize(("role", "status"), [
    ("operator", 200), ("supervisor", 200), ("agency_staff", 403), ("agency_head", 403),
    ("admin", 403), ("auditor", 403),
])
def test_only_the_helpline_may_route(client: FlaskClient, bearer: Any, role: str,
                                     status: int) -> None:
    response = client.post("/api/v1/route", json=SECTION_9_FACTS, headers=bearer(role))
    assert response.status_code == status
    if status == 403:
        assert json_of(response)["error"]["code"] == "forbidden"


def test_without_a_token_it_is_401(client: FlaskClient) -> None:
    response = client.post("/api/v1/route", json=SECTION_9_FACTS)
    assert response.status_code == 401 and json_of(response)["error"]["code"] == "unauthenticated"


def test_the_endpoint_is_described_in_openapi(client: FlaskClient) -> None:
    document = json_of(client.get("/api/v1/openapi.json"))
    entry = document["paths"]["/api/v1/route"]["post"]
    assert "requestBody" in entry
    schema = entry["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == set(SECTION_9_DECISION)


# ---- the command line -------------------------------------------------------------------------


def _run(app: Flask, args: list[str], stdin: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=["route", *args], input=stdin)


def test_cli_reads_a_file(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(SECTION_9_FACTS), encoding="utf-8")
    before = _counts()
    result = _run(app, [str(path)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == SECTION_9_DECISION
    assert result.stdout.startswith('{\n  "routable": true,')  # indented by 2
    assert _counts() == before


def test_cli_reads_standard_input(app: Flask) -> None:
    result = _run(app, [], stdin=json.dumps(SECTION_9_FACTS))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == SECTION_9_DECISION
    result = _run(app, ["-"], stdin=json.dumps(SECTION_9_FACTS))
    assert json.loads(result.stdout) == SECTION_9_DECISION


def test_cli_names_every_invalid_field_on_stderr_and_exits_2(app: Flask) -> None:
    facts = {"contact_type": "child_self", "categories": ["violence.nonsense"], "urgency": "P2",
             "child": {"age": 18, "region": "KZ-27"}}
    result = _run(app, [], stdin=json.dumps(facts))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["categories", "child.age"]


@pytest.mark.parametrize("stdin", ['{"contact_type": ', "not json at all"])
def test_cli_refuses_invalid_json_with_exit_2(app: Flask, stdin: str) -> None:
    result = _run(app, [], stdin=stdin)
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr and result.stdout == ""



def test_cli_uses_the_current_algorithm(app: Flask, create_user: Any) -> None:
    from tests.referrals.algorithm_versions import publish_version

    publish_version(create_user(Role.ADMIN), "2026.8")
    db.session.commit()
    result = _run(app, [], stdin=json.dumps(SECTION_9_FACTS))
    assert json.loads(result.stdout)["algorithm_version"] == "2026.8"


def test_cli_where_2026_1_is_still_in_force_gives_the_section_9_example(app: Flask) -> None:
    from referrals.routing import bundled_algorithm

    old = bundled_algorithm("2026.1")
    db.session.add(AlgorithmVersion(version=old.version, document=old.source_text,
                                    digest=old.digest, reason="in force before the upgrade",
                                    is_current=True))
    db.session.commit()
    result = _run(app, [], stdin=json.dumps(SECTION_9_FACTS))
    assert json.loads(result.stdout) == SECTION_9_DECISION_2026_1


@pytest.mark.sqlite_only  # an empty database file is the situation being described
def test_cli_before_the_database_is_migrated_says_so(tmp_path: Path) -> None:
    from core.app import create_app
    from tests.conftest import make_config

    fresh = create_app(make_config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}"))
    result = fresh.test_cli_runner().invoke(args=["route"], input=json.dumps(SECTION_9_FACTS))
    assert result.exit_code == 1 and "senim db upgrade" in result.output
    assert "Traceback" not in result.output


# ---- `senim route` on the scenarios of issue 14: the 2026.2 results -----------------------------


def _facts(**changes: Any) -> dict[str, Any]:
    return {"contact_type": "child_self", "urgency": "P3",
            "child": {"age": 12, "region": "KZ-27"}, **changes}


ISSUE_14_SCENARIOS = [
    # 1, 2: sexual violence, ongoing: P1, medical care, the investigator orders the examination
    (_facts(categories=["violence.sexual"], flags=["ongoing"]),
     {"urgency": "P1", "services": ["police.juvenile_inspector", "education.guardianship",
                                    "health.medical_care", "commission.case_control"],
      "instructions": ["call_102_now", "do_not_interview_child",
                       "police_orders_forensic_exam"]}),
    # 3: domestic violence by a relative who lives elsewhere
    (_facts(categories=["violence.domestic"], perpetrator={"relation": "relative"}),
     {"urgency": "P2", "rules": ["family-violence"], "lead": "education"}),
    # 4: P2 to guardianship at 17:00 on a Tuesday: acknowledge by Wednesday 12:00
    (_facts(categories=["violence.emotional"], urgency="P2", perpetrator={"relation": "parent"},
            submitted_at="2026-11-17T17:00:00+05:00"),
     {"ack": {"education.guardianship": "2026-11-18T12:00:00+05:00",
              "police.juvenile_inspector": "2026-11-17T21:00:00+05:00"}}),
    # 5: truancy starts at the school
    (_facts(categories=["education.truancy"]),
     {"rules": ["truancy"], "lead": "education",
      "services": ["education.school", "commission.case_control"]}),
    # 6: school staff: the education department
    (_facts(categories=["education.staff_violation"]),
     {"rules": ["school-staff-violation"], "services": ["education.department"]}),
]


@pytest.mark.parametrize(("facts", "expected"), ISSUE_14_SCENARIOS)
def test_cli_gives_the_2026_2_results_on_the_issue_14_scenarios(
        app: Flask, facts: dict[str, Any], expected: dict[str, Any]) -> None:
    result = _run(app, [], stdin=json.dumps(facts))
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["algorithm_version"] == "2026.2"
    if "urgency" in expected:
        assert body["urgency"] == expected["urgency"]
    if "services" in expected:
        assert [r["service"] for r in body["referrals"]] == expected["services"]
    if "instructions" in expected:
        assert body["instructions"] == expected["instructions"]
    if "rules" in expected:
        assert body["matched_rules"] == expected["rules"]
    if "lead" in expected:
        assert body["lead"] == expected["lead"]
    for service, ack in expected.get("ack", {}).items():
        assert next(r for r in body["referrals"] if r["service"] == service)["ack_due_at"] == ack
