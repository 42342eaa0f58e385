"""The report's numbers against figures computed here, from the seeded list itself (not by the
application's queries): contacts by channel, type and category, repeat contacts, referrals by
agency and service, outcomes, missed deadlines and the median and 90th percentile times."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from core.clock import FrozenClock
from core.extensions import db
from intake.models import Contact
from referrals.reports import aggregate, indicators
from referrals.reports.indicators import ReportPeriod
from referrals.reports.models import ReportCell, ReportMonth
from tests.reading import get_row
from tests.referrals.reports.conftest import NOV, NOW, OCT, SEP, Seed, SeedReferral

TZ = ZoneInfo("Asia/Almaty")
OCTOBER = ReportPeriod(2026, 10)


def _in(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment < end


def expected_contacts(seed: Seed, region: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    rows = [c for c in seed.contacts if _in(c.received_at, start, end) and region in (None, c.region)]
    earlier_of_case: dict[int, list[datetime]] = {}
    for c in seed.contacts:
        if c.case_key is not None:
            earlier_of_case.setdefault(c.case_key, []).append(c.received_at)
    repeats = sum(1 for c in rows if c.case_key is not None
                  and any(t < c.received_at for t in earlier_of_case[c.case_key]))
    categories: Counter[str] = Counter()
    for c in rows:
        for main in {code.split(".")[0] for code in c.categories}:
            categories[main] += 1
    return {"total": len(rows), "repeat": repeats, "channels": Counter(c.channel for c in rows),
            "types": Counter(c.contact_type for c in rows), "categories": categories}


def _percentile(values: list[float], fraction: float) -> float | None:
    """percentile_cont, written out: linear interpolation between the nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ack_breached(r: SeedReferral) -> bool:
    settled = r.acknowledged_at or r.closed_at or NOW
    return settled > r.ack_due_at


def _action_breached(r: SeedReferral) -> bool:
    if r.status == "declined":
        return False
    settled = r.first_action_at or r.closed_at or NOW
    return settled > r.action_due_at


