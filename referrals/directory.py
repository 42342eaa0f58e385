"""The directory of agency units, seen from routing: which unit serves which area (§5).

Resolution runs right after the pure engine: a referral goes to the active unit of the
service's agency that offers the service in the child's district, else the region-level unit
(no district) of the child's region, else nobody (the referral is created unassigned). The
one-unit-per-service-and-area rule below is what keeps that resolution deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from threading import Lock
from typing import Any, Protocol

from flask import current_app, has_request_context
from flask_babel import gettext
from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session, SessionTransaction, lazyload

from core import audit, reference, reference_cache
from core.extensions import db
from core.i18n import current_language
from core.models import AgencyUnit, UnitService
from core.models.directory import DEFAULT_WORK_END, DEFAULT_WORK_START
from referrals.routing import Algorithm, default_algorithm
from referrals.routing_app.service import current_algorithm, stored_versions

NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _(message: str, **values: Any) -> str:
    """gettext for the viewer's language; English outside a request (CLI, jobs, tests)."""
    if has_request_context():
        return gettext(message, **values)
    return message % values if values else message


def _language() -> str:
    return current_language() if has_request_context() else "en"


def services_by_agency(algorithm: Algorithm | None = None) -> dict[str, list[str]]:
    """Service codes per agency, from the algorithm's data (default: the bundled one)."""
    result: dict[str, list[str]] = {}
    for code, agency in (algorithm or default_algorithm()).services.items():
        result.setdefault(agency, []).append(code)
    return result


def agency_of(service: str) -> str:
    # The algorithm's loader guarantees that a service code starts with its agency's code.
    return service.split(".", 1)[0]


# ---- resolution -------------------------------------------------------------------------------


def resolve_unit(service: str, region: str, district: str | None) -> AgencyUnit | None:
    """The unit that receives a referral for ``service`` about a child in this area (§5)."""
    return resolve_units([service], region, district)[service]


def resolve_units(services: Sequence[str], region: str,
                  district: str | None) -> dict[str, AgencyUnit | None]:
    """The receiving unit of each service for a child in this area, loaded in one query.

    Resolution reads the cached directory (see ``_Directory``); the units themselves come from
    the session, so callers work with the same objects as everywhere else.
    """
    if DIRECTORY.changed_in(db.session):
        # This transaction changed the directory and has not committed: answer from its own
        # view of the tables, and keep that uncommitted view out of the shared cache.
        chosen = {s: _offering_id(s, region, district) for s in services}
        return _load(chosen)
    # Within one session an area's answers are kept: routing asks for the office-hours units
    # while it counts deadlines, and the submission then asks for the units of its referrals.
    known: dict[tuple[str, str, str | None], AgencyUnit | None] = db.session.info.setdefault(
        _RESOLVED, {})
    missing = [s for s in services if (s, region, district) not in known]
    if missing:
        directory = _directory()
        found = _load({s: directory.unit_for(s, region, district) for s in missing})
        known.update({(s, region, district): unit for s, unit in found.items()})
    return {s: known[(s, region, district)] for s in services}


def _load(chosen: dict[str, str | None]) -> dict[str, AgencyUnit | None]:
    wanted = {unit_id for unit_id in chosen.values() if unit_id is not None}
    units: dict[str, AgencyUnit] = {}
    if wanted:
        # The services of a receiving unit are not needed to route to it; they load if asked.
        query = (select(AgencyUnit).where(AgencyUnit.id.in_(sorted(wanted)))
                 .options(lazyload(AgencyUnit.service_rows)))
        units = {unit.id: unit for unit in db.session.scalars(query)}
    return {s: units.get(unit_id) if unit_id else None for s, unit_id in chosen.items()}


def _offering_id(service: str, region: str, district: str | None) -> str | None:
    if district:
        unit = db.session.scalar(_offering(service, region, district))
        if unit is not None:
            return unit.id
    unit = db.session.scalar(_offering(service, region, None))
    return unit.id if unit is not None else None


