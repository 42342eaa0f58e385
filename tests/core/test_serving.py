"""`senim serve`, its refusals, its access log, `/healthz` and the pool settings."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import text

from core.app import _engine_options, create_app
from core.cli import main
from core.config import Config, ConfigError
from core.extensions import db
from core.serving import (
    ServeOptions,
    access_line,
    check_can_serve,
    default_workers,
    gunicorn_settings,
    parse_bind,
)
from tests.conftest import make_config

KEY = base64.b64encode(bytes(range(1, 33))).decode()
PRODUCTION = {"SENIM_ENV": "production", "SENIM_SECRET_KEY": "s" * 40, "SENIM_MASTER_KEY": KEY,
              "SENIM_DATABASE_URL": "postgresql://senim@127.0.0.1:1/senim"}


def _production(tmp_path: Path, **extra: str) -> Config:
    return Config.from_env({**PRODUCTION, "SENIM_INSTANCE_PATH": str(tmp_path), **extra})


# Issue 16 item 6: in-process limit counters are per worker, so N workers allow N times the limit.
def test_several_workers_without_shared_limit_storage_are_refused_in_production(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^SENIM_REDIS_URL: required in production with --workers 4"):
        check_can_serve(_production(tmp_path), ServeOptions(workers=4))


def test_the_command_refuses_with_one_line_naming_the_setting(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**PRODUCTION, "SENIM_INSTANCE_PATH": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SENIM_REDIS_URL", raising=False)
    result = CliRunner().invoke(main, ["serve", "--workers", "4", "--bind", "127.0.0.1:1"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("senim: configuration error: SENIM_REDIS_URL:")


def test_one_worker_or_a_non_production_instance_passes_the_limit_check(tmp_path: Path) -> None:
    # Both go on to the database check, which fails on this closed port: the limit check passed.
    with pytest.raises(ConfigError, match="^SENIM_DATABASE_URL: cannot connect"):
        check_can_serve(_production(tmp_path), ServeOptions(workers=1))
    testing = Config.from_env({**PRODUCTION, "SENIM_ENV": "testing", "SENIM_INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match="^SENIM_DATABASE_URL: cannot connect"):
        check_can_serve(testing, ServeOptions(workers=4))


def test_an_unreachable_redis_is_named(tmp_path: Path) -> None:
    config = _production(tmp_path, SENIM_REDIS_URL="redis://127.0.0.1:1/0")
    with pytest.raises(ConfigError, match="^SENIM_REDIS_URL: "):
        check_can_serve(config, ServeOptions(workers=4))


def test_throttling_can_be_switched_off_only_for_testing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^SENIM_RATE_LIMITS: may be 0 only with SENIM_ENV=testing"):
        _production(tmp_path, SENIM_RATE_LIMITS="0")
    testing = Config.from_env({"SENIM_ENV": "testing", "SENIM_RATE_LIMITS": "0",
                               "SENIM_INSTANCE_PATH": str(tmp_path)})
    assert testing.rate_limits_enabled is False
    assert _production(tmp_path).rate_limits_enabled is True


@pytest.mark.parametrize(("name", "value"), [("SENIM_DB_POOL_SIZE", "0"), ("SENIM_DB_POOL_SIZE", "x"),
                                             ("SENIM_TRUSTED_PROXIES", "9")])
def test_malformed_numbers_are_named(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        _production(tmp_path, **{name: value})


def test_workers_follow_the_cores() -> None:
    assert default_workers(1) == 3
    assert default_workers(2) == 5
    assert default_workers(64) == 12


@pytest.mark.parametrize("value", ["0.0.0.0:8000", "[::1]:8000", "unix:/run/senim.sock"])
def test_bind_addresses_accepted(value: str) -> None:
    assert parse_bind(value) == value


@pytest.mark.parametrize("value", ["8000", "host:", "host:99999", ":80", "unix:"])
def test_bind_addresses_refused(value: str) -> None:
    with pytest.raises(ValueError, match="."):
        parse_bind(value)


def test_gunicorn_gets_timeouts_graceful_restarts_and_jitter() -> None:
    settings = gunicorn_settings(ServeOptions(workers=3, bind="127.0.0.1:9", threads=1))
    assert settings["workers"] == 3 and settings["bind"] == ["127.0.0.1:9"]
    assert settings["worker_class"] == "sync"
    assert settings["timeout"] == 30 and settings["graceful_timeout"] == 30
    assert settings["max_requests"] > 0 and 0 < settings["max_requests_jitter"] < settings["max_requests"]
    assert settings["preload_app"] is False  # HUP must give workers a freshly built app
    assert gunicorn_settings(ServeOptions(workers=1, threads=4))["worker_class"] == "gthread"


def _environ(path: str, query: str = "") -> dict[str, str]:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
            "RAW_URI": f"{path}?{query}", "REMOTE_ADDR": "203.0.113.9",
            "HTTP_REFERER": f"https://senim.example/cases?{query}", "HTTP_USER_AGENT": "Agent/1"}


def test_the_access_log_has_no_query_string_referrer_or_agent() -> None:
    response = SimpleNamespace(status="200 OK", sent=512)
    line = access_line(_environ("/api/v1/cases", "q=%2B77011234567&name=Aliya"), response,
                       timedelta(milliseconds=12))
    entry = json.loads(line)
    assert entry["path"] == "/api/v1/cases" and entry["status"] == 200 and entry["bytes"] == 512
    assert entry["remote"] == "203.0.113.9" and entry["duration_ms"] == 12.0
    for secret in ("77011234567", "Aliya", "q=", "Agent/1", "senim.example"):
        assert secret not in line


def test_the_access_log_keeps_no_address_on_the_anonymous_channel() -> None:
    response = SimpleNamespace(status="201 CREATED", sent=40)
    for path in ("/api/v1/public/reports", "/r/school-token"):
        entry = json.loads(access_line(_environ(path), response, timedelta(0)))
        assert "remote" not in entry and entry["path"] == path


def test_a_crafted_path_cannot_forge_a_log_line() -> None:
    line = access_line(_environ('/x\n{"level": "error"}'), SimpleNamespace(status="404", sent=0),
                       timedelta(0))
    assert "\n" not in line and json.loads(line)["status"] == 404


def test_postgres_pool_pre_pings_and_times_out(tmp_path: Path) -> None:
    config = make_config(tmp_path, "postgresql+psycopg://x@127.0.0.1/x")
    options = _engine_options(config)
    assert options["pool_pre_ping"] is True and options["hide_parameters"] is True
    assert options["pool_size"] == 5 and options["max_overflow"] == 5
    assert options["connect_args"]["connect_timeout"] == 5  # type: ignore[index]
    assert _engine_options(config.with_overrides(db_pool_size=2))["pool_size"] == 2


def test_healthz_is_public_and_ok_at_head(client: object, app: Flask) -> None:
    response = client.get("/healthz")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_healthz_is_503_when_the_schema_is_not_at_head(client: object, app: Flask) -> None:
    with db.engine.begin() as connection:
        [current] = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    try:
        response = client.get("/healthz")  # type: ignore[attr-defined]
    finally:
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "migrations not at head"}


def test_healthz_is_503_when_the_database_is_away(tmp_path: Path) -> None:
    # A closed port: nothing answers. The app itself still starts (check_database off, as a
    # worker does when PostgreSQL is away at boot).
    config = make_config(tmp_path, "postgresql+psycopg://senim@127.0.0.1:1/senim", check_database=False)
    app = create_app(config)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "database unreachable"}


def test_healthz_is_503_before_the_first_migration(tmp_path: Path) -> None:
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(config)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "database not migrated"


def test_client_addresses_come_from_the_trusted_proxy_only(tmp_path: Path, database_url: str) -> None:
    from flask import request

    seen: list[str | None] = []
    for proxies in (0, 1):
        app = create_app(make_config(tmp_path / str(proxies), database_url, trusted_proxies=proxies,
                                     check_database=False))
        app.before_request(lambda: seen.append(request.remote_addr))
        app.test_client().get("/healthz", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.5"},
                              environ_base={"REMOTE_ADDR": "10.0.0.2"})
    # Without a trusted proxy the header is ignored; with one, only its own (last) entry counts.
    assert seen == ["10.0.0.2", "203.0.113.5"]


def test_a_worker_starts_while_the_database_is_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Otherwise a worker replaced during a PostgreSQL outage fails to boot, and gunicorn stops
    # the whole server on a boot failure.
    from core.serving import load_worker_app

    for name, value in {"SENIM_ENV": "testing", "SENIM_INSTANCE_PATH": str(tmp_path),
                        "SENIM_DATABASE_URL": "postgresql+psycopg://senim@127.0.0.1:1/senim"}.items():
        monkeypatch.setenv(name, value)
    app = load_worker_app()
    assert app.test_client().get("/healthz").status_code == 503
