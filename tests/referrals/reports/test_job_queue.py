"""The job queue on PostgreSQL: an export deferred to procrastinate is taken and run by a worker
(``senim jobs worker``), with its progress and audit entries, as on several hosts."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from core.audit.models import AuditEntry
from core.extensions import db
from referrals.reports import exports, jobs
from referrals.reports.indicators import ReportPeriod
from referrals.reports.models import ExportJob
from tests.reading import get_row
from tests.referrals.reports.conftest import Seed


def _work(app: Flask) -> None:
    """Run the worker until the queue is empty, in a thread of its own: the worker runs its
    own event loop, and this test process may already have one running (Playwright's)."""
    failures: list[BaseException] = []

    def work() -> None:
        try:
            jobs.run_worker(app, wait=False)
        except BaseException as error:  # re-raised in the test's thread below
            failures.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the worker did not finish"
    if failures:
        raise failures[0]


@pytest.mark.postgres_only
def test_a_deferred_export_is_run_by_a_worker(app: Flask, seeded: Seed, create_user: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SENIM", app.config["SENIM"].with_overrides(jobs="procrastinate"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "schema"])
    assert result.exit_code == 0, result.output
    assert "job queue tables" in result.output
    supervisor = create_user("supervisor")
    job = exports.request_report_export(supervisor, None, ReportPeriod(2026), "csv", "ru")
    db.session.commit()  # where the request that asked for it would end
    exports.start(job)  # deferred: nothing ran in this process
    db.session.expire_all()
    assert get_row(ExportJob, job.id).status == "queued"
    queued = db.session.execute(text(
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'senim.run_export' "
        "AND status = 'todo'")).scalar()
    assert queued == 1
    _work(app)  # takes what is queued, then returns
    db.session.expire_all()
    done = db.session.get(ExportJob, job.id)
    assert done is not None and done.status == "done" and done.progress == 100
    assert exports.file_path(done) is not None
    completed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.completed")).one()
    assert completed.object_id == job.id and completed.actor_id == supervisor.id
    assert runner.invoke(args=["jobs", "schema"]).output.strip() == "job queue tables already exist"


@pytest.mark.postgres_only
def test_stale_months_are_recomputed_by_one_queued_job(app: Flask, seeded: Seed, clock: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from referrals.reports import aggregate, indicators
    from referrals.reports.models import ReportMonth

    runner = app.test_cli_runner()
    assert runner.invoke(args=["jobs", "schema"]).exit_code == 0
    db.session.execute(text("DELETE FROM procrastinate_jobs"))
    db.session.commit()
    tz = app.config["SENIM"].tz
    october = ReportPeriod(2026, 10)
    indicators.build(None, october, clock.now(), tz)  # computed now (inline config)
    db.session.commit()  # where the request that showed the report would end
    monkeypatch.setitem(app.config, "SENIM", app.config["SENIM"].with_overrides(jobs="procrastinate"))
    clock.advance(aggregate.FRESH_FOR + timedelta(minutes=1))
    first = get_row(ReportMonth, october.first_month).computed_at
    indicators.build(None, october, clock.now(), tz)  # stale: shown as it is, queued
    indicators.build(None, october, clock.now(), tz)  # one job is enough: the lock refuses a second
    queued = db.session.execute(text(
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'senim.refresh_report_months'")).scalar()
    assert queued == 1
    db.session.expire_all()
    assert get_row(ReportMonth, october.first_month).computed_at == first
    _work(app)
    db.session.expire_all()
    assert get_row(ReportMonth, october.first_month).computed_at == clock.now()
