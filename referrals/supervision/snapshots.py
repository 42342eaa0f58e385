"""Handoff timing over long periods, pre-aggregated (issue 13): the supervisor's dashboard over
30 days or more reads the figures a sweep computed, not three million referrals.

The exact statement (``stats.timing``) sorts every referral of the period three times for the
percentiles; over 30 days of the whole country that is ~120,000 referrals and most of the
dashboard's time. For periods longer than ``LIVE_DAYS`` the figures are kept per (scope,
period) in ``supervision_timing_snapshots``: computed exactly by that same statement, then
reused while younger than ``MAX_AGE``. ``refresh`` (``senim supervision refresh``, run by the
same timer as the escalation sweep) recomputes the usual periods ending today for every scope,
so supervisors do not wait for it; any other long period is computed on its first view.

Tolerance, stated and tested (tests/referrals/supervision/test_snapshots.py): the figures are
exactly those of ``stats.timing`` at the snapshot's moment, which is at most ``MAX_AGE`` before
the page's; the page says as of when. Short periods (the live default, seven days) stay live.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import String, Text, UniqueConstraint, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core import reference
from core.clock import utcnow
from core.extensions import db
from core.ids import new_id
from core.models.base import IdMixin, UTCDateTime
from referrals.supervision import stats

LIVE_DAYS: Final = 8  # up to this long a period is computed live (the default is seven days)
MAX_AGE: Final = timedelta(minutes=5)
KEEP: Final = timedelta(days=2)  # snapshots unused this long are deleted by refresh
REFRESHED_DAYS: Final = (30, 90, 365)  # the dashboard's long shortcuts
ALL_REGIONS: Final = "*"


class TimingSnapshot(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "supervision_timing_snapshots"
    __table_args__ = (UniqueConstraint("scope", "period_start", "period_end"),)

    scope: Mapped[str] = mapped_column(String(8))  # a region code, or "*" for every region
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rows: Mapped[str] = mapped_column(Text)  # JSON, see _encode


@dataclass(frozen=True)
class Figures:
    rows: list[stats.Timing]
    as_of: datetime | None  # None: computed live for this page


def timing(scope: stats.Scope, period: stats.Period, now: datetime) -> Figures:
    """``stats.timing`` for the dashboard: live for short periods, else from a snapshot at most
    ``MAX_AGE`` old (computed now, and kept, when there is none)."""
    if period.end - period.start <= timedelta(days=LIVE_DAYS):
        return Figures(stats.timing(scope, period, now), None)
    key = _scope_key(scope)
    found = db.session.execute(
        select(TimingSnapshot.computed_at, TimingSnapshot.rows).where(
            TimingSnapshot.scope == key, TimingSnapshot.period_start == period.start,
            TimingSnapshot.period_end == period.end)).first()
    if found is not None and now - MAX_AGE <= found.computed_at <= now:
        return Figures(_decode(found.rows), found.computed_at)
    rows = stats.timing(scope, period, now)
    _store(key, period, now, rows)
    return Figures(rows, now)


def refresh(now: datetime, tz: ZoneInfo, today: date | None = None) -> int:
    """Recompute the long shortcut periods ending today for the whole helpline and each region;
    delete snapshots nobody used for ``KEEP``. Returns how many were computed."""
    # the dashboard's own period bounds; imported here: the dashboard imports this module
    from referrals.supervision.dashboard import _period

    today = today or now.astimezone(tz).date()
    scopes = [stats.Scope(None), *(stats.Scope(region) for region in sorted(reference.regions()))]
    done = 0
    for days in REFRESHED_DAYS:
        period = _period(today - timedelta(days=days - 1), today, tz).period
        for scope in scopes:
            stats.prepare_for_reports()
            _store(_scope_key(scope), period, now, stats.timing(scope, period, now))
            db.session.rollback()  # end the read transaction (and its SET LOCALs)
            done += 1
    with db.engine.begin() as connection:
        connection.execute(delete(TimingSnapshot).where(TimingSnapshot.computed_at < now - KEEP))
    return done


def _scope_key(scope: stats.Scope) -> str:
    return scope.region or ALL_REGIONS


def _store(key: str, period: stats.Period, now: datetime, rows: list[stats.Timing]) -> None:
    """Insert or replace, on a connection of its own: the page's transaction only reads, and
    two hosts computing the same snapshot at once must not fail the page."""
    encoded = _encode(rows)
    where = (TimingSnapshot.scope == key, TimingSnapshot.period_start == period.start,
             TimingSnapshot.period_end == period.end)
    with db.engine.begin() as connection:
        changed = connection.execute(update(TimingSnapshot).where(*where)
                                     .values(computed_at=now, rows=encoded)).rowcount
        if changed:
            return
        try:
            with connection.begin_nested():
                connection.execute(insert(TimingSnapshot).values(
                    id=new_id(), scope=key, period_start=period.start, period_end=period.end,
                    computed_at=now, rows=encoded))
        except IntegrityError:
            pass  # another host stored the same figures a moment ago


def _encode(rows: list[stats.Timing]) -> str:
    return json.dumps([{
        "agency": row.agency, "region": row.region, "total": row.total, "referrals": row.referrals,
        "durations": {name: [p.p50, p.p90] for name, p in row.durations.items()},
        "counts": dict(row.counts),
    } for row in rows], separators=(",", ":"))


def _decode(text: str) -> list[stats.Timing]:
    found: list[dict[str, Any]] = json.loads(text)
    return [stats.Timing(
        agency=row["agency"], region=row["region"], total=row["total"], referrals=row["referrals"],
        durations={name: stats.Percentiles(*values) for name, values in row["durations"].items()},
        counts=row["counts"]) for row in found]


@click.group("supervision")
def supervision_cli() -> None:
    """The supervisor's figures."""


@supervision_cli.command("refresh")
@with_appcontext
def refresh_command() -> None:
    """Recompute the dashboard's long-period figures (30, 90, 365 days) for every scope. Run it
    every few minutes (within MAX_AGE), e.g. with the escalation sweep; safe on several hosts."""
    done = refresh(utcnow(), current_app.config["SENIM"].tz)
    click.echo(f"{done} snapshots of the supervisor's figures computed")
