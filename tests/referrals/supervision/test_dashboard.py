"""The supervisor's home (issue 8 item 6): live queues, handoff timing with percentiles, breach
rates and server-side SVG charts, in a handful of statements whatever the data's size."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from referrals.supervision import charts, dashboard, display, stats
from tests.referrals.supervision.referral_rows import NOW, Data
from tests.sql import counting_statements

HOUR = 3600.0
WEEK = stats.Period(NOW - timedelta(days=7), NOW + timedelta(hours=1))


# ---- the figures ----------------------------------------------------------------------------


def _timing(rows: list[stats.Timing], agency: str, region: str | None = None) -> stats.Timing:
    return next(r for r in rows if r.agency == agency and r.total == (region is None)
                and (region is None or r.region == region))


def test_percentiles_and_breach_rates_per_agency_and_region(data: Data) -> None:
    for hours in (1, 2, 3, 4):  # West Kazakhstan police: acknowledged after 1 to 4 hours
        data.referral(acknowledged=hours, accepted=hours + 1, status="accepted")
    data.referral(region="KZ-19", acknowledged=10, status="acknowledged")  # Almaty police, late
    data.referral(status="sent")  # never acknowledged, due two days ago: breached
    data.referral(status="sent", created=NOW - timedelta(hours=1))  # not yet due: not counted
    data.referral(status="completed", acknowledged=0.5, accepted=0.5, acted=20, closed=30)
    data.referral(status="sent", created=NOW - timedelta(days=30))  # outside the period
    data.referral("health", acknowledged=1, status="declined")
    data.commit()

    rows = stats.timing(stats.Scope(), WEEK, NOW)
    police = _timing(rows, "police")
    assert police.referrals == 8
    # Acknowledged after 0.5, 1, 2, 3, 4 and 10 hours.
    assert police.acknowledge.p50 == pytest.approx(2.5 * HOUR)
    assert police.acknowledge.p90 == pytest.approx((4 + 0.5 * 6) * HOUR)  # between 4 and 10
    assert police.accept.p50 == pytest.approx(3 * HOUR)  # accepted after 0.5, 2, 3, 4, 5 hours
    assert police.complete.p50 == pytest.approx(30 * HOUR) and police.complete.p90 == pytest.approx(30 * HOUR)
    # Acknowledgement: due for 7 of 8 (the new one is not due yet); late: 4 h, 10 h, and never.
    assert (police.counts["ack_due"], police.counts["ack_breached"]) == (7, 3)
    assert police.ack_breach_rate == pytest.approx(3 / 7)
    # Action: due after 60 h, so only the completed referral (acted on in time) counts.
    assert (police.counts["action_due"], police.counts["action_breached"]) == (1, 0)

    west, almaty = _timing(rows, "police", "KZ-27"), _timing(rows, "police", "KZ-19")
    assert west.referrals == 7 and almaty.referrals == 1
    assert almaty.acknowledge.p50 == pytest.approx(10 * HOUR) and almaty.ack_breach_rate == 1.0
    health = _timing(rows, "health")
    assert health.counts["action_due"] == 0 and health.action_breach_rate is None
    assert [(r.agency, r.total) for r in rows][:2] == [("health", True), ("health", False)]


def test_accept_times_are_measured_to_acceptance(data: Data) -> None:
    for hours in (1, 2, 3, 4, 5):
        data.referral(acknowledged=hours / 2, accepted=hours, status="accepted")
    data.commit()
    police = _timing(stats.timing(stats.Scope(), WEEK, NOW), "police")
    assert police.accept.p50 == pytest.approx(3 * HOUR)
    assert police.accept.p90 == pytest.approx(4.6 * HOUR)
    assert police.acknowledge.p50 == pytest.approx(1.5 * HOUR)


@pytest.mark.postgres_only
def test_postgresql_computes_what_python_computes(data: Data) -> None:
    chance = random.Random(8)
    for _ in range(300):
        acknowledged = chance.choice([None, chance.uniform(0, 30)])
        accepted = None if acknowledged is None or chance.random() < 0.3 else acknowledged + chance.uniform(0, 5)
        acted = None if accepted is None or chance.random() < 0.4 else accepted + chance.uniform(0, 60)
        status = chance.choice(["completed", "accepted"]) if acted else (
            "accepted" if accepted else chance.choice(["sent", "acknowledged", "declined", "overridden"]))
        data.referral(chance.choice(["police", "health", "education"]),
                      region=chance.choice(["KZ-27", "KZ-19", None]), status=status,
                      created=NOW - timedelta(hours=chance.uniform(1, 160)),
                      ack_in=chance.uniform(1, 24), act_in=chance.uniform(24, 120),
                      acknowledged=acknowledged, accepted=accepted, acted=acted,
                      closed=(acted + 1) if acted is not None and status == "completed" else None)
    data.commit()
    for scope in (stats.Scope(), stats.Scope("KZ-27")):
        in_sql = stats.timing_in_sql(scope, WEEK, NOW)
        in_python = stats.timing_in_python(scope, WEEK, NOW)
        key = lambda r: (r.agency, r.total, r.region or "")  # noqa: E731
        assert len(in_sql) == len(in_python) > 3
        for a, b in zip(sorted(in_sql, key=key), sorted(in_python, key=key), strict=True):
            assert (a.agency, a.region, a.total, a.referrals, dict(a.counts)) == \
                (b.agency, b.region, b.total, b.referrals, dict(b.counts))
            for name in stats.MEASURES:
                for x, y in ((a.durations[name].p50, b.durations[name].p50),
                             (a.durations[name].p90, b.durations[name].p90)):
                    assert x == pytest.approx(y, abs=1e-3)


def test_live_queues_by_urgency_agency_and_district(data: Data) -> None:
    data.case("P1"), data.case("P1"), data.case("P3"), data.case(None)
    data.case("P1", status="closed")
    data.case("P2", region="KZ-19")
    data.referral(status="sent", district="KZ-27-TEREKTI")  # acknowledgement overdue
    data.referral(status="unassigned", created=NOW - timedelta(hours=1))  # awaiting, not yet due
    data.referral(status="accepted", acknowledged=1, accepted=1, district="KZ-27-TEREKTI",
                  act_in=24)  # action overdue
    data.referral(status="accepted", acknowledged=1, accepted=1, acted=2)  # acted on: fine
    data.referral("education", status="declined", acknowledged=1, mandatory=True)
    data.referral("education", status="declined", acknowledged=1, mandatory=False)
    data.referral("health", status="sent", region="KZ-19")
    data.referral(status="completed", acknowledged=1, accepted=1, acted=2, closed=3)
    data.commit()

    queues = stats.queues(stats.Scope(), NOW)
    # Each referral above opened its own case (status open, urgency P2) except where given.
    assert queues.open_by_urgency["P1"] == 2 and queues.open_by_urgency["P3"] == 1
    assert queues.open_by_urgency[""] == 1 and list(queues.open_by_urgency)[:4] == ["P1", "P2", "P3", "P4"]
    agencies = {row.agency: row for row in queues.agencies}
    police = agencies["police"]
    assert (police.awaiting, police.ack_overdue, police.action_overdue, police.to_reroute) == (2, 1, 1, 0)
    assert agencies["education"].to_reroute == 1 and agencies["health"].ack_overdue == 1
    districts = {(row.agency, row.district): row.overdue for row in queues.overdue_by_district}
    assert districts == {("police", "KZ-27-TEREKTI"): 2, ("health", None): 1}
    assert queues.overdue_by_district[0].district == "KZ-27-TEREKTI"
    assert [w.referral.status for w in queues.oldest_waiting] == ["sent", "sent"]

    west = stats.queues(stats.Scope("KZ-27"), NOW)
    assert "health" not in {row.agency for row in west.agencies if row.ack_overdue}
    assert west.open_cases == queues.open_cases - 2  # the KZ-19 case and the KZ-19 referral's case


def test_break_the_glass_openings_of_the_last_week(app: Flask, create_user: Any, data: Data,
                                                   clock: FrozenClock) -> None:
    from core import audit

    case = data.case()
    data.commit()
    user = create_user("supervisor", region="KZ-19")
    audit.record("btg.opened", object_type="case", object_id=case.id, actor=user,
                 details={"grant": "g1", "minutes": 30})
    db.session.commit()
    found = stats.recent_break_glass(clock.now())
    assert [(b.case_number, b.entry.actor_username) for b in found] == [(case.number, user.username)]
    assert found[0].expires_at == found[0].entry.occurred_at + timedelta(minutes=30)
    assert stats.recent_break_glass(clock.now() + timedelta(days=8)) == []


def test_the_dashboard_runs_a_fixed_handful_of_statements(app: Flask, data: Data) -> None:
    choice = dashboard.choose_period({}, date(2026, 11, 20), ZoneInfo("Asia/Almaty"))
    counted = []
    for size in (2, 20):
        for _ in range(size):
            data.referral(status="sent", acknowledged=None)
            data.referral("health", status="accepted", acknowledged=1, accepted=2)
        data.commit()
        db.session.expire_all()
        with app.test_request_context("/"), counting_statements(db.engine) as seen:
            dashboard.build(stats.Scope(), choice, NOW)
        # The figures' own statements; labels cost one look-up of the algorithm per request.
        counted.append(len([s for s in seen if "algorithm_versions" not in s]))
        assert len(seen) - counted[-1] <= 1
    assert counted[0] == counted[1] == 5, seen


# ---- the page -------------------------------------------------------------------------------


def test_the_supervisor_home_is_the_dashboard_with_charts_and_tables(
        data: Data, supervisor: User, signed_in: Any) -> None:
    data.referral(status="sent")
    data.referral("health", acknowledged=2, status="acknowledged")
    data.commit()
    response = signed_in(supervisor).get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<svg") == 4 and html.count('role="img"') == 4
    assert "<title" in html and 'class="chart-bar' in html
    assert " style=" not in html and "<script" not in html  # the CSP allows neither
    assert 'id="queues-h"' in html and 'id="timing-h"' in html and 'id="btg-h"' in html
    assert "Last 30 days" in html and 'value="2026-11-14"' in html  # the last seven days
    assert response.headers["Cache-Control"] == "no-store"


def test_operators_keep_their_queue_and_others_cannot_reach_the_dashboard(
        operator: User, create_user: Any, signed_in: Any) -> None:
    assert 'id="queues-h"' not in signed_in(operator).get("/").get_data(as_text=True)
    for role in ("operator", "auditor", "admin"):
        assert signed_in(create_user(role)).get("/supervision").status_code == 403, role


def test_a_wrong_period_is_explained_and_the_default_shown(supervisor: User, signed_in: Any) -> None:
    browser = signed_in(supervisor)
    for query, message in (({"from": "2026-13-01"}, "YYYY-MM-DD"),
                           ({"from": "2026-11-20", "to": "2026-11-01"}, "on or after"),
                           ({"from": "2020-01-01", "to": "2026-11-20"}, "two years")):
        response = browser.get("/supervision", query_string=query)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and message in html
        assert 'aria-invalid="true"' in html and 'value="2026-11-14"' in html


def test_a_regional_supervisor_sees_their_region_only(data: Data, create_user: Any,
                                                      signed_in: Any) -> None:
    data.referral(status="sent", region="KZ-19")
    data.referral(status="sent", region="KZ-27")
    data.commit()
    html = signed_in(create_user("supervisor", region="KZ-27")).get("/").get_data(as_text=True)
    timing = html.split('id="timing-h"', 1)[1].split('id="btg-h"', 1)[0]
    assert "Almaty" not in timing and "West Kazakhstan" in timing
    assert 'id="btg-number"' in html  # the way to a case outside the region


# ---- charts and formatting --------------------------------------------------------------------


def test_bar_lengths_follow_the_values_on_a_round_scale() -> None:
    chart = charts.bar_chart("c", "Title", [charts.Bar("a", 10, "10"), charts.Bar("b", 25, "25", marker=40),
                                           charts.Bar("c", 0, "0")])
    assert chart.ticks[-1].text == "50"  # 40 rounds up to 50
    widths = [bar.width for bar in chart.bars]
    assert widths[1] == pytest.approx(2.5 * widths[0]) and widths[2] == 0
    assert chart.bars[1].marker_x == pytest.approx(charts.PLOT_X + 0.8 * charts.PLOT_WIDTH)
    assert chart.height > len(chart.bars) * charts.ROW_HEIGHT
    long = charts.bar_chart("d", "T", [charts.Bar("x" * 50, 1, "1")], maximum=1.0)
    assert long.bars[0].label.endswith("…") and long.bars[0].full_label == "x" * 50
    assert long.bars[0].width == charts.PLOT_WIDTH
    assert charts.bar_chart("e", "T", []).empty


@pytest.mark.parametrize(("value", "expected"), [
    (0, 1.0), (0.3, 0.5), (7, 10), (10, 10), (11, 20), (240, 250), (4100, 5000)])
def test_round_scale_ends(value: float, expected: float) -> None:
    assert charts.nice_maximum(value) == expected


def test_percentile_cont_interpolates_like_postgresql() -> None:
    assert stats.percentile_cont([1, 2, 3, 4], 0.5) == 2.5
    assert stats.percentile_cont([4, 1, 3, 2], 0.9) == pytest.approx(3.7)
    assert stats.percentile_cont([7], 0.9) == 7
    assert stats.percentile_cont([], 0.5) is None


def test_durations_and_rates_read_well(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert display.duration(None) == "—"
        assert display.duration(59 * 60) == "59 min"
        assert display.duration(2.24 * HOUR) == "2.2 h"
        assert display.duration(2.26 * HOUR) == "2.3 h"
        assert display.duration(3 * 86400) == "3.0 d"
        assert display.rate(3 / 7) == "42.9%" and display.rate(None) == "—"
        assert re.fullmatch(r"1,234", display.count(1234))
