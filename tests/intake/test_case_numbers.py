"""Case numbers: year-prefixed and consecutive. On PostgreSQL the counter commits on a
connection of its own, in one statement that does not wait for the disk (intake/service.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select, text

from core.extensions import db
from intake.models import Counter
from intake.service import _allocate_postgresql, next_case_number

NOW = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)  # a year no other test numbers cases in


def test_numbers_are_consecutive_within_a_year(app: Flask) -> None:
    first = next_case_number(NOW)
    second = next_case_number(NOW)
    assert first.startswith("2031-") and len(first) == len("2031-000001")
    assert int(second[5:]) == int(first[5:]) + 1
    assert next_case_number(NOW.replace(year=2032)).startswith("2032-")


@pytest.mark.postgres_only
def test_the_counter_commits_apart_from_the_request(app: Flask) -> None:
    taken = next_case_number(NOW)
    db.session.rollback()  # the submission that asked for it failed: the number stays taken
    assert int(next_case_number(NOW)[5:]) == int(taken[5:]) + 1
    with db.engine.connect() as other:  # committed: another connection sees the value
        value = other.scalar(select(Counter.value).where(Counter.name == "case-2031"))
    assert value == int(taken[5:]) + 1


@pytest.mark.postgres_only
def test_one_statement_allocates_without_waiting_for_the_disk(app: Flask) -> None:
    with db.engine.connect() as connection:  # in a transaction, to look before it commits
        assert connection.scalar(text("SHOW synchronous_commit")) == "on"
        values = [_allocate_postgresql(connection, "test-allocation") for _ in range(3)]
        assert connection.scalar(text("SHOW synchronous_commit")) == "off"
        connection.rollback()
    assert values == [1, 2, 3]
