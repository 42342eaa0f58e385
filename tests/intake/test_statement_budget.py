"""How many SQL statements a contact submission runs (issue 13: once about 78, most of them
directory lookups and audit appends repeated per referral). The budgets leave a little room;
a change that sends one query per referral again exceeds them."""

from __future__ import annotations

from typing import Any

import pytest

from core.extensions import db
from tests.sql import Statements, counting_statements

pytestmark = pytest.mark.usefixtures("directory")

NEW_CASE_BUDGET = 17  # 16 for a case with four referrals, on either database
FOLLOW_UP_BUDGET = 24
REPLAY_BUDGET = 10  # the referrals and their events are read back; rare enough


def _submit(api: Any, body: dict[str, Any], key: str) -> tuple[Any, Statements]:
    with counting_statements(db.engine) as seen:
        response = api.post("/contacts", body, headers={"Idempotency-Key": key})
    return response, seen


def test_a_new_case_with_four_referrals_stays_within_its_statement_budget(
        api: Any, contact: Any) -> None:
    api.post("/contacts", contact(), headers={"Idempotency-Key": "warm-up"})  # token, counter
    response, seen = _submit(api, contact(), "budget")
    assert response.status_code == 201 and len(response.json["referrals"]) == 4
    assert len(seen) <= NEW_CASE_BUDGET, seen.report()
    # The directory is read once for all four referrals, not once or twice per referral.
    assert sum("FROM agency_units" in s for s in seen) <= 1, seen.report()
    assert sum(s.lstrip().upper().startswith("INSERT INTO AUDIT_ENTRIES") for s in seen) == 1
    # The algorithm, directory and calendar versions in one statement; the calendar's days
    # are read only when its version changed.
    assert sum("algorithm_versions" in s for s in seen) == 1, seen.report()
    assert not any("FROM calendar_days_off" in s for s in seen), seen.report()


def test_a_follow_up_stays_within_its_statement_budget(api: Any, contact: Any) -> None:
    first = api.post("/contacts", contact(), headers={"Idempotency-Key": "first"})
    follow_up = contact(contact_type="follow_up", case_id=first.json["case_id"],
                        categories=["violence.sexual", "violence.bullying"])
    response, seen = _submit(api, follow_up, "follow-up")
    assert response.status_code == 201, response.json
    assert len(seen) <= FOLLOW_UP_BUDGET, seen.report()


def test_a_replay_reads_and_writes_almost_nothing(api: Any, contact: Any) -> None:
    api.post("/contacts", contact(), headers={"Idempotency-Key": "same"})
    response, seen = _submit(api, contact(), "same")
    assert response.status_code == 200
    assert len(seen) <= REPLAY_BUDGET, seen.report()
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE")) for s in seen)
