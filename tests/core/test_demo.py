"""`senim demo` loads the directory and demo users once, and only in development."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from core import reference
from core.extensions import db
from core.models import AgencyUnit, User
from referrals import demo


def test_demo_loads_directory_and_users_idempotently(app: Flask) -> None:
    created = demo.load_directory()
    users = demo.load_users()
    db.session.commit()
    regions = len(reference.regions())
    districts = len(reference.districts_of("KZ-27"))
    assert created == regions * 4 + districts * 3
    assert {person.username for person, _ in users} >= {
        "operator", "supervisor", "admin", "auditor", "police.terekti", "police.terekti.head",
        "health.oral", "commission.oral.head",
    }
    assert all(len(password) >= 12 for _, password in users)
    assert demo.load_directory() == 0 and demo.load_users() == []
    assert db.session.scalar(select(func.count()).select_from(User)) == len(users)


def test_demo_units_offer_all_services_of_their_agency(app: Flask) -> None:
    demo.load_directory()
    unit = db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == "education", AgencyUnit.district == "KZ-27-TEREKTI"))
    assert unit is not None
    assert set(unit.services) == {"education.guardianship", "education.school",
                                  "education.psychological_support", "education.department"}
    commission = db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == "commission", AgencyUnit.district.is_(None)))
    assert commission is not None
    assert commission.name_ru.startswith("Комиссия по делам несовершеннолетних и защите их прав")
    assert commission.name_kk.startswith(
        "Кәмелетке толмағандардың істері және олардың құқықтарын қорғау жөніндегі комиссия")
    demo.load_users()
    police = db.session.scalar(select(User).where(User.username == "police.terekti"))
    assert police is not None and police.unit is not None and police.unit.district == "KZ-27-TEREKTI"


def test_demo_refuses_outside_development(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0 and "development" in result.output
