"""The directory of schools: CSV import (``name_kk,name_ru,region,district``), export with each
school's report token and URL, and token rotation.

Region and district are codes of the reference data (``KZ-27``, ``KZ-27-TEREKTI``); a CSV may
also name them as the reference data does, in Kazakh, Russian or English. Import is idempotent
on (name, district): a school already there is left as it is (its token too).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from core import audit, reference
from core.extensions import db
from core.models import User
from intake.text.codes import new_school_token
from intake.text.models import School, SchoolToken

COLUMNS = ("name_kk", "name_ru", "region", "district")
MAX_NAME = 300


class ImportError_(ValueError):
    """The file cannot be imported; ``problems`` lists each bad line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    created: list[School] = field(default_factory=list)
    existing: int = 0


def _place_code(raw: str, places: dict[str, reference.Place]) -> str | None:
    value = raw.strip()
    if value in places:
        return value
    lowered = value.casefold()
    for place in places.values():
        if lowered in (place.name_kk.casefold(), place.name_ru.casefold(), place.name_en.casefold()):
            return place.code
    return None


def _row(number: int, row: dict[str, str], problems: list[str]) -> tuple[str, str, str, str | None] | None:
    name_kk, name_ru = (row.get("name_kk") or "").strip(), (row.get("name_ru") or "").strip()
    if not name_kk or not name_ru:
        problems.append(f"line {number}: name_kk and name_ru are required")
        return None
    if len(name_kk) > MAX_NAME or len(name_ru) > MAX_NAME:
        problems.append(f"line {number}: a name has more than {MAX_NAME} characters")
        return None
    region = _place_code(row.get("region") or "", reference.regions())
    if region is None:
        problems.append(f"line {number}: unknown region")
        return None
    district = None
    if (row.get("district") or "").strip():
        district = _place_code(row["district"], reference.districts())
        if district is None or reference.districts()[district].region != region:
            problems.append(f"line {number}: unknown district of {region}")
            return None
    return name_kk, name_ru, region, district


def read_csv(handle: IO[str]) -> list[tuple[str, str, str, str | None]]:
    reader = csv.DictReader(handle)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportError_([f"missing columns: {', '.join(missing)}"])
    problems: list[str] = []
    rows = []
    for number, row in enumerate(reader, start=2):
        parsed = _row(number, row, problems)
        if parsed is not None:
            rows.append(parsed)
    if problems:
        raise ImportError_(problems)
    return rows


def find_school(name_kk: str, name_ru: str, district: str | None, region: str) -> School | None:
    """The same school: the same name (in either language) in the same district (or region,
    for a school listed without a district)."""
    query = select(School).where((School.name_kk == name_kk) | (School.name_ru == name_ru))
    query = query.where(School.district == district) if district else query.where(
        School.district.is_(None), School.region == region)
    return db.session.scalars(query).first()


def add_school(name_kk: str, name_ru: str, region: str, district: str | None,
               now: datetime) -> School:
    school = School(name_kk=name_kk, name_ru=name_ru, region=region, district=district,
                    created_at=now)
    db.session.add(school)
    db.session.add(SchoolToken(token=new_school_token(), school=school, created_at=now))
    return school


def import_rows(rows: Iterable[tuple[str, str, str, str | None]], now: datetime,
                actor: User | None = None) -> ImportResult:
    result = ImportResult()
    for name_kk, name_ru, region, district in rows:
        if find_school(name_kk, name_ru, district, region) is not None:
            result.existing += 1
            continue
        result.created.append(add_school(name_kk, name_ru, region, district, now))
        db.session.flush()
    audit.record("schools.imported", object_type="school", actor=actor,
                 details={"created": len(result.created), "existing": result.existing})
    return result


def rotate_token(school: School, now: datetime, actor: User | None = None) -> SchoolToken:
    """A new token for the school's posters; the old one shows the "replaced" page."""
    for token in school.tokens:
        if token.retired_at is None:
            token.retired_at = now
    new = SchoolToken(token=new_school_token(), school=school, created_at=now)
    db.session.add(new)
    db.session.flush()
    db.session.refresh(school)
    audit.record("school.token_rotated", object_type="school", object_id=school.id, actor=actor)
    return new


def report_url(token: str) -> str:
    return f"{current_app.config['SENIM'].base_url}/r/{token}"


def schools_in_order() -> list[School]:
    return list(db.session.scalars(select(School).order_by(School.region, School.district,
                                                           School.name_kk, School.id)))


def export_row(school: School) -> dict[str, Any]:
    token = school.current_token
    return {"id": school.id, "name_kk": school.name_kk, "name_ru": school.name_ru,
            "region": school.region, "district": school.district,
            "report_token": token.token if token else None,
            "report_url": report_url(token.token) if token else None}


# Obviously fictional schools for `senim demo` (development only): one per pilot district.
DEMO_SCHOOLS = (
    ("№3 жалпы білім беретін мектеп (демо)", "Общеобразовательная школа №3 (демо)", "KZ-27",
     "KZ-27-TEREKTI"),
    ("№12 мектеп-гимназия (демо)", "Школа-гимназия №12 (демо)", "KZ-27", "KZ-27-ORAL"),
    ("Ақсай политехникалық колледжі (демо)", "Аксайский политехнический колледж (демо)", "KZ-27",
     "KZ-27-BURLIN"),
)


def load_demo_schools(now: datetime) -> int:
    """Idempotent like the import; returns how many were created."""
    return len(import_rows(DEMO_SCHOOLS, now).created)
