"""Case queries (intake/queries.py) on their own: what a search term is taken for, case-number
lookup, the local whole days of a period, and the filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from core.extensions import db
from intake import queries
from intake.models import Case

ALMATY = ZoneInfo("Asia/Almaty")


@pytest.mark.parametrize(("q", "kind"), [
    ("2026-17", "number"), (" 2026-000017 ", "number"),
    ("140315600018", "iin"),        # a valid IIN
    ("140315600019", "phone"),      # twelve digits with a wrong check digit: not an IIN
    ("+7 (701) 123-45-67", "phone"), ("87011234567", "phone"),
    ("Әсел Қайратқызы", "name"), ("12345", "name"),
])
def test_what_a_search_term_is_taken_for(q: str, kind: str) -> None:
    assert queries.search_kind(q) == kind


def test_a_case_number_finds_its_case_whatever_its_zero_padding(app: Flask) -> None:
    wanted = Case(number="2026-000017", region="KZ-27")
    db.session.add_all([wanted, Case(number="2026-000170", region="KZ-27")])
    db.session.flush()
    query, kind = queries.apply_search(select(Case), "2026-17")
    assert kind == "number" and [c.id for c in db.session.scalars(query)] == [wanted.id]


def test_a_date_is_a_whole_local_day_and_a_time_is_taken_as_given() -> None:
    assert queries.period_bound("2026-11-29", ALMATY, end=False) == datetime(2026, 11, 29, tzinfo=ALMATY)
    assert queries.period_bound("2026-11-29", ALMATY, end=True) == datetime(2026, 11, 30, tzinfo=ALMATY)
    given = queries.period_bound("2026-11-29T10:00:00+05:00", ALMATY, end=True)
    assert given == datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        queries.period_bound("29.11.2026", ALMATY, end=False)


def test_filters_narrow_by_status_region_and_a_half_open_period(app: Flask) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [Case(number=f"2026-{i:06d}", region=region, status=status, opened_at=start + timedelta(days=day))
            for i, (region, status, day) in enumerate(
                [("KZ-27", "open", 0), ("KZ-27", "closed", 1), ("KZ-19", "open", 2), ("KZ-27", "open", 3)])]
    db.session.add_all(rows)
    db.session.flush()

    def found(**filters: object) -> list[str]:
        criteria = {"status": None, "region": None, "start": None, "end": None, **filters}
        query = queries.apply_filters(select(Case), **criteria).order_by(Case.number)  # type: ignore[arg-type]
        return [c.number for c in db.session.scalars(query)]

    assert found(status="open", region="KZ-27") == ["2026-000000", "2026-000003"]
    assert found(start=start + timedelta(days=1), end=start + timedelta(days=3)) == ["2026-000001", "2026-000002"]
    assert found() == [c.number for c in rows]
