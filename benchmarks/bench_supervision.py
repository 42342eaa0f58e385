"""Latency of the supervisor's dashboard on a million contacts and three million referrals
(goal: at most 300 ms per dashboard, as a supervisor first sees it), on PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_supervision.py [--contacts 1000000] [--referrals 3000000]
[--runs 20] [--keep]``

Builds a dedicated database (``senim_bench`` on the server of ``SENIM_DATABASE_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432``), migrates it through the application's own
migrations, and fills it server-side with ``INSERT ... SELECT generate_series`` (no Python
loops): 80% of the contacts open a case, the referrals spread over those cases' two years with
the mix of states a helpline accumulates (most completed, a backlog of stale open ones, fresh
ones in every state), and a million audit entries with a few break-the-glass openings among
them. Foreign-key triggers are off while loading (``session_replication_role = replica``);
every index of the schema is in place and maintained.

It then times what a supervisor waits for, p50 and p95 over ``--runs`` runs each: the whole
dashboard page (queries and rendering, as ``/`` serves it) for a supervisor of the whole
helpline and for a regional one, with the default period (the last seven days: the goal) and
with the last 30 days, and each of its statements alone. The database is dropped at the end
unless ``--keep`` (``--reuse`` times a kept one again without refilling it). Audit-chain
verification speed is measured by bench_audit.py.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from core import reference
from core.app import create_app
from core.clock import FrozenClock
from core.config import CHEAP_ARGON2, Config
from core.extensions import db
from core.models import AgencyUnit, User

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # Friday 10:00 in Almaty
SPAN_DAYS = 730
GOAL_MS = 300
DATABASE = "senim_bench"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> Any:
    base = os.environ.get("SENIM_DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = DEFAULT_SERVER
    return make_url("postgresql+psycopg://" + base.split("://", 1)[1])


def server_reachable() -> bool:
    engine = create_engine(server_url().set(database="postgres"))
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


@contextmanager
def bench_database(keep: bool, reuse: bool) -> Iterator[tuple[str, bool]]:
    """The bench database's URL, and whether it was already filled (``reuse``)."""
    url = server_url()
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                   {"name": DATABASE}) is not None
        reused = reuse and exists
        if not reused:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    try:
        yield url.set(database=DATABASE).render_as_string(hide_password=False), reused
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


# ---- filling ------------------------------------------------------------------------------------

# Row i of a table gets the id "00000000-0000-7000-8000-<i, 12 digits>" with a per-table prefix,
# so ids are unique, 36 characters like UUIDs, and in insertion order like UUIDv7.
def _id(prefix: str, column: str) -> str:
    return f"'{prefix}' || lpad(({column})::text, 12, '0')"


CASE_ID_PREFIX = "00000000-0000-7000-8000-"
CONTACT_ID_PREFIX = "00000000-0000-7000-8001-"
REFERRAL_ID_PREFIX = "00000000-0000-7000-8002-"

# Case i (1 = newest) opened at NOW - (i - 1) * span / cases; its region and district follow i.
CASE_OPENED = "(CAST(:now AS timestamptz) - ((({i}) - 1) * :span / :cases) * interval '1 second')"
CASE_REGION = "(CAST(:regions AS text[]))[1 + ({i}) % cardinality(CAST(:regions AS text[]))]"
CASE_DISTRICT = (f"CASE WHEN {CASE_REGION} = 'KZ-27' THEN (CAST(:districts AS text[]))"
                 "[1 + (({i}) / 17) % cardinality(CAST(:districts AS text[]))] END")

