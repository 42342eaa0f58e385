"""The directory of units (routing.md §5): resolution with its fallback chain, and the rule that
at most one active unit offers a service in an area."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.audit.models import AuditEntry
from core.extensions import db
from core.models import AgencyUnit
from referrals import directory
from referrals.directory import UnitDraft, UnitRefused

INSPECTOR = "police.juvenile_inspector"
TEREKTI, ORAL = "KZ-27-TEREKTI", "KZ-27-ORAL"
CreateUnit = Callable[..., AgencyUnit]


def _draft(agency: str = "police", region: str = "KZ-27", district: str | None = TEREKTI,
           services: tuple[str, ...] = (INSPECTOR,), **extra: Any) -> UnitDraft:
    return UnitDraft(agency, region, district, "Полиция (kk)", "Полиция (ru)", "Police office",
                     services=services, **extra)


# ---- resolution -------------------------------------------------------------------------------


def test_the_district_unit_is_preferred(app: Flask, create_unit: CreateUnit) -> None:
    region_unit = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    district_unit = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == district_unit
    assert directory.resolve_unit(INSPECTOR, "KZ-27", ORAL) == region_unit
    assert directory.resolve_unit(INSPECTOR, "KZ-27", None) == region_unit


def test_no_unit_means_unrouted(app: Flask, create_unit: CreateUnit) -> None:
    create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", ORAL) is None  # no region-level unit
    assert directory.resolve_unit(INSPECTOR, "KZ-11", None) is None  # another region
    assert directory.resolve_unit("police.emergency", "KZ-27", TEREKTI) is None  # not offered


def test_inactive_units_are_ignored(app: Flask, create_unit: CreateUnit) -> None:
    region_unit = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR], active=False)
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == region_unit
    region_unit.active = False
    db.session.commit()
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) is None


def test_a_unit_of_another_agency_is_never_chosen(app: Flask, create_unit: CreateUnit) -> None:
    # Data entered wrongly before the directory's checks existed: an education unit listing a
    # police service. Resolution still refuses to send a police referral to education.
    create_unit("education", "KZ-27", TEREKTI, services=[INSPECTOR, "education.school"])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) is None
    police = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == police


def test_services_by_agency_follows_the_algorithm(app: Flask) -> None:
    by_agency = directory.services_by_agency()
    assert set(by_agency) == {"police", "education", "health", "commission"}
    assert all(code.startswith(f"{agency}.") for agency, codes in by_agency.items() for code in codes)


# ---- one unit per service and area ------------------------------------------------------------


def test_a_second_unit_for_the_same_service_and_district_is_refused(
        app: Flask, create_unit: CreateUnit) -> None:
    first = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    with pytest.raises(UnitRefused) as refused:
        directory.save_unit(_draft())
    message = refused.value.errors["services"]
    assert "Juvenile" in message or INSPECTOR in message
    assert first.name_en in message and "Terekti" in message
    assert db.session.scalars(select(AgencyUnit)).all() == [first]


def test_the_same_service_in_another_district_is_allowed(app: Flask,
                                                         create_unit: CreateUnit) -> None:
    create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    unit = directory.save_unit(_draft(district=ORAL))
    assert unit.district == ORAL and unit.services == [INSPECTOR]


def test_a_region_level_unit_may_sit_above_district_units(app: Flask,
                                                          create_unit: CreateUnit) -> None:
    create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    assert directory.save_unit(_draft(district=None)).district is None
    with pytest.raises(UnitRefused):  # but only one of them per region
        directory.save_unit(_draft(district=None))


def test_allowed_again_after_the_first_is_deactivated(app: Flask,
                                                      create_unit: CreateUnit) -> None:
    first = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    directory.deactivate_unit(first)
    second = directory.save_unit(_draft())
    assert second.active and not first.active
    assert directory.resolve_unit(INSPECTOR, "KZ-27", TEREKTI) == second
    with pytest.raises(UnitRefused):  # and the old one cannot simply come back
        directory.activate_unit(first)
    assert not first.active


def test_editing_a_unit_is_checked_against_the_others(app: Flask,
                                                      create_unit: CreateUnit) -> None:
    create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR])
    other = create_unit("police", "KZ-27", TEREKTI, services=["police.emergency"])
    with pytest.raises(UnitRefused):
        directory.save_unit(UnitDraft.of(other, services=("police.emergency", INSPECTOR)), other)
    db.session.refresh(other)
    assert other.services == ["police.emergency"]
    # Saving a unit never conflicts with itself.
    directory.save_unit(UnitDraft.of(other, name_en="Renamed"), other)
    assert other.name_en == "Renamed"


def test_services_of_another_agency_and_stray_districts_are_refused(app: Flask) -> None:
    with pytest.raises(UnitRefused) as refused:
        directory.save_unit(_draft(services=(INSPECTOR, "health.medical_care"), district="KZ-11-X",
                                   contact_email="not an email"))
    assert set(refused.value.errors) == {"services", "district", "contact_email"}
    assert "health.medical_care" in refused.value.errors["services"]


def test_directory_changes_are_audited(app: Flask) -> None:
    unit = directory.save_unit(_draft())
    directory.save_unit(UnitDraft.of(unit, name_en="Terekti police"), unit)
    directory.deactivate_unit(unit)
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)).all()
    assert [e.action for e in entries] == ["directory.unit_created", "directory.unit_updated",
                                           "directory.unit_deactivated"]
    assert {e.object_id for e in entries} == {unit.id}
    assert entries[1].fields is not None and "name_en" in entries[1].fields


def test_fallbacks_name_the_region_level_unit(app: Flask, create_unit: CreateUnit) -> None:
    region_unit = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    district_unit = create_unit("police", "KZ-27", TEREKTI, services=[INSPECTOR, "police.emergency"])
    assert directory.fallbacks_without(district_unit) == [
        ("police.emergency", None), (INSPECTOR, region_unit)]
    assert directory.fallbacks_without(region_unit) == [(INSPECTOR, None)]


def test_units_are_listed_by_page_and_filter(app: Flask, create_unit: CreateUnit) -> None:
    for agency in ("police", "education"):
        create_unit(agency, "KZ-27", None, services=[])
        create_unit(agency, "KZ-27", TEREKTI, services=[])
    create_unit("police", "KZ-11", None, services=[])
    page, more = directory.list_units(agency="police", region="KZ-27", page=1, size=1)
    assert [u.district for u in page] == [None] and more
    page, more = directory.list_units(agency="police", region="KZ-27", page=2, size=1)
    assert [u.district for u in page] == [TEREKTI] and not more
    everything, _ = directory.list_units(agency=None, region=None, page=1, size=50)
    assert len(everything) == 5