# ---- the cached directory -----------------------------------------------------------------------
#
# Resolving with two queries per referral cost about 15 ms each (issue 13). The directory is
# small (a few thousand service offers for the whole country) and changes rarely, so each
# process keeps it in memory, keyed by the version the database holds (core/reference_cache.py:
# every flush that writes an AgencyUnit or UnitService bumps it in the same transaction). A
# submission reads that version with the algorithm's and the calendar's, in one statement
# (``stored_versions``).

DIRECTORY = reference_cache.watch("directory", AgencyUnit, UnitService)
DIRECTORY_COUNTER = DIRECTORY.name
_RESOLVED = "senim.resolved_units"  # session.info: (service, region, district) -> unit
_cache_lock = Lock()


@dataclass(frozen=True)
class _Directory:
    version: tuple[int | None, int]
    # (service, region, district or None) -> the id of the unit offering it there
    offers: dict[tuple[str, str, str | None], str]

    def unit_for(self, service: str, region: str, district: str | None) -> str | None:
        if district:
            found = self.offers.get((service, region, district))
            if found is not None:
                return found
        return self.offers.get((service, region, None))


def _directory() -> _Directory:
    version = DIRECTORY.version(stored_versions().of(DIRECTORY))
    cache: dict[str, _Directory] = current_app.extensions.setdefault("senim.directory", {})
    found = cache.get("current")
    if found is not None and found.version == version:
        return found
    loaded = _Directory(version, _load_offers())
    with _cache_lock:
        cache["current"] = loaded
    return loaded


def _load_offers() -> dict[tuple[str, str, str | None], str]:
    rows = db.session.execute(
        select(UnitService.service, AgencyUnit.agency, AgencyUnit.region, AgencyUnit.district,
               AgencyUnit.id)
        .join(AgencyUnit, UnitService.unit_id == AgencyUnit.id)
        .where(AgencyUnit.active.is_(True))
        # The one-unit rule makes each offer unique; the order only guards data saved before it.
        .order_by(AgencyUnit.created_at, AgencyUnit.id))
    offers: dict[tuple[str, str, str | None], str] = {}
    for service, agency, region, district, unit_id in rows:
        if agency_of(service) == agency:
            offers.setdefault((service, region, district), unit_id)
    return offers


def _forget_resolved(session: Session) -> None:
    session.info.pop(_RESOLVED, None)  # this transaction changed the directory


DIRECTORY.on_change(_forget_resolved)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_RESOLVED, None)  # answers are kept within one transaction only


def install() -> None:
    """Once per process: several apps (tests, the live server) share the Session class."""
    reference_cache.install()
    if not event.contains(Session, "after_transaction_end", _after_transaction_end):
        event.listen(Session, "after_transaction_end", _after_transaction_end)


def _offering(service: str, region: str, district: str | None) -> Select[Any]:
    return (
        select(AgencyUnit)
        .join(UnitService, UnitService.unit_id == AgencyUnit.id)
        .where(UnitService.service == service, AgencyUnit.agency == agency_of(service),
               AgencyUnit.active.is_(True), AgencyUnit.region == region, _in_district(district))
        # The one-unit rule makes this unique; the order only guards data saved before it.
        .order_by(AgencyUnit.created_at, AgencyUnit.id)
        .limit(1)
    )


def _in_district(district: str | None) -> Any:
    return AgencyUnit.district == district if district else AgencyUnit.district.is_(None)


def fallbacks_without(unit: AgencyUnit) -> list[tuple[str, AgencyUnit | None]]:
    """Where new referrals for each of the unit's services would go once it is inactive: the
    region-level unit for a district unit; nobody (unassigned) for a region-level unit."""
    result: list[tuple[str, AgencyUnit | None]] = []
    for service in unit.services:
        fallback = None
        if unit.district:
            fallback = db.session.scalar(_offering(service, unit.region, None))
        result.append((service, fallback))
    return result


