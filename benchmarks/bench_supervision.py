"""Latency of the supervisor's dashboard on the national dataset (a million contacts, three
million referrals, a million audit entries; benchmarks/dataset.py), on PostgreSQL. Goals: at
most 300 ms per dashboard page (p95) for the whole country, over the default seven days and
over 30 days (issue 13).

Run: ``.venv/bin/python benchmarks/bench_supervision.py [--runs 20]`` (inside ``make bench`` it
uses the runner's dataset, ``SENIM_BENCH_DATASET_URL``; alone it seeds or reuses its own).

It times what a supervisor waits for, p50 and p95 over ``--runs`` runs each: the whole
dashboard page (queries and rendering, as ``/`` serves it) for a supervisor of the whole
helpline and for a regional one, with the last seven and the last 30 days, and each of its
statements alone. Over 30 days the page reads its timing figures from a snapshot
(referrals/supervision/snapshots.py: exact at its moment, at most five minutes old); the
warm-up run computes it when there is none, as the first view after a refresh would, and the
exact statement it runs is timed on its own below. Audit-chain verification speed is measured
by bench_audit.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from sqlalchemy.engine import make_url

from benchmarks.dataset import NOW, REGIONAL, SUPERVISOR, dataset_app, server_reachable
from benchmarks.figures import dataset, figure
from core.extensions import db
from core.models import User

GOAL_MS = 300


# ---- timing -------------------------------------------------------------------------------------


def timed(runs: int, action: Callable[[], Any]) -> tuple[float, float]:
    """(p50, p95) in milliseconds; a first run warms the caches and is not counted."""
    action()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        samples.append((time.perf_counter() - began) * 1000)
        db.session.remove()  # each run starts like a new request: nothing cached in the session
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def report(name: str, figures: tuple[float, float], goal: str | None = None) -> None:
    """A line of detail; with ``goal``, also the figure (p95 against GOAL_MS) under that name."""
    p50, p95 = figures
    print(f"  {name:<52} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms", flush=True)
    if goal is not None:
        figure(goal, f"p95 {p95:.0f} ms (p50 {p50:.0f})", f"p95 <= {GOAL_MS} ms", p95 <= GOAL_MS)


def measure(app: Any, runs: int) -> None:
    from flask import g

    from referrals.supervision import dashboard, snapshots, stats, views

    tz = app.config["SENIM"].tz
    today = NOW.astimezone(tz).date()
    national = db.session.scalar(select(User).where(User.username == SUPERVISOR))
    regional = db.session.scalar(select(User).where(User.username == REGIONAL))
    pages = ((national, "all regions", 7), (regional, "one region (KZ-27)", 7),
             (national, "all regions", 30), (regional, "one region (KZ-27)", 30))
    for user, label, days in pages:
        query = {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}
        with app.test_request_context("/", query_string=query, headers={"Accept-Language": "ru"}):
            def page(user: User = user) -> str:
                fresh = db.session.get(User, user.id)
                g.user = g._login_user = fresh
                return views.supervisor_home(fresh)  # type: ignore[arg-type]

            html = page()
            assert "<svg" in html and "chart-bar" in html
            goal = f"supervisor dashboard, whole country, {days} days" if user is national else None
            report(f"dashboard page, {label}, last {days} days", timed(runs, page), goal)
    scope = stats.Scope()
    with app.test_request_context("/", headers={"Accept-Language": "ru"}):
        def step(action: Callable[[], Any]) -> Callable[[], Any]:
            def run() -> Any:
                stats.prepare_for_reports()
                return action()
            return run

        report("  queues (3 statements)", timed(runs, step(lambda: stats.queues(scope, NOW))))
        for days in (7, 30):
            period = dashboard.choose_period(
                {"from": (today - timedelta(days=days - 1)).isoformat()}, today, tz).period
            report(f"  timing and breaches, {days} days (1 statement)",
                   timed(runs, step(lambda period=period: stats.timing(scope, period, NOW))))
        # What the 30-day page reads instead (referrals/supervision/snapshots.py); the exact
        # statement above is what `senim supervision refresh` runs every few minutes.
        report("  the same, 30 days, from its snapshot (1 statement)",
               timed(runs, step(lambda period=period: snapshots.timing(scope, period, NOW))))
        report("  recent break-the-glass (1 statement)",
               timed(runs, step(lambda: stats.recent_break_glass(NOW))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    arguments = parser.parse_args()
    if not server_reachable():
        print("PostgreSQL is not reachable (set SENIM_DATABASE_URL to a postgresql:// server)")
        raise SystemExit(1)
    url = dataset()
    with dataset_app(url) as app:
        print(f"database: postgresql ({make_url(url).database})")
        print(f"timings over {arguments.runs} runs each (after one warm-up run):")
        measure(app, arguments.runs)


if __name__ == "__main__":
    main()
