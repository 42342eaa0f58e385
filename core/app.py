"""The application factory."""

from __future__ import annotations

import importlib
import logging
import secrets
from datetime import timedelta

from flask import Flask, current_app, g
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

import core.models  # noqa: F401  (register the models on the metadata)
from core import (
    access,
    admin,
    api,
    cli,
    encryption,
    errors,
    headers,
    health,
    hostile,
    i18n,
    request_log,
    templating,
    transactions,
    views,
)
from core.auth import views as auth_views
from core.clock import Clock, SystemClock
from core.config import PROJECT_ROOT, Config, ConfigError
from core.extensions import babel, csrf, db, limiter, login_manager, migrate
from core.logging_setup import configure_logging

log = logging.getLogger(__name__)

# Feature packages plug in through ``init_app``. They are named, not imported, here so that
# core never depends on them (architecture.md: core imports neither intake nor referrals).
FEATURE_PACKAGES = ("intake", "referrals")


class DatabaseUnreachable(ConfigError):
    """The database did not answer at start-up (as opposed to a malformed setting)."""


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> Flask:
    configure_logging()
    config = config or Config.from_env()
    app = Flask(
        "senim",
        root_path=str(PROJECT_ROOT),
        instance_path=str(config.instance_path.resolve()),
        template_folder="templates",
        static_folder="static",
    )
    _apply_config(app, config)
    if config.is_production and not config.redis_url:
        # `senim serve` refuses several workers like this; a hand-made gunicorn command cannot be
        # checked, so say it where the operator will see it.
        log.warning("SENIM_REDIS_URL is unset: rate limits are counted per process "
                    "(run one worker per host, or set SENIM_REDIS_URL)")
    app.extensions["senim.clock"] = clock or SystemClock()
    _init_extensions(app)
    transactions.init_app(app)  # first: its after_request runs last, ending the transaction
    encryption.init_app(app)
    if config.check_database:
        _check_database(app, config)
        encryption.ensure_key_if_schema_exists(app)

    app.before_request(_assign_request_id)
    request_log.init_app(app)
    hostile.init_app(app)
    access.init_app(app)
    headers.init_app(app)
    templating.init_app(app)
    errors.register_error_handlers(app)
    app.register_blueprint(i18n.bp)
    app.register_blueprint(health.bp)
    if config.trusted_proxies:
        # Client address and scheme from the proxies' X-Forwarded-* headers, trusting exactly
        # that many hops (an attacker's own X-Forwarded-For entries stay to the left, unused).
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]

    app.register_blueprint(auth_views.bp)
    app.register_blueprint(views.bp)
    admin.init_app(app)
    cli.register(app)
    for name in FEATURE_PACKAGES:
        importlib.import_module(name).init_app(app)
    api.init_app(app)  # after the features: they add their operations to the API blueprint
    return app


def _apply_config(app: Flask, config: Config) -> None:
    secure = config.is_production
    app.config.update(
        SENIM=config,
        ENV_NAME=config.env,
        TESTING=config.env == "testing",
        SECRET_KEY=config.secret_key,
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config),
        MAX_CONTENT_LENGTH=config.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure,
        # The __Host- prefix pins the cookie to this exact host over HTTPS (security.md §2).
        SESSION_COOKIE_NAME="__Host-senim" if secure else "senim_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_absolute_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the session's own lifetime bounds the token
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT_LANGUAGE,
        BABEL_DEFAULT_TIMEZONE=config.timezone,
        RATELIMIT_ENABLED=config.rate_limits_enabled,
        RATELIMIT_STORAGE_URI=config.redis_url or "memory://",
        # Redis down for a moment: keep limiting, per process, rather than failing sign-ins.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=bool(config.redis_url),
        RATELIMIT_STORAGE_OPTIONS={"socket_timeout": 2, "socket_connect_timeout": 2}
        if config.redis_url else {},
        RATELIMIT_HEADERS_ENABLED=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]


def _engine_options(config: Config) -> dict[str, object]:
    # Statement parameters never go into exception messages, and so into logs: they can be
    # search terms, blind indexes or other values derived from personal data.
    if config.is_sqlite:
        return {"connect_args": {"timeout": 30}, "hide_parameters": True}
    return {
        "hide_parameters": True,
        # Test each pooled connection before use, so that after a PostgreSQL restart (or a
        # failover, or an idle timeout in a proxy) stale connections are replaced, not served.
        "pool_pre_ping": True,
        # Each worker process serves one request at a time per thread: a small pool suffices.
        "pool_size": config.db_pool_size,
        "max_overflow": config.db_pool_size,
        # Waiting longer for a connection than gunicorn's worker timeout only hides overload.
        "pool_timeout": 10,
        # Recycle before typical firewall/pgbouncer idle cut-offs.
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 5, "application_name": "senim"},
    }


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=_timezone)
    limiter.init_app(app)


def _timezone() -> str:
    return str(current_app.config["SENIM"].timezone)


def _check_database(app: Flask, config: Config) -> None:
    if config.is_sqlite:
        config.instance_path.mkdir(parents=True, exist_ok=True)
    try:
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        shown = make_url(config.database_url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0][:200]
        raise DatabaseUnreachable(f"SENIM_DATABASE_URL: cannot connect to {shown} ({reason})") from None


def _assign_request_id() -> None:
    g.request_id = secrets.token_hex(8)
