"""The routing engine inside the application: the current algorithm, the working calendar, the
deployment's time zone, and the administrators' publication of new algorithm versions.

The engine (``referrals.routing``) stays pure; everything here that needs the database or
Flask feeds it values. Nothing here commits: callers own the transaction (architecture.md).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from threading import Lock
from types import MappingProxyType
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, reference, reference_cache
from core.clock import utcnow
from core.extensions import db
from core.models import AgencyUnit, User
from core.read_once import forget, remembered
from referrals.models import WORKING_DAY, AlgorithmVersion, CalendarDayOff
from referrals.routing import (
    Algorithm,
    Decision,
    Geography,
    WorkingCalendar,
    WorkingHours,
    decision_to_json,
    default_algorithm,
    load_algorithm,
    parse_facts,
    route,
)
from referrals.routing.algorithm import BUNDLED_VERSIONS, bundled_algorithm

log = logging.getLogger(__name__)

REASON_MAX_LENGTH = 1000
DAY_OFF_NAME_MAX_LENGTH = 200
# Kept when the first version is published, so the decisions it made stay explainable even
# after a later release bundles another default.
BUNDLED_REASON = "The bundled default algorithm, kept when the first new version was published."
_COMPILED_LIMIT = 32  # compiled versions kept in memory; a deployment publishes a few a year


class UnknownVersion(LookupError):
    """No algorithm version with that version string exists."""


class Refused(ValueError):
    """A request the rules refuse. ``code`` lets pages say it in the viewer's language; the
    English text (``str``) is for logs and the command line."""

    MESSAGES: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(self, code: str, **params: str) -> None:
        self.code = code
        self.params = params
        super().__init__(self.MESSAGES[code].format(**params))


class PublishRefused(Refused):
    """A valid document that must not be published."""

    MESSAGES = MappingProxyType({
        "reason_missing": "a reason is required to publish a version",
        "reason_too_long": "the reason is longer than {limit} characters",
        "identical": "the document is identical to the current version {version}",
        "version_exists": "version {version} already exists; give the document a new version",
        "concurrent": "another version was published at the same time; review the changes again",
    })


class DayOffRefused(Refused):
    """A day off that cannot be added."""

    MESSAGES = MappingProxyType({
        "name_missing": "the day off needs a name",
        "weekend": "{day} is a Saturday or Sunday, which is never a working day",
        "already_off": "{day} is already a day off",
        "weekday": "{day} is a weekday, which is a working day already",
        "already_working": "{day} is already a working day",
    })


# ---- time zone, geography, calendar -----------------------------------------------------------


def timezone() -> ZoneInfo:
    """The deployment's time zone (SENIM_TIMEZONE, Asia/Almaty by default)."""
    tz: ZoneInfo = current_app.config["SENIM"].tz
    return tz


@cache
def geography() -> Geography:
    """Region and district codes the facts may name (core/data; loaded once per process)."""
    return Geography.from_csv(reference.REGIONS_CSV, reference.DISTRICTS_CSV)


CALENDAR = reference_cache.watch("calendar", CalendarDayOff)


def working_calendar() -> WorkingCalendar:
    """The days off and working Saturdays of core/data/holidays-KZ.csv plus those
    administrators added."""
    return remembered("calendar", _current_calendar)


def _current_calendar() -> WorkingCalendar:
    """The process's copy while the stored version is the one it was read at
    (core/reference_cache.py): the days administrators added are read only when they changed."""
    if CALENDAR.changed_in(db.session):  # this transaction's own, uncommitted view
        return _load_calendar()
    version = CALENDAR.version(stored_versions().of(CALENDAR))
    cache: dict[str, tuple[tuple[int | None, int], WorkingCalendar]] = (
        current_app.extensions.setdefault("senim.calendar", {}))
    found = cache.get("current")
    if found is not None and found[0] == version:
        return found[1]
    loaded = _load_calendar()
    cache["current"] = (version, loaded)
    return loaded


def _load_calendar() -> WorkingCalendar:
    rows = db.session.execute(select(CalendarDayOff.date, CalendarDayOff.kind)).all()
    return _calendar(frozenset((row.date, row.kind == WORKING_DAY) for row in rows))