CASES_SQL = f"""
INSERT INTO cases (id, number, status, urgency, region, district, opened_at, closed_at, opened_by)
SELECT {_id(CASE_ID_PREFIX, 'i')}, 'B-' || i,
       CASE WHEN opened > CAST(:now AS timestamptz) - interval '45 days' OR r1 < 0.02
            THEN 'open' ELSE 'closed' END,
       CASE WHEN r2 < 0.05 THEN 'P1' WHEN r2 < 0.30 THEN 'P2' WHEN r2 < 0.80 THEN 'P3' ELSE 'P4' END,
       region, district, opened,
       CASE WHEN opened > CAST(:now AS timestamptz) - interval '45 days' OR r1 < 0.02
            THEN NULL ELSE opened + interval '20 days' END,
       :user_id
FROM (SELECT i, {CASE_OPENED.format(i='i')} AS opened, {CASE_REGION.format(i='i')} AS region,
             {CASE_DISTRICT.format(i='i')} AS district, random() AS r1, random() AS r2
      FROM generate_series(CAST(1 AS bigint), CAST(:cases AS bigint)) AS i OFFSET 0) AS s
"""

CONTACTS_SQL = f"""
INSERT INTO contacts (id, case_id, channel, contact_type, language, received_at, submitted_by,
                      callback_consent, categories, urgency, flags)
SELECT {_id(CONTACT_ID_PREFIX, 'i')},
       CASE WHEN i <= :cases THEN {_id(CASE_ID_PREFIX, 'i')} END,
       'phone', CASE WHEN i <= :cases THEN 'third_party' ELSE 'information' END, 'kk',
       CASE WHEN i <= :cases THEN {CASE_OPENED.format(i='i')}
            ELSE CAST(:now AS timestamptz) - random() * :span * interval '1 second' END,
       :user_id, false,
       CASE WHEN i <= :cases THEN '["violence.bullying"]'::jsonb ELSE '[]'::jsonb END,
       CASE WHEN i <= :cases THEN 'P3' END, '[]'::jsonb
FROM generate_series(CAST(1 AS bigint), CAST(:contacts AS bigint)) AS i
"""

# Referral j belongs to case ci (referrals in case order, as they are appended); its state
# depends on its age: old ones are mostly settled, with a backlog of stale open ones.
REFERRALS_SQL = f"""
INSERT INTO referrals (id, case_id, agency, service, unit_id, mandatory, manual, rules, status,
                       region, district, created_at, ack_due_at, action_due_at, acknowledged_at,
                       accepted_at, first_action_at, closed_at, outcome, decline_reason,
                       escalation_level)
SELECT {_id(REFERRAL_ID_PREFIX, 'j')}, {_id(CASE_ID_PREFIX, 'ci')}, agency, service,
       CASE WHEN status = 'unassigned' THEN NULL ELSE unit_id END,
       CASE WHEN status = 'declined' THEN r7 < 0.03 ELSE r7 < 0.6 END, r7 > 0.97, '[]'::jsonb, status,
       region, district, created, created + ack_window, created + act_window,
       acked, accepted, acted,
       CASE WHEN status = 'completed' THEN least(acted + r6 * interval '3 days', CAST(:now AS timestamptz))
            WHEN status = 'overridden' THEN least(created + r6 * interval '5 days', CAST(:now AS timestamptz))
       END,
       CASE WHEN status = 'completed' THEN 'support_provided' END,
       CASE WHEN status = 'declined' THEN 'not_competent' END, 0
FROM (
  SELECT *, CASE WHEN status = 'completed' OR (status = 'accepted' AND r5 < 0.6)
                 THEN least(accepted + r5 * 1.2 * act_window, CAST(:now AS timestamptz)) END AS acted
  FROM (
    SELECT *, CASE WHEN status IN ('accepted', 'completed')
                   THEN least(acked + r4 * interval '2 hours', CAST(:now AS timestamptz)) END AS accepted
    FROM (
      SELECT *, CASE WHEN status NOT IN ('sent', 'unassigned') AND NOT (status = 'overridden' AND r3 > 0.5)
                     THEN least(created + r3 * 1.3 * ack_window, CAST(:now AS timestamptz)) END AS acked
      FROM (
        SELECT *, CASE
            WHEN created > CAST(:now AS timestamptz) - interval '30 days' THEN
              CASE WHEN r1 < 0.20 THEN 'sent' WHEN r1 < 0.35 THEN 'acknowledged'
                   WHEN r1 < 0.70 THEN 'accepted' WHEN r1 < 0.90 THEN 'completed'
                   WHEN r1 < 0.95 THEN 'declined' WHEN r1 < 0.98 THEN 'overridden'
                   ELSE 'unassigned' END
            ELSE
              CASE WHEN r1 < 0.88 THEN 'completed' WHEN r1 < 0.94 THEN 'declined'
                   WHEN r1 < 0.99 THEN 'overridden' WHEN r1 < 0.996 THEN 'accepted'
                   WHEN r1 < 0.998 THEN 'acknowledged' WHEN r1 < 0.9995 THEN 'sent'
                   ELSE 'unassigned' END
          END AS status
        FROM (
          SELECT j, ci, {CASE_OPENED.format(i='ci')} + r0 * interval '10 minutes' AS created,
                 {CASE_REGION.format(i='ci')} AS region, {CASE_DISTRICT.format(i='ci')} AS district,
                 (CAST(:unit_ids AS text[]))[k] AS unit_id, (CAST(:unit_agencies AS text[]))[k] AS agency,
                 (CAST(:unit_services AS text[]))[k] AS service,
                 (1 + r2 * 23) * interval '1 hour' AS ack_window,
                 (1 + r2 * 23) * interval '4 hours' + interval '1 day' AS act_window,
                 r1, r3, r4, r5, r6, r7
          FROM (SELECT j, (j - 1) * :cases / :referrals + 1 AS ci,
                       1 + (j * 7919) % cardinality(CAST(:unit_ids AS text[])) AS k,
                       random() AS r0, random() AS r1, random() AS r2, random() AS r3,
                       random() AS r4, random() AS r5, random() AS r6, random() AS r7
                FROM generate_series(CAST(1 AS bigint), CAST(:referrals AS bigint)) AS j OFFSET 0) AS raw
        ) AS placed
      ) AS stated
    ) AS acknowledged
  ) AS taken
) AS done
"""

