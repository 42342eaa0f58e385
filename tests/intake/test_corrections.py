"""Corrections: a new version with author, time and reason; routing differences applied only
by choice, and nothing withdrawn."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.extensions import db
from core.models import User
from intake.models import Case, Correction
from referrals.handoffs.models import Referral
from tests.factories import csrf_token, sign_in
from tests.reading import get_row

pytestmark = pytest.mark.usefixtures("directory")


def _form(case: Case, **changes: Any) -> dict[str, Any]:
    child = case.child
    assert child is not None
    data: dict[str, Any] = {
        "child.name": child.name, "child.age": str(child.age), "child.sex": child.sex,
        "child.region": child.region, "child.district": child.district or "",
        "child.iin": child.iin or "", "child.address": child.address or "", "child.school": child.school or "",
        "categories": list(case.contacts[-1].categories), "urgency": case.contacts[-1].urgency,
        "perpetrator.relation": case.contacts[-1].perpetrator_relation or "",
        "place": case.contacts[-1].place or "", "summary": case.contacts[-1].summary or "",
        "child.flags": list(child.risk_flags),
    }
    data.update(changes)
    return data


@pytest.fixture
def bullying_case(api: Any, contact: Any) -> Case:
    body = api.post("/contacts", contact(categories=["violence.bullying"], urgency="P3",
                                         perpetrator={"relation": "peer"})).json
    return get_row(Case, body["case_id"])


def test_a_correction_is_a_version_with_its_reason(client: FlaskClient, operator: User,
                                                   bullying_case: Case) -> None:
    sign_in(client, operator)
    path = f"/cases/{bullying_case.id}/correct"
    response = client.post(path, data={**_form(bullying_case, **{"child.name": "Әсем Қайратқызы"}),
                                       "reason": "the caller spelled the name", "csrf_token": csrf_token(client, path)})
    assert response.status_code == 302
    correction = db.session.scalars(select(Correction)).one()
    assert correction.version == 1 and correction.changed_fields == ["child.name"]
    assert correction.author_id == operator.id and correction.reason == "the caller spelled the name"
    db.session.refresh(bullying_case)
    assert bullying_case.child is not None and bullying_case.child.name == "Әсем Қайратқызы"
    history = client.get(path).get_data(as_text=True)
    assert "the caller spelled the name" in history and "Әсел Қайратқызы" in history


def test_a_correction_needs_a_reason(client: FlaskClient, operator: User, bullying_case: Case) -> None:
    sign_in(client, operator)
    path = f"/cases/{bullying_case.id}/correct"
    response = client.post(path, data={**_form(bullying_case, **{"child.name": "X"}), "reason": "",
                                       "csrf_token": csrf_token(client, path)})
    assert response.status_code == 422
    assert db.session.scalars(select(Correction)).first() is None


def test_new_routing_is_offered_and_applied_without_withdrawing(client: FlaskClient, operator: User,
                                                               bullying_case: Case) -> None:
    sign_in(client, operator)
    before = {r.service for r in db.session.scalars(select(Referral))}
    path = f"/cases/{bullying_case.id}/correct"
    page = client.post(path, data={**_form(bullying_case, categories=["violence.bullying", "violence.sexual"]),
                                   "reason": "the child told more", "csrf_token": csrf_token(client, path)})
    assert page.status_code == 200 and 'value="police.juvenile_inspector"' in page.get_data(as_text=True)
    assert {r.service for r in db.session.scalars(select(Referral))} == before  # nothing yet
    applied = client.post(f"/cases/{bullying_case.id}/apply-routing", data={
        "service": ["police.juvenile_inspector", "health.medical_care"],
        "csrf_token": csrf_token(client, path)})
    assert applied.status_code == 302
    after = {r.service for r in db.session.scalars(select(Referral))}
    assert after == before | {"police.juvenile_inspector", "health.medical_care"}


def test_agency_staff_cannot_correct(app: Any, bullying_case: Case, create_user: Any) -> None:
    referral = db.session.scalars(select(Referral)).first()
    assert referral is not None
    staff = create_user("agency_staff", unit=referral.unit)
    client = app.test_client()
    sign_in(client, staff)
    assert client.get(f"/cases/{bullying_case.id}/correct").status_code == 403


def test_opening_the_correction_form_is_a_case_view_in_the_audit(
        client: FlaskClient, operator: User, bullying_case: Case) -> None:
    """The form shows the child's details and the history of corrections: one case.viewed entry
    per request, naming the fields decrypted for it."""
    from core.audit.models import AuditEntry

    sign_in(client, operator)
    assert client.get(f"/cases/{bullying_case.id}/correct").status_code == 200
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.viewed", AuditEntry.object_id == bullying_case.id)).all()
    assert entry.actor_id == operator.id and "children.name" in (entry.fields or "")