@lru_cache(maxsize=8)
def _calendar(added: frozenset[tuple[date, bool]]) -> WorkingCalendar:
    # Cached per set of added days: the calendar memoises its date arithmetic, and the table
    # changes only when an administrator adds a day.
    listed = reference.days_off()
    off = {d.day for d in listed if d.kind != WORKING_DAY} | {d for d, working in added
                                                              if not working}
    working = {d.day for d in listed if d.kind == WORKING_DAY} | {d for d, w in added if w}
    return WorkingCalendar(frozenset(off), frozenset(working))


def unit_hours(unit: AgencyUnit | None) -> WorkingHours:
    """A unit's working time (09:00-18:00 when there is no unit: an unassigned referral)."""
    if unit is None:
        return WorkingHours()
    return WorkingHours.from_minutes(unit.work_start_minute, unit.work_end_minute)


def uncovered_years_warning() -> tuple[int, ...]:
    """This year and next that the calendar has no entry for (routing.md §4: weekends only
    are skipped there, so administrators must add the year's days off)."""
    this_year = utcnow().astimezone(timezone()).year
    return working_calendar().missing_years(range(this_year, this_year + 2))


# ---- read once per submission ----------------------------------------------------------------
#
# Inside core.read_once's block (a contact submission) the current algorithm, the calendar and
# the stored versions are read once; a version published or a day added in the same session
# drops them at flush.

_REMEMBERED = ("algorithm", "calendar", reference_cache.REMEMBERED)


@dataclass(frozen=True)
class StoredVersions:
    """What the reference data is at in the database: the current algorithm's digest (None: the
    bundled default) and the counter of each watched kind (core/reference_cache.py)."""

    algorithm_digest: str | None
    counters: Mapping[str, int | None]

    def of(self, kind: reference_cache.Watched) -> int | None:
        return self.counters.get(kind.name)


def stored_versions() -> StoredVersions:
    """The current algorithm and every cached kind's version in one statement (issue 13: a
    submission read them in three), once per read_once block."""
    return remembered(reference_cache.REMEMBERED, _load_stored_versions)


def _load_stored_versions() -> StoredVersions:
    kinds = reference_cache.watched()
    current = (select(AlgorithmVersion.digest).where(AlgorithmVersion.is_current)
               .limit(1).scalar_subquery())
    row = db.session.execute(select(current, *[kind.counter() for kind in kinds])).one()
    return StoredVersions(row[0], {kind.name: row[i + 1] for i, kind in enumerate(kinds)})


def _after_flush(session: Session, flush_context: Any) -> None:
    touched = itertools.chain(session.new, session.dirty, session.deleted)
    if any(isinstance(obj, AlgorithmVersion | CalendarDayOff) for obj in touched):
        forget(session, *_REMEMBERED)


def install() -> None:
    """Once per process: several apps (tests, the live server) share the Session class."""
    reference_cache.install()
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


# ---- algorithm versions -----------------------------------------------------------------------

_compiled: dict[str, Algorithm] = {}
_compiled_lock = Lock()


def _compile(digest: str, document: str) -> Algorithm:
    """The compiled algorithm of a stored document, compiled once per process and digest."""
    found = _compiled.get(digest)
    if found is not None:
        return found
    bundled = {b.digest: b for b in map(bundled_algorithm, BUNDLED_VERSIONS)}
    algorithm = bundled.get(digest) or load_algorithm(document)
    with _compiled_lock:
        if len(_compiled) >= _COMPILED_LIMIT:
            _compiled.clear()
        _compiled[digest] = algorithm
    return algorithm


def _document_of(digest: str) -> str:
    return db.session.scalars(
        select(AlgorithmVersion.document).where(AlgorithmVersion.digest == digest)).one()


def current_version_row() -> AlgorithmVersion | None:
    return db.session.scalar(select(AlgorithmVersion).where(AlgorithmVersion.is_current))


def current_algorithm() -> Algorithm:
    """The current published version, else the bundled default."""
    return remembered("algorithm", _load_current_algorithm)


