"""``senim reports refresh``, ``senim exports sweep``, ``senim jobs schema|worker``."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from core import audit
from core.clock import utcnow
from core.extensions import db
from referrals.reports import aggregate, exports, jobs


@click.group("reports")
def reports_cli() -> None:
    """Reports upward."""


@reports_cli.command("refresh")
@click.option("--from", "first", default=None, metavar="YYYY-MM",
              help="the first month to recompute (default: the last three months)")
@with_appcontext
def refresh(first: str | None) -> None:
    """Recompute the monthly figures from a month up to the current one."""
    tz, now = current_app.config["SENIM"].tz, utcnow()
    today = now.astimezone(tz).date()
    try:
        start = date.fromisoformat(f"{first}-01") if first else _months_back(today, 2)
    except ValueError:
        raise click.BadParameter("write the month as YYYY-MM", param_hint="--from") from None
    months = aggregate.months_between(start, today)
    with click.progressbar(months, label="months") as bar:
        for month in bar:
            aggregate.compute_month(month, now, tz)
            db.session.commit()
    audit.record("report.refreshed", details={"first": start.isoformat()[:7], "months": len(months)})
    db.session.commit()
    click.echo(f"{len(months)} months computed")


def _months_back(today: date, count: int) -> date:
    month = today.replace(day=1)
    for _index in range(count):
        month = date(month.year - (month.month == 1), 12 if month.month == 1 else month.month - 1, 1)
    return month


@click.group("exports")
def exports_cli() -> None:
    """Exports."""


@exports_cli.command("sweep")
@with_appcontext
def sweep() -> None:
    """Delete the files of expired exports (run from cron, e.g. hourly)."""
    click.echo(f"{exports.sweep(utcnow())} exports expired")


@click.group("jobs")
def jobs_cli() -> None:
    """The background job queue (procrastinate, on PostgreSQL)."""


@jobs_cli.command("schema")
@with_appcontext
def schema() -> None:
    """Create the job queue's tables (once, after `senim db upgrade`)."""
    if current_app.config["SENIM"].is_sqlite:
        raise click.ClickException("the job queue needs PostgreSQL; on SQLite jobs run in-process")
    click.echo("job queue tables created" if jobs.apply_schema(current_app) else
               "job queue tables already exist")


@jobs_cli.command("worker")
@click.option("--concurrency", default=1, show_default=True, help="jobs run at once by this worker")
@with_appcontext
def worker(concurrency: int) -> None:
    """Run a worker that takes export jobs from the queue (any number, on any host)."""
    if current_app.config["SENIM"].is_sqlite:
        raise click.ClickException("the job queue needs PostgreSQL; on SQLite jobs run in-process")
    jobs.run_worker(current_app._get_current_object(), concurrency=concurrency)  # type: ignore[attr-defined]
