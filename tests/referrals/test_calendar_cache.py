"""The calendar of days off is kept per process (issue 13), like the directory
(core/reference_cache.py): read from its table once per version, and every change, through the
application, in this transaction, or by another process that bumps the stored version, is seen
by the next decision."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import text

from core.extensions import db
from core.ids import new_id
from core.models import User
from core.roles import Role
from referrals.models import CalendarDayOff
from referrals.routing_app import service as routing_service
from tests.sql import counting_statements

DAY = date(2026, 11, 23)  # a Monday


@pytest.fixture
def admin(create_user: Callable[..., User]) -> User:
    return create_user(Role.ADMIN)


def _reads_of_the_table() -> int:
    with counting_statements(db.engine) as seen:
        routing_service.working_calendar()
    return sum("FROM calendar_days_off" in s for s in seen)


def test_the_days_are_read_once_per_version(app: Flask, admin: User) -> None:
    routing_service.working_calendar()
    assert _reads_of_the_table() == 0
    routing_service.add_day_off(DAY, "Decree", admin)
    db.session.commit()
    assert _reads_of_the_table() == 1  # changed: read again, then kept
    assert DAY in routing_service.working_calendar().days_off
    assert _reads_of_the_table() == 0


def test_a_day_added_by_another_process_is_seen(app: Flask, admin: User) -> None:
    assert routing_service.working_calendar().is_working_day(DAY)
    db.session.commit()
    # What another host's flush does: the row and the version bump, no event here.
    with db.engine.begin() as connection:
        connection.execute(CalendarDayOff.__table__.insert().values(
            id=new_id(), date=DAY, kind="transfer", name="Decree", added_by=admin.id,
            added_at=datetime(2026, 11, 20, 5, 0, tzinfo=UTC)))
        connection.execute(text("INSERT INTO counters (name, value) VALUES ('calendar', 1)"))
    assert not routing_service.working_calendar().is_working_day(DAY)


def test_an_uncommitted_day_counts_in_its_transaction_only(app: Flask, admin: User) -> None:
    assert routing_service.working_calendar().is_working_day(DAY)
    routing_service.add_day_off(DAY, "Decree", admin)
    assert not routing_service.working_calendar().is_working_day(DAY)
    db.session.rollback()
    assert routing_service.working_calendar().is_working_day(DAY)