def _load_current_algorithm() -> Algorithm:
    digest = stored_versions().algorithm_digest
    if digest is None:
        return default_algorithm()
    if digest in _compiled:  # the usual case: no need to fetch the 35 kB document again
        return _compiled[digest]
    return _compile(digest, _document_of(digest))


def algorithm_by_version(version: str) -> Algorithm:
    """Any version that ever routed a contact (old versions stay readable)."""
    row = db.session.execute(
        select(AlgorithmVersion.digest, AlgorithmVersion.document)
        .where(AlgorithmVersion.version == version)).first()
    if row is not None:
        return _compile(row.digest, row.document)
    if version in BUNDLED_VERSIONS:
        return bundled_algorithm(version)
    raise UnknownVersion(version)


@dataclass(frozen=True)
class VersionEntry:
    """A row of the versions list; ``row`` is None for the bundled default never stored."""

    version: str
    is_current: bool
    row: AlgorithmVersion | None


def versions() -> list[VersionEntry]:
    """Every version, newest first; the bundled default last when it was never stored."""
    rows = list(db.session.scalars(
        select(AlgorithmVersion).order_by(AlgorithmVersion.is_current.desc(),
                                          AlgorithmVersion.published_at.desc(),
                                          AlgorithmVersion.version.desc())))
    entries = [VersionEntry(row.version, row.is_current, row) for row in rows]
    stored = {row.version for row in rows}
    default = default_algorithm().version
    any_current = any(row.is_current for row in rows)
    for bundled in reversed(BUNDLED_VERSIONS):  # newest first, as the stored rows
        if bundled not in stored:
            entries.append(VersionEntry(bundled, bundled == default and not any_current, None))
    return entries


# ---- routing ----------------------------------------------------------------------------------


def decide(data: Mapping[str, Any], *, now: datetime | None = None) -> Decision:
    """Facts JSON -> decision with the current algorithm, calendar and time zone.

    Raises the engine's ``FactsError`` naming every invalid field. Reads only.
    """
    algorithm = current_algorithm()
    facts = parse_facts(data, geography(), now or utcnow(), algorithm=algorithm)
    decision = route(facts, algorithm, working_calendar(), timezone(),
                     hours=_hours_in(facts.child.region, facts.child.district))
    if decision.calendar_warnings:
        log.warning("the calendar of days off has no entry for %s: working days skipped "
                    "weekends only; an administrator must add those years",
                    ", ".join(map(str, decision.calendar_warnings)))
    return decision


def _hours_in(region: str | None, district: str | None) -> Callable[[str], WorkingHours]:
    """The working hours of the unit each service would go to (the one the referral will be
    sent to, §5): an office-hours deadline counts that unit's working time. The units of every
    service are resolved together at the first question, in one query; the submission then
    finds its referrals' units already resolved (``directory.resolve_units`` keeps them for the
    transaction)."""
    from referrals import directory  # imported late: directory imports this module

    units: dict[str, AgencyUnit | None] = {}

    def hours(service: str) -> WorkingHours:
        if region and not units:
            services = sorted({*current_algorithm().services, service})
            units.update(directory.resolve_units(services, region, district))
        return unit_hours(units.get(service))

    return hours


def decision_json(decision: Decision) -> dict[str, Any]:
    """routing.md §9, with times in the deployment's time zone."""
    return decision_to_json(decision, timezone())


# ---- publication ------------------------------------------------------------------------------


def publication_refusal(algorithm: Algorithm) -> PublishRefused | None:
    """Why a valid document cannot be published as a new version (None: it can)."""
    current = current_algorithm()
    if algorithm.digest == current.digest:
        return PublishRefused("identical", version=current.version)
    if _stored(algorithm.version):
        return PublishRefused("version_exists", version=algorithm.version)
    if (algorithm.version in BUNDLED_VERSIONS
            and algorithm.digest != bundled_algorithm(algorithm.version).digest):
        # A bundled version is published as bundled (how an existing install adopts 2026.2),
        # never as another document under its number.
        return PublishRefused("version_exists", version=algorithm.version)
    return None


