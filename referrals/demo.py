"""`senim demo`: the reference directory and one demo user per role (development only).

Idempotent: units are matched on (agency, region, district) and users on their username, so a
second run creates nothing and prints no password (each is shown once, when it is generated).
Every name is obviously fictional.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from core import reference
from core.clock import utcnow
from core.extensions import db
from core.models import AgencyUnit, User
from core.roles import Role
from core.users_service import add_user
from intake.text.schools import load_demo_schools
from referrals.directory import services_by_agency

DISTRICT_AGENCIES = ("police", "education", "commission")
PILOT_REGION = "KZ-27"

UNIT_TITLES = {
    "police": ("Полиция департаменті", "Департамент полиции", "Police department"),
    "education": ("Білім басқармасы", "Управление образования", "Education department"),
    "health": ("Денсаулық сақтау басқармасы", "Управление здравоохранения", "Health department"),
    # The official names (issue 14).
    "commission": ("Кәмелетке толмағандардың істері және олардың құқықтарын қорғау жөніндегі "
                   "комиссия", "Комиссия по делам несовершеннолетних и защите их прав",
                   "Commission for juvenile affairs and the protection of their rights"),
}
DISTRICT_UNIT_TITLES = {
    "police": ("Полиция бөлімі", "Отдел полиции", "Police office"),
    "education": ("Білім бөлімі", "Отдел образования", "Education office"),
    "commission": UNIT_TITLES["commission"],
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    agency: str | None = None
    district: str | None = None


def _demo_users() -> list[DemoUser]:
    people = [
        DemoUser("operator", "Demo Operator (fictional)", Role.OPERATOR),
        DemoUser("supervisor", "Demo Supervisor (fictional)", Role.SUPERVISOR),
        DemoUser("admin", "Demo Administrator (fictional)", Role.ADMIN),
        DemoUser("auditor", "Demo Auditor (fictional)", Role.AUDITOR),
    ]
    for district, town in (("KZ-27-ORAL", "oral"), ("KZ-27-TEREKTI", "terekti")):
        for agency in UNIT_TITLES:
            for role, suffix in ((Role.AGENCY_STAFF, ""), (Role.AGENCY_HEAD, ".head")):
                people.append(DemoUser(
                    f"{agency}.{town}{suffix}",
                    f"Demo {agency.title()} {town.title()}{' Head' if suffix else ''} (fictional)",
                    role, agency, district,
                ))
    return people


def ensure_unit(agency: str, region: str, district: str | None, services: list[str]) -> bool:
    """Create the unit unless it exists; True when created. An existing demo unit gets the
    current names and any service a newer algorithm added (2026.2: education.department)."""
    existing = db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == agency, AgencyUnit.region == region,
        AgencyUnit.district == district if district else AgencyUnit.district.is_(None),
    ))
    place = reference.districts()[district] if district else reference.regions()[region]
    titles = (DISTRICT_UNIT_TITLES if district else UNIT_TITLES)[agency]
    names = {"name_kk": f"{titles[0]} — {place.name_kk}",
             "name_ru": f"{titles[1]} — {place.name_ru}",
             "name_en": f"{titles[2]} — {place.name_en}"}
    if existing is not None:
        for field, value in names.items():
            setattr(existing, field, value)
        existing.services = [*existing.services,
                             *(s for s in services if s not in existing.services)]
        return False
    db.session.add(AgencyUnit(
        agency=agency, region=region, district=district, services=services, **names,
        contact_email=f"{agency}.{(district or region).lower()}@demo.senim.invalid",
    ))
    return True


def load_directory() -> int:
    created = 0
    by_agency = services_by_agency()
    for region in reference.regions():
        for agency in UNIT_TITLES:
            created += ensure_unit(agency, region, None, by_agency[agency])
    for place in reference.districts_of(PILOT_REGION):
        for agency in DISTRICT_AGENCIES:
            created += ensure_unit(agency, PILOT_REGION, place.code, by_agency[agency])
    db.session.flush()
    return created


def _unit_for(person: DemoUser) -> AgencyUnit | None:
    if person.agency is None:
        return None
    district = person.district if person.agency in DISTRICT_AGENCIES else None
    return db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == person.agency, AgencyUnit.region == PILOT_REGION,
        AgencyUnit.district == district if district else AgencyUnit.district.is_(None),
    ))


def load_users() -> list[tuple[DemoUser, str]]:
    created = []
    for person in _demo_users():
        if db.session.scalar(select(User.id).where(User.username == person.username)):
            continue
        password = secrets.token_urlsafe(12)
        add_user(person.username, person.display_name, person.role, password,
                 unit=_unit_for(person))
        created.append((person, password))
    return created


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo directory and users (development only; idempotent)."""
    if current_app.config["SENIM"].env != "development":
        raise click.ClickException("senim demo runs only with SENIM_ENV=development")
    units = load_directory()
    users = load_users()
    schools = load_demo_schools(utcnow())
    db.session.commit()
    click.echo(f"agency units created: {units}")
    click.echo(f"schools created: {schools} (their QR report pages: senim schools export)")
    if not users:
        click.echo("demo users already exist; their passwords were shown when they were created")
        return
    lines = [f"  {person.username:<24} {person.role.value:<13} {password}" for person, password in users]
    click.echo("demo users (development only; `make run` shows them again from "
               "instance/demo-logins.txt):")
    click.echo("\n".join(lines))
    _keep_for_make_run(lines)


def _keep_for_make_run(lines: list[str]) -> None:
    """`make run` shows the demo logins every time; keep them beside the development keys
    (instance folder, owner-only, never in git). Development only, like the demo itself."""
    path = Path(current_app.instance_path) / "demo-logins.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
