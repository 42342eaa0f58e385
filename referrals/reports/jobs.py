"""Background jobs (large exports) through procrastinate, a PostgreSQL job queue.

Procrastinate keeps its queue in PostgreSQL tables (``senim jobs schema`` creates them once)
and a worker takes each job with ``SELECT ... FOR UPDATE SKIP LOCKED``, so any number of
workers on any number of hosts share one queue and a job runs once. Start workers with
``senim jobs worker`` (as many as you like, anywhere that reaches the database).

Where there is no PostgreSQL (SQLite, ``make run``) jobs run in a thread of the web process
(``SENIM_JOBS=thread``); tests run them inline, in the request (``SENIM_JOBS=inline``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import procrastinate
from flask import Flask, current_app
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from core.extensions import db

log = logging.getLogger(__name__)
EXPORT_QUEUE = "exports"

# The app the worker's tasks run in (set by ``senim jobs worker``).
_worker_app: Flask | None = None


def conninfo(database_url: str) -> str:
    """A libpq connection string from the application's SQLAlchemy URL."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(database_url: str) -> procrastinate.App:
    return procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url)),
        import_paths=["referrals.reports.jobs"])


# The task is declared on a blueprint so that it exists before any database is known.
tasks = procrastinate.Blueprint()


@tasks.task(name="senim.run_export", queue=EXPORT_QUEUE)
def run_export_task(export_id: str) -> None:
    from referrals.reports import exports  # here: exports imports this module to queue

    app = _worker_app
    if app is None:
        raise RuntimeError("the export task runs in `senim jobs worker`")
    with app.app_context():
        exports.run(export_id)


@tasks.task(name="senim.refresh_report_months", queue=EXPORT_QUEUE,
            queueing_lock="senim.refresh_report_months")
def refresh_months_task(months: list[str]) -> None:
    from referrals.reports import aggregate  # here: aggregate imports this module to queue

    app = _worker_app
    if app is None:
        raise RuntimeError("the refresh task runs in `senim jobs worker`")
    with app.app_context():
        aggregate.refresh(months)


def refresh_months(months: list[str], now: datetime) -> None:
    """Recompute the reports' stale months in the background (one such job queued at a time);
    inline (tests), as of ``now``."""
    from referrals.reports import aggregate  # here: aggregate imports this module to queue

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    backend = app.config["SENIM"].job_backend
    if backend == "inline":
        aggregate.refresh(months, now, commit_each=False)  # part of the request that asked
    elif backend == "thread":
        threading.Thread(target=_in_app, args=(app, lambda _: aggregate.refresh(months), ""),
                         daemon=True, name="report-months").start()
    else:
        queue = _procrastinate(app)
        try:
            with queue.open():
                queue.configure_task("senim.refresh_report_months").defer(months=list[Any](months))
        except procrastinate.exceptions.AlreadyEnqueued:
            pass  # one is waiting already; it will recompute whatever is stale then


def _procrastinate(app: Flask) -> procrastinate.App:
    found: procrastinate.App | None = app.extensions.get("senim.jobs")
    if found is None:
        found = queue_app(app.config["SQLALCHEMY_DATABASE_URI"])
        found.add_tasks_from(tasks, namespace="")
        app.extensions["senim.jobs"] = found
    return found


def dispatch(run: Callable[[str], None], export_id: str) -> None:
    """Run ``run(export_id)`` as the configuration says; the job's row is committed first."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    backend = app.config["SENIM"].job_backend
    if backend == "inline":
        run(export_id)
    elif backend == "thread":
        threading.Thread(target=_in_app, args=(app, run, export_id), daemon=True,
                         name=f"export-{export_id}").start()
    else:
        queue = _procrastinate(app)
        with queue.open():
            queue.configure_task("senim.run_export").defer(export_id=export_id)


def _in_app(app: Flask, run: Callable[[str], None], export_id: str) -> None:
    with app.app_context():
        try:
            run(export_id)
        except Exception:  # an export's row says it failed; the thread must not die silently
            log.exception("background job failed (%s)", export_id or "report months")


def run_worker(app: Flask, **options: Any) -> None:
    global _worker_app
    _worker_app = app
    _procrastinate(app).run_worker(queues=[EXPORT_QUEUE], **options)


def apply_schema(app: Flask) -> bool:
    """Create procrastinate's tables unless they exist; True when created."""
    if inspect(db.engine).has_table("procrastinate_jobs"):
        return False
    queue = _procrastinate(app)
    with queue.open():
        queue.schema_manager.apply_schema()
    return True