# Audit entries: case views spread over the two years, and a break-the-glass opening every
# 50,000 entries (about twenty, the newest within the last week). Hashes are placeholders: the
# chain is not verified here (bench_audit.py does that).
AUDIT_SQL = f"""
INSERT INTO audit_entries (sequence, occurred_at, actor_id, actor_username, actor_role, action,
                           object_type, object_id, fields, prev_hash, hash)
SELECT s, CAST(:now AS timestamptz) - ((:entries - s) * :span / :entries) * interval '1 second',
       :user_id, 'bench.supervisor', 'supervisor',
       CASE WHEN s % 50000 = 0 THEN 'btg.opened' ELSE 'case.viewed' END, 'case',
       {_id(CASE_ID_PREFIX, '1 + (s * 7) % :cases')},
       'children.name,contacts.summary', repeat('0', 64), repeat('0', 64)
FROM generate_series(CAST(1 AS bigint), CAST(:entries AS bigint)) AS s
"""


def secondary_indexes(connection: Any, tables: tuple[str, ...]) -> dict[str, str]:
    """The schema's own indexes on ``tables`` (not those behind primary keys and unique
    constraints), by name, as CREATE statements: dropped before the load and built again after
    it, which is faster than maintaining them row by row, and leaves exactly the indexes the
    migrations made."""
    rows = connection.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename = ANY(:tables) AND indexname NOT IN (SELECT conname FROM pg_constraint)"),
        {"tables": list(tables)})
    return {name: definition for name, definition in rows}


