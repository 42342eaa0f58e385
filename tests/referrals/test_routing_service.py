"""The engine inside the application: algorithm versions, the working calendar and the
deployment's time zone (routing.md §4; issue 5 items 2 and 3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from core.roles import Role
from referrals.models import AlgorithmVersion, CalendarDayOff
from referrals.routing import AlgorithmError, default_algorithm
from referrals.routing_app import service as routing_service
from referrals.routing_app.service import DayOffRefused, PublishRefused, UnknownVersion
from tests.referrals.algorithm_versions import BULLYING_P3, FRIDAY_MORNING, modified_document, publish_version


@pytest.fixture
def admin(create_user: Any) -> User:
    user: User = create_user(Role.ADMIN)
    return user


def _local(decision_time: datetime) -> str:
    return decision_time.astimezone(routing_service.timezone()).isoformat(timespec="minutes")


# ---- versions -----------------------------------------------------------------------------------


def test_without_a_published_version_the_bundled_default_routes(app: Flask) -> None:
    assert routing_service.current_algorithm() is default_algorithm()
    assert routing_service.decide(BULLYING_P3).algorithm_version == "2026.2"
    # 2026.1 stays listed (bundled, never stored here): its decisions remain explainable
    assert [(e.version, e.is_current) for e in routing_service.versions()] == [
        ("2026.2", True), ("2026.1", False)]
    assert routing_service.algorithm_by_version("2026.1").version == "2026.1"


def test_publishing_makes_the_new_version_current_and_keeps_the_old_one(
        app: Flask, admin: User) -> None:
    row = publish_version(admin)
    db.session.commit()
    assert row.is_current and row.published_by == admin.id and row.reason == "Order 42"
    current = routing_service.current_algorithm()
    assert current.version == "2026.8"
    decision = routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING)
    assert (decision.algorithm_version, decision.urgency) == ("2026.8", "P2")
    old = routing_service.algorithm_by_version("2026.2")
    assert old.digest == default_algorithm().digest
    assert old.rules[11].min_urgency == "P3" and current.rules[11].min_urgency == "P2"
    versions = routing_service.versions()
    assert [(v.version, v.is_current) for v in versions] == [("2026.8", True), ("2026.2", False), ("2026.1", False)]
    # The bundled default was stored when it stopped being current, so a later release that
    # bundles another default cannot make its decisions unexplainable.
    assert versions[1].row is not None and versions[1].row.document == default_algorithm().source_text


def test_a_second_publication_replaces_the_current_one(app: Flask, admin: User) -> None:
    publish_version(admin, "2026.8")
    publish_version(admin, "2026.9")
    db.session.commit()
    current = db.session.scalars(select(AlgorithmVersion.version).where(AlgorithmVersion.is_current))
    assert list(current) == ["2026.9"]
    assert routing_service.algorithm_by_version("2026.8").version == "2026.8"


def test_publication_is_audited_with_its_reason(app: Flask, admin: User) -> None:
    row = publish_version(admin, reason="Ministry order 17 of 2026")
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "routing.algorithm_published")).one()
    assert (entry.object_id, entry.reason, entry.actor_id) == (row.id, "Ministry order 17 of 2026",
                                                               admin.id)
    assert '"version":"2026.8"' in (entry.details or "").replace(" ", "")


@pytest.mark.parametrize(("document", "reason", "code"), [
    (lambda: default_algorithm().source_text, "again", "identical"),
    (lambda: modified_document("2026.2"), "same number", "version_exists"),
    (lambda: modified_document("2026.8"), "   ", "reason_missing"),
])
def test_publication_refusals(app: Flask, admin: User, document: Any, reason: str,
                              code: str) -> None:
    with pytest.raises(PublishRefused) as refused:
        routing_service.publish(document(), reason, admin)
    assert refused.value.code == code
    assert db.session.scalars(select(AlgorithmVersion)).all() == []


def test_an_existing_version_number_is_refused_even_with_other_content(
        app: Flask, admin: User) -> None:
    publish_version(admin, "2026.8")
    with pytest.raises(PublishRefused) as refused:
        routing_service.publish(modified_document("2026.8", bullying_min="P1"), "redo", admin)
    assert refused.value.code == "version_exists"


def test_an_invalid_document_names_its_problems_and_publishes_nothing(
        app: Flask, admin: User) -> None:
    broken = modified_document("2026.8").replace("lead: education", "lead: nobody", 1)
    with pytest.raises(AlgorithmError) as error:
        routing_service.publish(broken, "try", admin)
    assert any("unknown agency 'nobody'" in problem for problem in error.value.problems)
    assert db.session.scalars(select(AlgorithmVersion)).all() == []


def test_an_unknown_version_is_an_error(app: Flask) -> None:
    with pytest.raises(UnknownVersion):
        routing_service.algorithm_by_version("1999.1")


# ---- time zone ----------------------------------------------------------------------------------


@pytest.fixture
def tokyo(app: Flask) -> Iterator[None]:
    config = app.config["SENIM"]
    app.config["SENIM"] = config.with_overrides(timezone="Asia/Tokyo")
    try:
        yield
    finally:
        app.config["SENIM"] = config


def test_decision_times_carry_the_deployment_offset(app: Flask) -> None:
    body = routing_service.decision_json(routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING))
    assert body["referrals"][0]["ack_due_at"] == "2026-11-23T10:00:00+05:00"


def test_senim_timezone_moves_working_days_and_offsets(app: Flask, tokyo: None) -> None:
    # 05:00 UTC is 14:00 in Tokyo: the same local time on the next working day.
    body = routing_service.decision_json(routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING))
    assert body["referrals"][0]["ack_due_at"] == "2026-11-23T14:00:00+09:00"


# ---- the working calendar -----------------------------------------------------------------------


def test_a_decree_transfer_moves_a_p3_deadline(app: Flask, admin: User) -> None:
    before = routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING).referrals[0]
    assert (_local(before.ack_due_at), _local(before.action_due_at)) == (
        "2026-11-23T10:00+05:00", "2026-11-25T10:00+05:00")
    routing_service.add_day_off(date(2026, 11, 23), "Decree 123: day off moved", admin)
    db.session.commit()
    after = routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING).referrals[0]
    assert (_local(after.ack_due_at), _local(after.action_due_at)) == (
        "2026-11-24T10:00+05:00", "2026-11-26T10:00+05:00")
    row = db.session.scalars(select(CalendarDayOff)).one()
    assert (row.kind, row.added_by) == ("transfer", admin.id)
    assert db.session.scalars(select(AuditEntry.action)).all()[-1] == "calendar.day_off_added"


@pytest.mark.parametrize(("day", "name", "code"), [
    (date(2026, 11, 21), "Saturday", "weekend"),
    (date(2026, 12, 16), "Independence Day again", "already_off"),
    (date(2026, 11, 23), "  ", "name_missing"),
])
def test_days_off_that_make_no_sense_are_refused(app: Flask, admin: User, day: date, name: str,
                                                 code: str) -> None:
    with pytest.raises(DayOffRefused) as refused:
        routing_service.add_day_off(day, name, admin)
    assert refused.value.code == code


def test_a_day_added_twice_is_refused(app: Flask, admin: User) -> None:
    routing_service.add_day_off(date(2026, 11, 23), "Decree", admin)
    with pytest.raises(DayOffRefused):
        routing_service.add_day_off(date(2026, 11, 23), "Decree", admin)


def test_the_calendar_lists_data_and_added_days(app: Flask, admin: User) -> None:
    routing_service.add_day_off(date(2026, 11, 23), "Decree", admin)
    days = routing_service.days_off_in(2026)
    assert [d.day for d in days] == sorted(d.day for d in days)
    assert {(d.day, d.added) for d in days} >= {(date(2026, 11, 23), True),
                                                (date(2026, 12, 16), False)}


def test_an_uncovered_year_counts_weekends_only_and_warns(app: Flask, clock: FrozenClock,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    assert routing_service.uncovered_years_warning() == ()
    # Wednesday 1 January 2031, 10:00 in Almaty. 2031 is not in the calendar: 2 January, a
    # holiday in every covered year, counts as a working day, and the gap is reported.
    clock.set(datetime(2031, 1, 1, 5, 0, tzinfo=UTC))
    facts = {**BULLYING_P3}
    decision = routing_service.decide(facts)
    assert decision.calendar_warnings == (2031,)
    assert _local(decision.referrals[0].ack_due_at) == "2031-01-02T10:00+05:00"
    assert _local(decision.referrals[0].action_due_at) == "2031-01-06T10:00+05:00"
    assert "2031" in caplog.text
    assert routing_service.uncovered_years_warning() == (2031, 2032)


def test_next_year_missing_is_announced_ahead(app: Flask, clock: FrozenClock) -> None:
    clock.set(datetime(2030, 6, 1, tzinfo=UTC))
    assert routing_service.uncovered_years_warning() == (2031,)


def test_the_database_holds_at_most_one_current_version(app: Flask) -> None:
    from sqlalchemy.exc import IntegrityError

    for version in ("2026.7", "2026.8"):
        db.session.add(AlgorithmVersion(version=version, document="-", digest=version, reason="r",
                                        is_current=True))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
