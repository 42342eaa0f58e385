"""Configuration from the environment (interfaces.md, "Configuration").

A ``Config`` is a frozen value built once; ``create_app`` turns it into Flask settings. Every
misconfiguration raises ``ConfigError`` whose message starts with the name of the setting, so the
command line can print one clear line instead of a traceback.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.crypto import MasterKey, MasterKeyError

log = logging.getLogger(__name__)

ENVIRONMENTS = ("development", "production", "testing")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Argon2Parameters:
    """Argon2id cost. Production values follow security.md (64 MiB, t=3)."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 2


CHEAP_ARGON2 = Argon2Parameters(time_cost=1, memory_cost_kib=8, parallelism=1)


@dataclass(frozen=True)
class Retention:
    """How long each record type keeps its personal fields (issue 11), in days, and how long an
    export's file stays downloadable, in hours. Past its period a record is anonymised by
    ``senim retention apply`` unless its case is under legal hold."""

    closed_case_days: int = 5 * 365  # a closed case, counted from its closing
    caseless_contact_days: int = 365  # a contact that opened no case, from its receipt
    draft_days: int = 30  # an unfinished contact form, from its last save (then deleted)
    export_hours: int = 24

    ENV: ClassVar[dict[str, str]] = {
        "closed_case_days": "SENIM_RETENTION_CLOSED_CASE_DAYS",
        "caseless_contact_days": "SENIM_RETENTION_CASELESS_CONTACT_DAYS",
        "draft_days": "SENIM_RETENTION_DRAFT_DAYS",
        "export_hours": "SENIM_EXPORT_EXPIRY_HOURS",
    }

    @classmethod
    def from_env(cls, env_vars: Mapping[str, str]) -> Retention:
        return cls(**{name: _whole_number(env_vars, variable, getattr(cls, name), minimum=1)
                      for name, variable in cls.ENV.items()})


JOB_BACKENDS = ("procrastinate", "thread", "inline")