def list_units(*, agency: str | None, region: str | None, page: int,
               size: int) -> tuple[list[AgencyUnit], bool]:
    """A page of the directory by region, agency, then region-level before district units;
    and whether another page follows."""
    query = select(AgencyUnit)
    if agency:
        query = query.where(AgencyUnit.agency == agency)
    if region:
        query = query.where(AgencyUnit.region == region)
    query = query.order_by(AgencyUnit.region, AgencyUnit.agency,
                           AgencyUnit.district.is_not(None), AgencyUnit.district, AgencyUnit.id)
    rows = list(db.session.scalars(query.offset((page - 1) * size).limit(size + 1)))
    return rows[:size], len(rows) > size


# ---- the one-unit-per-service-and-area rule ---------------------------------------------------


class UnitShape(Protocol):
    """What the coverage rule looks at: a saved unit or a proposed one."""

    @property
    def id(self) -> str | None: ...
    @property
    def region(self) -> str: ...
    @property
    def district(self) -> str | None: ...
    @property
    def services(self) -> Sequence[str]: ...
    @property
    def active(self) -> bool: ...


def coverage_conflicts(unit: UnitShape) -> list[str]:
    """Messages for each service another active unit already offers in this unit's area."""
    if not unit.active or not unit.services:
        return []
    query = (
        select(UnitService.service, AgencyUnit)
        .join(AgencyUnit, UnitService.unit_id == AgencyUnit.id)
        .where(UnitService.service.in_(list(unit.services)), AgencyUnit.active.is_(True),
               AgencyUnit.region == unit.region, _in_district(unit.district))
        .order_by(UnitService.service)
    )
    if unit.id is not None:
        query = query.where(AgencyUnit.id != unit.id)
    with db.session.no_autoflush:  # the unit being checked may be pending; leave it be
        rows = db.session.execute(query).all()
    return [_conflict_message(service, other, unit.district or unit.region)
            for service, other in rows]


def _conflict_message(service: str, other: AgencyUnit, area: str) -> str:
    lang = _language()
    return _("%(service)s in %(area)s is already offered by the active unit “%(unit)s”. "
             "Remove the service from that unit or deactivate it first.",
             service=service_label(service, lang), area=reference.place_name(area, lang),
             unit=other.name(lang))


def service_label(service: str, lang: str) -> str:
    try:
        return current_algorithm().label("service", service, lang)
    except KeyError:  # a service an older algorithm had; the code still says what it was
        return service


# ---- saving -----------------------------------------------------------------------------------


