"""``senim serve``: the production server, gunicorn run in-process with Senim's settings.

The master process checks the configuration once (one line naming the setting on error) and
never imports the application; each worker builds its own app after the fork, so a graceful
restart (``kill -HUP``, or a worker reaching its request budget) starts workers with fresh state.
A worker that boots while PostgreSQL is away still starts (it answers 503 on ``/healthz`` and
recovers through the pool's pre-ping) instead of stopping the whole server.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from limits.storage import storage_from_string
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core.config import Config, ConfigError

log = logging.getLogger(__name__)

DEFAULT_BIND = "127.0.0.1:8000"
MAX_DEFAULT_WORKERS = 12
# Where the anonymous school channel lives: its clients' addresses are never kept (interfaces.md,
# "Nothing about the child's network identity is stored"), not even in the access log.
ANONYMOUS_PATH_PREFIXES = ("/api/v1/public/", "/r/")


def default_workers(cpus: int | None = None) -> int:
    """gunicorn's rule of thumb (2 x cores + 1): requests wait on PostgreSQL about as long as
    they compute, so a little over two processes per core keeps the cores busy."""
    cores = cpus or os.cpu_count() or 1
    return max(2, min(2 * cores + 1, MAX_DEFAULT_WORKERS))


def parse_bind(value: str) -> str:
    """HOST:PORT (``[::1]:8000`` for IPv6) or ``unix:/path``; raises ValueError with the reason."""
    if value.startswith("unix:"):
        if len(value) <= len("unix:"):
            raise ValueError("a unix socket needs a path, e.g. unix:/run/senim.sock")
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, not {value!r}")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"the port must be a number from 1 to 65535, not {port!r}")
    return value


@dataclass(frozen=True)
class ServeOptions:
    workers: int
    bind: str = DEFAULT_BIND
    threads: int = 1
    # A worker silent for this long is killed and replaced (a stuck request, not a slow one:
    # the slowest pages take well under a second).
    timeout: int = 30
    # On HUP/TERM, in-flight requests get this long to finish.
    graceful_timeout: int = 30
    keepalive: int = 5
    # Recycle each worker after about this many requests (jittered so they do not all restart
    # together): bounds the damage of any slow leak.
    max_requests: int = 2000
    max_requests_jitter: int = 200
    access_log: bool = True


def check_can_serve(config: Config, options: ServeOptions) -> None:
    """Refuse set-ups that would silently weaken security (issue 16 item 6)."""
    if (config.is_production and options.workers > 1 and not config.redis_url
            and config.rate_limits_enabled):
        raise ConfigError(
            f"SENIM_REDIS_URL: required in production with --workers {options.workers} "
            "(in-process rate-limit counters would be per worker; set SENIM_REDIS_URL=redis://... "
            "or use --workers 1)"
        )
    if config.redis_url:
        _check_redis(config.redis_url)
    _check_database(config)


def _check_redis(url: str) -> None:
    try:
        reachable = storage_from_string(url, socket_timeout=2, socket_connect_timeout=2).check()
    except Exception as error:  # an unknown scheme or a missing driver: say which
        raise ConfigError(f"SENIM_REDIS_URL: unusable ({str(error).splitlines()[0][:200]})") from None
    if not reachable:
        raise ConfigError("SENIM_REDIS_URL: Redis does not answer")


def _check_database(config: Config) -> None:
    connect_args = {} if config.is_sqlite else {"connect_timeout": 5}
    engine = create_engine(config.database_url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        shown = make_url(config.database_url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0][:200]
        raise ConfigError(f"SENIM_DATABASE_URL: cannot connect to {shown} ({reason})") from None
    finally:
        engine.dispose()  # no connection may be inherited by the forked workers


def gunicorn_settings(options: ServeOptions) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "bind": [options.bind],
        "workers": options.workers,
        "worker_class": "gthread" if options.threads > 1 else "sync",
        "threads": options.threads,
        "timeout": options.timeout,
        "graceful_timeout": options.graceful_timeout,
        "keepalive": options.keepalive,
        "max_requests": options.max_requests,
        "max_requests_jitter": options.max_requests_jitter,
        "preload_app": False,
        "proc_name": "senim",
        "logger_class": AccessLogger,
        "accesslog": "-" if options.access_log else None,
        "errorlog": "-",
        # Request lines and headers beyond these are refused before they reach the app.
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        # gunicorn 23+ opens a control socket in the home folder; several servers on one host
        # would fight over it, and signals (HUP, TERM, TTIN/TTOU) already do the job.
        "control_socket_disable": True,
    }
    return settings


def _access_logger_base() -> type:
    return Logger


class AccessLogger(_access_logger_base()):  # type: ignore[misc]
    """One JSON line per request with method, path, status, size and duration, and never the
    query string, the referrer or the user agent: searches and look-ups may carry names, phone
    numbers and IINs (issue 16 item 5), and logs are kept and shipped where case data is not."""

    def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        self.access_log.info(access_line(environ, resp, request_time))


def access_line(environ: Mapping[str, Any], resp: Any, request_time: Any) -> str:
    path = str(environ.get("PATH_INFO") or "/")
    status = str(getattr(resp, "status", "") or "").split(" ", 1)[0]
    entry: dict[str, object] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "info",
        "logger": "senim.access",
        "method": environ.get("REQUEST_METHOD"),
        "path": path,
        "status": int(status) if status.isdigit() else status,
        "bytes": getattr(resp, "sent", None),
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
    }
    if not path.startswith(ANONYMOUS_PATH_PREFIXES):
        entry["remote"] = environ.get("REMOTE_ADDR")
    # json.dumps escapes control characters: a crafted path cannot forge a log line.
    return json.dumps(entry, ensure_ascii=False)


def _application_class() -> type:
    class SenimApplication(BaseApplication):
        def __init__(self, settings: Mapping[str, Any]) -> None:
            self._settings = dict(settings)
            super().__init__()

        def load_config(self) -> None:
            for key, value in self._settings.items():
                if key in self.cfg.settings:  # settings newer than the installed gunicorn: skip
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return load_worker_app()

    return SenimApplication


def load_worker_app() -> Any:
    """Build the app inside a worker; a database that is away must not stop the worker. Each
    worker signs audit checkpoints on a timer, as ``core.wsgi`` does."""
    # Imported here: the master imports this module and never the application (see above).
    from core.app import DatabaseUnreachable, create_app
    from core.audit import timer

    config = Config.from_env()
    try:
        app = create_app(config)
        timer.start(app)
        return app
    except DatabaseUnreachable as error:
        log.warning("starting without the database (%s); /healthz answers 503 until it is back", error)
        return create_app(config.with_overrides(check_database=False))


def serve(options: ServeOptions) -> None:
    """Run gunicorn in this process until it is stopped (TERM/INT; HUP restarts the workers)."""
    application = _application_class()(gunicorn_settings(options))
    sys.argv = [sys.argv[0]]  # gunicorn parses nothing of ours
    application.run()
