"""Handoff fixtures: the demo directory, one person per role and unit that the tests act as,
a submitted Terekti case, and an API helper acting as any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.extensions import db
from core.models import AgencyUnit, User
from referrals import demo
from referrals.directory import services_by_agency
from referrals.handoffs.models import Referral
from tests.intake.conftest import TEREKTI_GIRL, api, bearer, contact, operator  # noqa: F401

# The demo directory's shape, for the regions these tests use (the whole country's directory
# takes seconds to load, per test): every agency at region level in West Kazakhstan and
# Pavlodar; police, education and the commission also in Terekti and Oral.
REGIONS = ("KZ-27", "KZ-55")
DISTRICTS = ("KZ-27-TEREKTI", "KZ-27-ORAL")
# The ``submit`` fixture: submits a contact (with changes) and answers its case and referral ids.
Submit = Callable[..., dict[str, Any]]


@pytest.fixture
def directory(app: Any) -> None:
    by_agency = services_by_agency()
    for region in REGIONS:
        for agency in demo.UNIT_TITLES:
            demo.ensure_unit(agency, region, None, by_agency[agency])
    for district in DISTRICTS:
        for agency in demo.DISTRICT_AGENCIES:
            demo.ensure_unit(agency, "KZ-27", district, by_agency[agency])
    db.session.commit()


def unit_of(agency: str, region: str = "KZ-27", district: str | None = None) -> AgencyUnit:
    place = AgencyUnit.district == district if district else AgencyUnit.district.is_(None)
    found = db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == agency, AgencyUnit.region == region, place))
    assert found is not None, (agency, region, district)
    return found


@dataclass
class People:
    operator: User
    supervisor: User
    regional_supervisor: User  # a supervisor of another region
    police: User  # Terekti police staff
    police_head: User
    police_oral: User  # the Oral police office: same agency, another unit
    education: User
    commission_head: User  # Terekti commission
    region_commission_head: User
    health: User  # the region's health department (no district units)
    pavlodar_health: User
    admin: User
    auditor: User


@pytest.fixture
def people(directory: None, create_user: Callable[..., User], operator: User) -> People:  # noqa: F811
    terekti = "KZ-27-TEREKTI"
    return People(
        operator=operator,
        supervisor=create_user("supervisor"),
        regional_supervisor=create_user("supervisor", region="KZ-55"),
        police=create_user("agency_staff", unit=unit_of("police", district=terekti)),
        police_head=create_user("agency_head", unit=unit_of("police", district=terekti)),
        police_oral=create_user("agency_staff", unit=unit_of("police", district="KZ-27-ORAL")),
        education=create_user("agency_staff", unit=unit_of("education", district=terekti)),
        commission_head=create_user("agency_head", unit=unit_of("commission", district=terekti)),
        region_commission_head=create_user("agency_head", unit=unit_of("commission")),
        health=create_user("agency_staff", unit=unit_of("health")),
        pavlodar_health=create_user("agency_staff", unit=unit_of("health", region="KZ-55")),
        admin=create_user("admin"),
        auditor=create_user("auditor"),
    )


class Acting:
    """The API as one user: ``acting(user).post(...)``."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def post(self, path: str, body: Any = None) -> Any:
        if body is None:
            return self.client.post(f"/api/v1{path}", headers=self.headers)
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers)

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def act(self, referral_id: str, action: str, body: Any = None) -> Any:
        return self.post(f"/referrals/{referral_id}/{action}", body)


@pytest.fixture
def acting(client: FlaskClient, bearer: Callable[[User], dict[str, str]]) -> Callable[[User], Acting]:  # noqa: F811
    cache: dict[str, Acting] = {}

    def _as(user: User) -> Acting:
        if user.id not in cache:
            cache[user.id] = Acting(client, bearer(user))
        return cache[user.id]
    return _as


@pytest.fixture
def submit(acting: Callable[[User], Acting], people: People,
           contact: Callable[..., dict[str, Any]]) -> Submit:  # noqa: F811
    """Submit a contact as the operator; answers {"case_id", "referrals": {service: id}}."""
    def _submit(**changes: Any) -> dict[str, Any]:
        response = acting(people.operator).post("/contacts", contact(**changes))
        assert response.status_code == 201, response.json
        body = response.json
        return {"case_id": body["case_id"],
                "referrals": {r["service"]: r["id"] for r in body["referrals"]}}
    return _submit


@pytest.fixture
def case(submit: Submit) -> dict[str, Any]:
    """The Terekti girl (sexual violence, P2): police, education, health, commission."""
    return submit()


def referral(referral_id: str) -> Referral:
    db.session.expire_all()
    found = db.session.get(Referral, referral_id)
    assert found is not None
    return found


__all__ = ["TEREKTI_GIRL", "Acting", "People", "Submit", "referral", "unit_of"]