def expected_referrals(seed: Seed, region: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    rows = [r for r in seed.referrals if _in(r.created_at, start, end) and region in (None, r.region)]
    out: dict[str, Any] = {"agencies": Counter(r.agency for r in rows),
                           "services": Counter((r.agency, r.service) for r in rows),
                           "outcomes": Counter((r.agency, r.outcome) for r in rows if r.outcome),
                           "breaches": {}, "timing": {}}
    for agency in {r.agency for r in rows}:
        mine = [r for r in rows if r.agency == agency]
        out["breaches"][agency] = {
            "ack_due": sum(1 for r in mine if r.acknowledged_at or r.closed_at or r.ack_due_at < NOW),
            "ack_breached": sum(1 for r in mine if _ack_breached(r)),
            "action_due": sum(1 for r in mine if r.status != "declined"
                              and (r.first_action_at or r.closed_at or r.action_due_at < NOW)),
            "action_breached": sum(1 for r in mine if _action_breached(r)),
        }
        ack = [(r.acknowledged_at - r.created_at).total_seconds() for r in mine if r.acknowledged_at]
        done = [(r.closed_at - r.created_at).total_seconds() for r in mine
                if r.status == "completed" and r.closed_at]
        out["timing"][agency] = (_percentile(ack, .5), _percentile(ack, .9),
                                 _percentile(done, .5), _percentile(done, .9))
    return out


def _check(figures: indicators.Figures, contacts: dict[str, Any], referrals: dict[str, Any]) -> None:
    assert figures.contacts == contacts["total"]
    assert figures.repeat_contacts == contacts["repeat"]
    assert figures.channels == dict(contacts["channels"])
    assert figures.types == dict(contacts["types"])
    assert figures.categories == dict(contacts["categories"])
    assert figures.referrals == dict(referrals["agencies"])
    assert figures.services == dict(referrals["services"])
    assert figures.outcomes == dict(referrals["outcomes"])
    assert figures.breaches == referrals["breaches"]
    for agency, (ack50, ack90, done50, done90) in referrals["timing"].items():
        row = figures.timing[agency]
        # the seeded times are whole minutes (under 2 h) or ten minutes: exact in the buckets
        assert (row.acknowledge_p50, row.acknowledge_p90) == (pytest.approx(ack50), pytest.approx(ack90))
        assert (row.complete_p50, row.complete_p90) == (pytest.approx(done50), pytest.approx(done90))


@pytest.mark.parametrize("region", ["KZ-27", "KZ-19", None])
def test_a_month_s_figures_match_the_seeded_data(seeded: Seed, region: str | None) -> None:
    report = indicators.build(region, OCTOBER, NOW, TZ)
    _check(report.current, expected_contacts(seeded, region, OCT, NOV),
           expected_referrals(seeded, region, OCT, NOV))
    _check(report.previous, expected_contacts(seeded, region, SEP, OCT),
           expected_referrals(seeded, region, SEP, OCT))
    assert report.current.contacts > 0 and report.previous.contacts > 0


def test_the_dataset_exercises_what_it_should(seeded: Seed) -> None:
    """Guards the test above against a seed that proves nothing."""
    october = expected_contacts(seeded, None, OCT, NOV)
    assert october["repeat"] > 0 and len(october["categories"]) >= 3
    assert any(c.region == "-" for c in seeded.contacts)  # caseless, no desk region
    refs = expected_referrals(seeded, None, OCT, NOV)
    assert any(row["ack_breached"] for row in refs["breaches"].values())
    assert any(row["action_breached"] for row in refs["breaches"].values())


def test_months_follow_local_time(seeded: Seed) -> None:
    """A contact at 01:00 on 1 October in Almaty (30 September in UTC) counts in October."""
    first = min(c.received_at for c in seeded.contacts if c.received_at >= OCT)
    assert first.astimezone(TZ).day == 1 and first.day == 30
    report = indicators.build(None, OCTOBER, NOW, TZ)
    assert report.current.contacts == sum(1 for c in seeded.contacts if OCT <= c.received_at < NOV)


def test_the_annual_report_adds_up_its_months_and_lists_every_region(seeded: Seed) -> None:
    year = indicators.build(None, ReportPeriod(2026), NOW, TZ)
    months = [indicators.build(None, ReportPeriod(2026, m), NOW, TZ) for m in (9, 10)]
    assert year.current.contacts == sum(m.current.contacts for m in months) == len(seeded.contacts)
    assert year.current.referral_total == len(seeded.referrals)
    assert year.previous.contacts == 0
    regions = {row.region: row for row in year.regions}
    assert len([code for code in regions if code.startswith("KZ-")]) == 20
    assert regions["KZ-27"].contacts == sum(1 for c in seeded.contacts if c.region == "KZ-27")
    assert regions["-"].contacts == sum(1 for c in seeded.contacts if c.region == "-")
    assert sum(row.contacts for row in year.regions) == len(seeded.contacts)


def test_settled_months_are_reused_and_recent_ones_recomputed(app: Flask, seeded: Seed,
                                                              clock: FrozenClock) -> None:
    indicators.build("KZ-27", OCTOBER, NOW, TZ)
    assert get_row(ReportMonth, OCTOBER.first_month).computed_at == NOW
    # October ended three weeks ago: recent, reused for a while, then computed again
    assert aggregate.stale_months(OCTOBER.months, NOW + timedelta(minutes=5), TZ) == []
    later = NOW + timedelta(hours=1)
    assert aggregate.stale_months(OCTOBER.months, later, TZ) == OCTOBER.months
    # computed long after its end, a month is settled for good
    far = NOW + timedelta(days=90)
    aggregate.ensure(OCTOBER.months, far, TZ)
    assert aggregate.stale_months(OCTOBER.months, far + timedelta(days=400), TZ) == []


def test_a_new_contact_shows_once_the_month_is_recomputed(app: Flask, seeded: Seed,
                                                          create_user: Any) -> None:
    before = indicators.build(None, OCTOBER, NOW, TZ).current.contacts
    db.session.add(Contact(channel="email", contact_type="information", language="ru",
                           received_at=OCT + timedelta(days=3), categories=[], flags=[],
                           submitted_by=create_user("operator").id))
    db.session.commit()
    assert indicators.build(None, OCTOBER, NOW, TZ).current.contacts == before  # still fresh
    later = NOW + aggregate.FRESH_FOR + timedelta(seconds=1)
    report = indicators.build(None, OCTOBER, later, TZ)
    assert report.current.contacts == before + 1
    assert report.current.channels["email"] == 1


def test_no_cell_names_a_person(seeded: Seed) -> None:
    indicators.build(None, OCTOBER, NOW, TZ)
    keys = " ".join(f"{c.metric} {c.key} {c.region}" for c in db.session.query(ReportCell))
    assert seeded.case_numbers[0] not in keys and "Тестова" not in keys


def test_percentiles_from_buckets_interpolate_like_percentile_cont() -> None:
    assert aggregate.percentile({60: 1, 120: 1, 600: 2}, 0.5) == pytest.approx(360)
    assert aggregate.percentile({60: 3}, 0.9) == 60
    assert aggregate.percentile({}, 0.5) is None
    values = [60.0, 120.0, 600.0, 600.0]
    assert aggregate.percentile({60: 1, 120: 1, 600: 2}, 0.9) == pytest.approx(statistics.quantiles(
        values, n=10, method="inclusive")[8])


@pytest.mark.parametrize(("text", "due", "national"), [
    ("2026-10", "2026-11-10", "2026-11-25"), ("2026-12", "2027-01-10", "2027-01-25"),
    ("2026", "2027-01-10", "2027-01-25")])
def test_periods_and_their_due_dates(text: str, due: str, national: str) -> None:
    period = ReportPeriod.parse(text)
    assert period.code == text
    assert period.due().isoformat() == due and period.due(national=True).isoformat() == national


@pytest.mark.parametrize("text", ["2026-13", "26-01", "2026-1", "", "1999", "2026-10; drop"])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(indicators.BadPeriod):
        ReportPeriod.parse(text)