def fill(engine: Engine, contacts: int, referrals: int, entries: int, user_id: str) -> None:
    cases = contacts * 4 // 5
    units = list(db.session.scalars(select(AgencyUnit).order_by(AgencyUnit.id)))
    unit_services = [(u.id, u.agency, (u.services or [f"{u.agency}.other"])[0]) for u in units]
    db.session.commit()  # no transaction left open: VACUUM must see every row as visible to all
    values: dict[str, Any] = {
        "now": NOW, "span": SPAN_DAYS * 86400, "cases": cases, "contacts": contacts,
        "referrals": referrals, "entries": entries, "user_id": user_id,
        "regions": sorted(reference.regions()), "districts": [p.code for p in reference.districts_of("KZ-27")],
        "unit_ids": [u[0] for u in unit_services], "unit_agencies": [u[1] for u in unit_services],
        "unit_services": [u[2] for u in unit_services],
    }
    steps = (("cases", CASES_SQL, cases), ("contacts", CONTACTS_SQL, contacts),
             ("referrals", REFERRALS_SQL, referrals), ("audit entries", AUDIT_SQL, entries))
    tables = ("cases", "contacts", "referrals", "audit_entries")
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        connection.execute(text("SELECT setseed(0.42)"))
        indexes = secondary_indexes(connection, tables)
        for name in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
        for name, sql, count in steps:
            began = time.perf_counter()
            connection.execute(text(sql), values)
            print(f"  {name}: {count:,} rows in {time.perf_counter() - began:.1f} s", flush=True)
        began = time.perf_counter()
        for definition in indexes.values():
            connection.execute(text(definition))
        print(f"  {len(indexes)} secondary indexes rebuilt in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    print(f"  vacuum analyze: {time.perf_counter() - began:.1f} s", flush=True)


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


def report(name: str, figures: tuple[float, float], goal: bool = False) -> None:
    p50, p95 = figures
    verdict = (" (goal <= 300 ms: met)" if p95 <= GOAL_MS else " (goal <= 300 ms: MISSED)") if goal else ""
    print(f"  {name:<52} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms{verdict}", flush=True)


def measure(app: Any, runs: int) -> None:
    from flask import g

    from referrals.supervision import dashboard, stats, views

    tz = app.config["SENIM"].tz
    today = NOW.astimezone(tz).date()
    national = db.session.scalar(select(User).where(User.username == "bench.supervisor"))
    regional = db.session.scalar(select(User).where(User.username == "bench.regional"))
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
            report(f"dashboard page, {label}, last {days} days", timed(runs, page), goal=days == 7)
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
        report("  recent break-the-glass (1 statement)",
               timed(runs, step(lambda: stats.recent_break_glass(NOW))))


def prepare() -> User:
    """The directory of units and the two supervisors whose dashboards are timed."""
    from referrals import demo

    demo.load_directory()
    supervisor = User(username="bench.supervisor", display_name="Bench supervisor",
                      role="supervisor", password_hash="-")
    regional = User(username="bench.regional", display_name="Bench regional supervisor",
                    role="supervisor", region="KZ-27", password_hash="-")
    db.session.add_all([supervisor, regional])
    db.session.commit()
    return supervisor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--referrals", type=int, default=3_000_000)
    parser.add_argument("--audit-entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the senim_bench database")
    parser.add_argument("--reuse", action="store_true",
                        help="time a senim_bench database kept by an earlier --keep run")
    arguments = parser.parse_args()
    if not server_reachable():
        print(f"PostgreSQL is not reachable at {server_url().render_as_string()}: skipped "
              "(set SENIM_DATABASE_URL to a postgresql:// server)")
        return

    with (tempfile.TemporaryDirectory() as workdir,
          bench_database(arguments.keep or arguments.reuse, arguments.reuse) as (url, reused)):
        config = Config(env="testing", instance_path=Path(workdir), database_url=url,
                        secret_key=secrets.token_urlsafe(32),
                        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
                        argon2=CHEAP_ARGON2)
        app = create_app(config, clock=FrozenClock(NOW))
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            if reused:
                print(f"database: postgresql ({DATABASE}), as an earlier run filled it")
            else:
                supervisor = prepare()
                print(f"database: postgresql ({DATABASE}); {arguments.contacts:,} contacts, "
                      f"{arguments.referrals:,} referrals, {arguments.audit_entries:,} audit entries")
                fill(db.engine, arguments.contacts, arguments.referrals, arguments.audit_entries,
                     supervisor.id)
            print(f"timings over {arguments.runs} runs each (after one warm-up run):")
            measure(app, arguments.runs)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