@dataclass(frozen=True)
class Config:
    env: str = "development"
    instance_path: Path = PROJECT_ROOT / "instance"
    database_url: str = ""
    allow_sqlite: bool = False
    secret_key: str = field(default="", repr=False)
    master_key: str = field(default="", repr=False)
    timezone: str = "Asia/Almaty"
    base_url: str = "http://127.0.0.1:5000"
    smtp_url: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    argon2: Argon2Parameters = Argon2Parameters()
    rate_limits_enabled: bool = True
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    max_content_length: int = 1024 * 1024
    check_database: bool = True
    # Database connections per worker process (plus as many again on bursts); see the README on
    # sizing: hosts x workers x 2 x pool_size must stay under PostgreSQL's max_connections.
    db_pool_size: int = 5
    # Reverse proxies in front that set X-Forwarded-For/-Proto (nginx: 1). Without it every
    # client would share the proxy's address, and so its per-address rate limits.
    trusted_proxies: int = 0
    # API tokens always expire (security.md §2): a blank lifetime means the default, and no
    # lifetime may exceed the maximum (SENIM_TOKEN_MAX_DAYS).
    token_max_days: int = 365
    # How often the running app signs an audit checkpoint (0: only cron and the CLI do).
    audit_checkpoint_minutes: int = 10
    retention: Retention = Retention()
    # How background jobs (large exports) run: "procrastinate" (PostgreSQL, a worker process on
    # any host), "thread" (in the web process: SQLite and ``make run``), "inline" (in the
    # request: tests). Default: procrastinate on PostgreSQL, thread on SQLite.
    jobs: str = ""

    @property
    def job_backend(self) -> str:
        if self.jobs:
            return self.jobs
        return "thread" if self.is_sqlite else "procrastinate"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("SENIM_ENV", "development").strip() or "development"
        if env not in ENVIRONMENTS:
            raise ConfigError(f"SENIM_ENV: must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
        instance_path = Path(env_vars.get("SENIM_INSTANCE_PATH") or PROJECT_ROOT / "instance")
        database_url = env_vars.get("SENIM_DATABASE_URL") or f"sqlite:///{instance_path / 'senim.db'}"
        config = cls(
            env=env,
            instance_path=instance_path,
            database_url=_normalise_database_url(database_url),
            allow_sqlite=env_vars.get("SENIM_ALLOW_SQLITE") == "1",
            secret_key=env_vars.get("SENIM_SECRET_KEY", ""),
            master_key=env_vars.get("SENIM_MASTER_KEY", ""),
            timezone=env_vars.get("SENIM_TIMEZONE") or "Asia/Almaty",
            base_url=(env_vars.get("SENIM_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
            smtp_url=env_vars.get("SENIM_SMTP_URL") or None,
            redis_url=env_vars.get("SENIM_REDIS_URL") or None,
            argon2=CHEAP_ARGON2 if env == "testing" else Argon2Parameters(),
            rate_limits_enabled=_rate_limits(env, env_vars.get("SENIM_RATE_LIMITS")),
            db_pool_size=_whole_number(env_vars, "SENIM_DB_POOL_SIZE", 5, minimum=1, maximum=100),
            trusted_proxies=_whole_number(env_vars, "SENIM_TRUSTED_PROXIES", 0, maximum=5),
            token_max_days=_whole_number(env_vars, "SENIM_TOKEN_MAX_DAYS", 365, minimum=1),
            audit_checkpoint_minutes=_whole_number(env_vars, "SENIM_AUDIT_CHECKPOINT_MINUTES", 10),
            retention=Retention.from_env(env_vars),
            jobs=_job_backend(env_vars.get("SENIM_JOBS", "")),
        )
        return config.validated()

    def validated(self) -> Config:
        """Check every setting; in development, generate missing keys into the instance folder."""
        _check_timezone(self.timezone)
        config = self
        if self.is_production:
            if not self.secret_key:
                raise ConfigError("SENIM_SECRET_KEY: required in production")
            if not self.master_key:
                raise ConfigError("SENIM_MASTER_KEY: required in production")
            if self.is_sqlite and not self.allow_sqlite:
                raise ConfigError(
                    "SENIM_DATABASE_URL: SQLite is refused in production "
                    "(use PostgreSQL, or set SENIM_ALLOW_SQLITE=1 for a single small office)"
                )
        else:
            config = replace(
                config,
                secret_key=self.secret_key or _instance_secret(self.instance_path, "secret_key"),
                master_key=self.master_key or _instance_master_key(self.instance_path),
            )
        decode_master_key(config.master_key)
        return config


def decode_master_key(value: str) -> None:
    """The crypto package owns the rules for a master key; configuration reports them."""
    try:
        MasterKey.from_base64(value)
    except MasterKeyError as error:
        raise ConfigError(f"SENIM_MASTER_KEY: {error}") from None


def _whole_number(env_vars: Mapping[str, str], name: str, default: int, *, minimum: int = 0,
                  maximum: int = 999_999) -> int:
    """A whole-number setting within its bounds; blank means the default."""
    raw = (env_vars.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7 or not minimum <= int(raw) <= maximum:
        raise ConfigError(f"{name}: must be a whole number from {minimum} to {maximum}, "
                          f"not {raw[:20]!r}")
    return int(raw)


def _job_backend(value: str) -> str:
    value = value.strip()
    if value and value not in JOB_BACKENDS:
        raise ConfigError(f"SENIM_JOBS: must be one of {', '.join(JOB_BACKENDS)}, not {value!r}")
    return value


def _normalise_database_url(url: str) -> str:
    # Plain postgresql:// URLs would pick psycopg2, which is not installed; psycopg 3 is.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _rate_limits(env: str, value: str | None) -> bool:
    """``SENIM_RATE_LIMITS=0`` switches throttling off for attack tools run against a `testing`
    instance (interfaces.md: "`production` never does")."""
    if value is None or value.strip() in ("", "1"):
        return True
    if value.strip() != "0":
        raise ConfigError(f"SENIM_RATE_LIMITS: must be 0 or 1, not {value!r}")
    if env != "testing":
        raise ConfigError("SENIM_RATE_LIMITS: may be 0 only with SENIM_ENV=testing")
    return False


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"SENIM_TIMEZONE: unknown time zone {name!r}") from None


def _instance_secret(instance_path: Path, name: str) -> str:
    return _read_or_generate(instance_path, name, lambda: secrets.token_urlsafe(48))


def _instance_master_key(instance_path: Path) -> str:
    return _read_or_generate(
        instance_path, "master_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )


def _read_or_generate(instance_path: Path, name: str, generate: Callable[[], str]) -> str:
    """Development convenience: keep generated keys in the instance folder (never in git)."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    log.warning(
        "generated a development %s in %s; production requires SENIM_%s",
        name.replace("_", " "), path, name.upper(),
    )
    return value