def publish(document_text: str, reason: str, user: User) -> AlgorithmVersion:
    """Validate and publish ``document_text`` as the current version, with an audit entry.

    Raises ``AlgorithmError`` (invalid document, every problem named) or ``PublishRefused``.
    """
    reason = reason.strip()
    if not reason:
        raise PublishRefused("reason_missing")
    if len(reason) > REASON_MAX_LENGTH:
        raise PublishRefused("reason_too_long", limit=str(REASON_MAX_LENGTH))
    algorithm = load_algorithm(document_text)
    refusal = publication_refusal(algorithm)
    if refusal is not None:
        raise refusal
    previous = current_algorithm()
    _keep_bundled_default(previous)
    row = _store_current(algorithm, document_text, reason, user)
    audit.record("routing.algorithm_published", object_type="algorithm_version",
                 object_id=row.id, reason=reason,
                 details={"version": algorithm.version, "previous_version": previous.version,
                          "digest": algorithm.digest}, actor=user)
    return row


def _keep_bundled_default(previous: Algorithm) -> None:
    bundled = default_algorithm()
    if previous.digest != bundled.digest or _stored(bundled.version):
        return
    db.session.add(AlgorithmVersion(
        version=bundled.version, document=bundled.source_text, digest=bundled.digest,
        reason=BUNDLED_REASON, published_by=None, is_current=False))


def _stored(version: str) -> bool:
    return db.session.scalar(
        select(AlgorithmVersion.id).where(AlgorithmVersion.version == version)) is not None


def _store_current(algorithm: Algorithm, document_text: str, reason: str,
                   user: User) -> AlgorithmVersion:
    db.session.execute(update(AlgorithmVersion).where(AlgorithmVersion.is_current)
                       .values(is_current=False))
    forget(db.session, *_REMEMBERED)
    row = AlgorithmVersion(version=algorithm.version, document=document_text,
                           digest=algorithm.digest, reason=reason, published_by=user.id,
                           is_current=True)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        # The unique indexes caught another administrator publishing at the same moment.
        db.session.rollback()
        raise PublishRefused("concurrent") from None
    _compiled.setdefault(algorithm.digest, algorithm)
    return row


# ---- the calendar -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    """A day off as the calendar page lists it."""

    day: date
    kind: str  # "holiday" or "transfer"
    name: str
    added: bool  # added by an administrator (else: the data file)


def days_off_in(year: int) -> list[CalendarDay]:
    """The year's days off from the data file and the database, by date."""
    listed = [CalendarDay(d.day, d.kind, d.name_en, False)
              for d in reference.days_off() if d.day.year == year]
    rows = db.session.scalars(select(CalendarDayOff).where(
        CalendarDayOff.date >= date(year, 1, 1), CalendarDayOff.date <= date(year, 12, 31)))
    listed += [CalendarDay(r.date, r.kind, r.name, True) for r in rows]
    return sorted(listed, key=lambda d: d.day)


def add_day_off(day: date, name: str, user: User, kind: str = "transfer") -> CalendarDayOff:
    """Add a weekday off (a decree transfer), refused for weekends and days already off; or,
    with ``kind`` ``working_day``, a working Saturday or Sunday (the decree's other half)."""
    name = name.strip()
    if not name:
        raise DayOffRefused("name_missing")
    calendar = working_calendar()
    if kind == WORKING_DAY:
        if day.weekday() < 5:
            raise DayOffRefused("weekday", day=day.isoformat())
        if calendar.is_working_day(day):
            raise DayOffRefused("already_working", day=day.isoformat())
    elif day.weekday() >= 5:
        raise DayOffRefused("weekend", day=day.isoformat())
    elif day in calendar.days_off:
        raise DayOffRefused("already_off", day=day.isoformat())
    row = CalendarDayOff(date=day, kind=kind, name=name[:DAY_OFF_NAME_MAX_LENGTH],
                         added_by=user.id)
    db.session.add(row)
    db.session.flush()
    audit.record("calendar.day_off_added", object_type="calendar_day_off", object_id=row.id,
                 details={"date": day.isoformat(), "kind": kind}, actor=user)
    return row
