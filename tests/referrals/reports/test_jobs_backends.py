"""Where there is no job worker (SQLite, ``make run``) a job runs in a thread of the web
process, in an application context of its own; tests run jobs inline."""

from __future__ import annotations

import threading

import pytest
from flask import Flask, current_app

from referrals.reports import jobs


def test_the_thread_backend_runs_the_job_in_its_own_app_context(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SENIM", app.config["SENIM"].with_overrides(jobs="thread"))
    seen: dict[str, object] = {}
    done = threading.Event()

    def run(job_id: str) -> None:
        seen["job"], seen["app"] = job_id, current_app._get_current_object()  # type: ignore[attr-defined]
        seen["thread"] = threading.current_thread().name
        done.set()

    jobs.dispatch(run, "job-1")
    assert done.wait(timeout=30)  # synchronisation with the thread, not a timed wait
    assert seen == {"job": "job-1", "app": app, "thread": "export-job-1"}


def test_the_inline_backend_runs_before_dispatch_returns(app: Flask) -> None:
    ran: list[str] = []
    jobs.dispatch(ran.append, "job-2")
    assert ran == ["job-2"]


def test_the_default_backend_follows_the_database(app: Flask) -> None:
    config = app.config["SENIM"].with_overrides(jobs="")
    assert config.job_backend == ("thread" if config.is_sqlite else "procrastinate")
