"""Pre-aggregated dashboard figures over long periods (issue 13, referrals/supervision/
snapshots.py). The stated tolerance: exactly ``stats.timing`` at the snapshot's moment, which is
at most ``MAX_AGE`` before the page's; short periods stay live."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select

from core import reference
from core.extensions import db
from core.models import User
from referrals.supervision import dashboard, snapshots, stats
from tests.referrals.supervision.conftest import SignedIn
from tests.referrals.supervision.referral_rows import NOW, Data
from tests.sql import counting_statements

TZ = ZoneInfo("Asia/Almaty")
MONTH = stats.Period(NOW - timedelta(days=30), NOW + timedelta(hours=1))
WEEK = stats.Period(NOW - timedelta(days=7), NOW + timedelta(hours=1))


def _fill(data: Data) -> None:
    for hours in (1, 2, 3, 5, 8):
        data.referral(acknowledged=hours, accepted=hours + 1, status="accepted")
        data.referral("health", region="KZ-19", acknowledged=hours / 2, status="acknowledged",
                      created=NOW - timedelta(days=20))
    data.referral(status="sent")  # unacknowledged and past its deadline: a breach
    data.commit()


def test_a_long_period_is_exactly_the_live_statement_at_the_snapshot(data: Data) -> None:
    _fill(data)
    for scope in (stats.Scope(), stats.Scope("KZ-27"), stats.Scope("KZ-19")):
        figures = snapshots.timing(scope, MONTH, NOW)
        assert figures.as_of == NOW
        assert figures.rows == stats.timing(scope, MONTH, NOW)
        # read back from the table: the same figures, encoded and decoded
        again = snapshots.timing(scope, MONTH, NOW + timedelta(minutes=1))
        assert again.as_of == NOW and again.rows == figures.rows


def test_figures_are_at_most_max_age_old(data: Data) -> None:
    _fill(data)
    before = snapshots.timing(stats.Scope(), MONTH, NOW).rows
    data.referral(status="sent")
    data.commit()
    changed = stats.timing(stats.Scope(), MONTH, NOW)
    assert changed != before
    within = snapshots.timing(stats.Scope(), MONTH, NOW + snapshots.MAX_AGE)
    assert within.rows == before and within.as_of == NOW
    later = NOW + snapshots.MAX_AGE + timedelta(seconds=1)
    after = snapshots.timing(stats.Scope(), MONTH, later)
    assert after.as_of == later and after.rows == stats.timing(stats.Scope(), MONTH, later)
    assert sum(r.referrals for r in after.rows if r.total) == sum(
        r.referrals for r in before if r.total) + 1


def test_a_snapshot_from_the_future_is_not_used(data: Data) -> None:
    _fill(data)
    snapshots.timing(stats.Scope(), MONTH, NOW)
    earlier = NOW - timedelta(minutes=1)  # e.g. a clock stepped back on another host
    assert snapshots.timing(stats.Scope(), MONTH, earlier).as_of == earlier


def test_short_periods_stay_live(data: Data) -> None:
    _fill(data)
    first = snapshots.timing(stats.Scope(), WEEK, NOW)
    assert first.as_of is None
    data.referral(status="sent")
    data.commit()
    assert snapshots.timing(stats.Scope(), WEEK, NOW).rows == stats.timing(stats.Scope(), WEEK, NOW)
    assert db.session.scalar(select(func.count()).select_from(snapshots.TimingSnapshot)) == 0


def test_refresh_computes_the_long_shortcuts_of_every_scope(app: Flask, data: Data) -> None:
    _fill(data)
    done = snapshots.refresh(NOW, TZ)
    assert done == len(snapshots.REFRESHED_DAYS) * (1 + len(reference.regions()))
    choice = dashboard.choose_period({"from": "2026-10-22", "to": "2026-11-20"}, date(2026, 11, 20), TZ)
    with app.test_request_context("/"), counting_statements(db.engine) as seen:
        board = dashboard.build(stats.Scope(), choice, NOW + timedelta(minutes=2))
    assert board.timing_as_of == NOW
    assert not any("FROM referrals" in s and "percentile" in s.lower() for s in seen)
    assert board.totals == [r for r in stats.timing(stats.Scope(), choice.period, NOW) if r.total]


def test_refresh_drops_snapshots_computed_long_ago(data: Data) -> None:
    _fill(data)
    snapshots.timing(stats.Scope(), MONTH, NOW)
    snapshots.refresh(NOW + snapshots.KEEP + timedelta(minutes=1), TZ)
    scopes = db.session.scalars(select(snapshots.TimingSnapshot.period_start)).all()
    assert MONTH.start not in scopes


def test_the_cli_refreshes(app: Flask, data: Data) -> None:
    _fill(data)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["supervision", "refresh"])
    assert result.exit_code == 0, result.output
    assert "snapshots" in result.output


def test_the_page_says_as_of_when_for_a_long_period(data: Data, supervisor: User,
                                                    signed_in: SignedIn) -> None:
    _fill(data)
    client = signed_in(supervisor)
    page = client.get("/", query_string={"from": "2026-10-22", "to": "2026-11-20"}).get_data(as_text=True)
    assert 'id="timing-as-of"' in page
    page = client.get("/").get_data(as_text=True)
    assert 'id="timing-as-of"' not in page
