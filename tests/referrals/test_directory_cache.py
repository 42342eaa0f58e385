"""The cached directory (issue 13): resolution reads the directory once per version, and every
change (through the application, in this transaction, or by another process that bumps the
stored version) is seen by the next resolution."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import text

from core.extensions import db
from core.models import AgencyUnit
from referrals import directory
from tests.sql import counting_statements

INSPECTOR = "police.juvenile_inspector"
TEREKTI = "KZ-27-TEREKTI"
CreateUnit = Callable[..., AgencyUnit]


def test_resolving_several_services_takes_two_statements(app: Flask,
                                                         create_unit: CreateUnit) -> None:
    police = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR, "police.emergency"])
    health = create_unit("health", "KZ-27", None, services=["health.forensic_exam"])
    directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI)  # loads the directory
    db.session.commit()
    with counting_statements(db.engine) as seen:
        found = directory.resolve_units(
            [INSPECTOR, "police.emergency", "health.forensic_exam", "commission.case_control"],
            "KZ-27", TEREKTI)
    assert found == {INSPECTOR: police, "police.emergency": police,
                     "health.forensic_exam": health, "commission.case_control": None}
    assert len(seen) <= 2, seen.report()  # the stored version, then the units chosen


def test_a_deactivated_unit_is_not_resolved_from_the_cache(app: Flask,
                                                           create_unit: CreateUnit) -> None:
    region_unit = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    district_unit = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == district_unit
    directory.deactivate_unit(district_unit)
    db.session.commit()
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == region_unit


def test_a_change_made_by_another_process_is_seen(app: Flask, create_unit: CreateUnit) -> None:
    region_unit = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    district_unit = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == district_unit
    db.session.commit()
    # What another host's flush does: the row change and the version bump, no event here.
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE agency_units SET active = :no WHERE id = :id"),
                           {"no": False, "id": district_unit.id})
        connection.execute(text("UPDATE counters SET value = value + 1 WHERE name = :name"),
                           {"name": directory.DIRECTORY_COUNTER})
    db.session.expire_all()
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == region_unit


def test_an_uncommitted_change_counts_in_its_transaction_only(app: Flask,
                                                              create_unit: CreateUnit) -> None:
    region_unit = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    district_unit = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == district_unit
    district_unit.active = False
    db.session.flush()
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == region_unit
    db.session.rollback()
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == district_unit


def test_a_new_unit_is_resolved_at_once(app: Flask, create_unit: CreateUnit) -> None:
    region_unit = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == region_unit
    district_unit = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == district_unit