class UnitRefused(ValueError):
    """The entry breaks a directory rule; ``errors`` maps form fields to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass(frozen=True)
class UnitDraft:
    """A unit as an administrator wants it; ``id`` is None for a new unit."""

    agency: str
    region: str
    district: str | None
    name_kk: str
    name_ru: str
    name_en: str
    contact_email: str | None = None
    services: tuple[str, ...] = ()
    active: bool = True
    id: str | None = None
    # Working time, minutes after local midnight (issue 14: 09:00-18:00 unless set).
    work_start_minute: int = DEFAULT_WORK_START
    work_end_minute: int = DEFAULT_WORK_END

    @classmethod
    def of(cls, unit: AgencyUnit, **changes: Any) -> UnitDraft:
        draft = cls(unit.agency, unit.region, unit.district, unit.name_kk, unit.name_ru,
                    unit.name_en, unit.contact_email, tuple(unit.services), unit.active, unit.id,
                    unit.work_start_minute, unit.work_end_minute)
        return replace(draft, **changes)


EDITABLE = ("name_kk", "name_ru", "name_en", "contact_email", "services", "work_start_minute",
            "work_end_minute")


def save_unit(draft: UnitDraft, unit: AgencyUnit | None = None) -> AgencyUnit:
    """Create (``unit`` None) or update a unit's names, email and services, with an audit
    entry. Raises ``UnitRefused`` naming every problem, the one-unit rule included."""
    errors = _problems(draft, unit)
    if not errors:
        conflicts = coverage_conflicts(draft)
        if conflicts:
            errors["services"] = " ".join(conflicts)
    if errors:
        raise UnitRefused(errors)
    if unit is None:
        return _create(draft)
    return _update(unit, draft)


def _create(draft: UnitDraft) -> AgencyUnit:
    unit = AgencyUnit(agency=draft.agency, region=draft.region, district=draft.district,
                      active=draft.active)
    _apply(unit, draft)
    db.session.add(unit)
    db.session.flush()
    audit.record("directory.unit_created", object_type="agency_unit", object_id=unit.id,
                 details={"agency": unit.agency, "region": unit.region,
                          "district": unit.district, "services": len(unit.services)})
    return unit


def _update(unit: AgencyUnit, draft: UnitDraft) -> AgencyUnit:
    changed = [name for name in EDITABLE if _value(unit, name) != getattr(draft, name)]
    _apply(unit, draft)
    db.session.flush()
    if changed:
        audit.record("directory.unit_updated", object_type="agency_unit", object_id=unit.id,
                     fields=changed)
    return unit


def _value(unit: AgencyUnit, name: str) -> Any:
    return tuple(unit.services) if name == "services" else getattr(unit, name)


def _apply(unit: AgencyUnit, draft: UnitDraft) -> None:
    unit.name_kk, unit.name_ru, unit.name_en = draft.name_kk, draft.name_ru, draft.name_en
    unit.contact_email = draft.contact_email
    unit.services = list(draft.services)
    unit.work_start_minute, unit.work_end_minute = draft.work_start_minute, draft.work_end_minute


def deactivate_unit(unit: AgencyUnit) -> None:
    """Stop routing to the unit. Its referrals and staff stay as they are."""
    if not unit.active:
        return
    unit.active = False
    db.session.flush()
    audit.record("directory.unit_deactivated", object_type="agency_unit", object_id=unit.id)


def activate_unit(unit: AgencyUnit) -> None:
    """Route to the unit again, unless another active unit took over one of its services."""
    if unit.active:
        return
    conflicts = coverage_conflicts(UnitDraft.of(unit, active=True))
    if conflicts:
        raise UnitRefused({"services": " ".join(conflicts)})
    unit.active = True
    db.session.flush()
    audit.record("directory.unit_activated", object_type="agency_unit", object_id=unit.id)


# ---- validation -------------------------------------------------------------------------------


def _problems(draft: UnitDraft, unit: AgencyUnit | None) -> dict[str, str]:
    algorithm = current_algorithm()
    errors: dict[str, str] = {}
    if unit is None:
        errors.update(_place_problems(draft, algorithm))
    for name in ("name_kk", "name_ru", "name_en"):
        text = getattr(draft, name)
        if not text.strip():
            errors[name] = _("Enter the unit's name.")
        elif len(text) > NAME_MAX_LENGTH:
            errors[name] = _("Use at most %(count)d characters.", count=NAME_MAX_LENGTH)
    email = draft.contact_email
    if email and (len(email) > EMAIL_MAX_LENGTH or not _EMAIL.match(email)):
        errors["contact_email"] = _("Enter an email address such as name@example.kz.")
    if not 0 <= draft.work_start_minute < draft.work_end_minute <= 24 * 60:
        errors["work_end"] = _("The working day must end after it starts.")
    services_error = _service_problem(draft, unit, algorithm)
    if services_error:
        errors["services"] = services_error
    return errors


def _place_problems(draft: UnitDraft, algorithm: Algorithm) -> dict[str, str]:
    errors: dict[str, str] = {}
    if draft.agency not in algorithm.codes("agency"):
        errors["agency"] = _("Choose an agency.")
    district = reference.districts().get(draft.district) if draft.district else None
    if draft.region not in reference.regions():
        errors["region"] = _("Choose a region.")
    elif draft.district and district is None:
        errors["district"] = _("Choose a district.")
    elif district is not None and district.region != draft.region:
        errors["district"] = _("This district is not in the chosen region.")
    return errors


def _service_problem(draft: UnitDraft, unit: AgencyUnit | None,
                     algorithm: Algorithm) -> str | None:
    # Services an older algorithm defined may stay on a unit; new ones must exist now.
    kept = set(unit.services) if unit is not None else set()
    foreign = [s for s in draft.services
               if s not in kept and algorithm.services.get(s) != draft.agency]
    if foreign:
        return _("These services do not belong to this agency: %(codes)s.",
                 codes=", ".join(foreign))
    return None
