"""Latency of the risk-group register and of the monthly reconciliation act for one region on
the national-scale dataset (goal: each at most 300 ms), on PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_registers.py [--runs 20] [--keep] [--reuse]``

With ``SENIM_BENCH_DATASET_URL`` set (``make bench``: the runner seeded 1M contacts and 3M
referrals once) it uses that database and adds, idempotently, what the two pages read and the
shared dataset does not have. Alone, it builds ``senim_register_bench`` with the dataset of
``bench_supervision.py`` (same size, same ``INSERT ... SELECT generate_series``) first. The
additions, all server-side except 300 encrypted children:

- a routing decision for every West Kazakhstan case of the last full month that has none
  (about 15% of them in the ``reconciliation`` register, their contacts re-categorised as
  sexual violence or pregnancy);
- 300 children encrypted through the application (the newest, so the first page decrypts
  real values), and 250,000 more rows with keyed masks copied from them (50,000 in West
  Kazakhstan), as a decade of risk-group children would be.

It times, p50 and p95 over ``--runs`` runs after a warm-up, the API answers as a supervisor
gets them (authentication, queries, audit entry, JSON): the act of KZ-27 for that month, and
the register of KZ-27 (counts of every flag, per district, first page of 50 children with
names decrypted). It prints one ``FIGURE`` line per goal (benchmarks protocol).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench_supervision as base  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from core.app import create_app  # noqa: E402
from core.clock import FrozenClock  # noqa: E402
from core.config import CHEAP_ARGON2, Config  # noqa: E402
from core.extensions import db  # noqa: E402
from core.models import User  # noqa: E402
from core.users_service import issue_token  # noqa: E402
from intake.models import RISK_FLAGS, Child  # noqa: E402

GOAL_MS = 300
REGION = "KZ-27"
DATABASE = "senim_register_bench"
PREFIX = "ffffffff-0000-7000-8000-"  # this script's own rows (children clones)
REAL_CHILDREN = 300
CLONES = 250_000
CLONES_IN_REGION = 50_000

DECISIONS_SQL = """
INSERT INTO routing_decisions (id, contact_id, case_id, algorithm_version, facts, decision,
                               changes, made_at)
SELECT 'fffffffe-' || substr(c.id, 10), ct.id, c.id, '2026.1', '{}'::jsonb,
       CASE WHEN random() < 0.15 THEN '{"registers": ["reconciliation"]}'::jsonb
            WHEN random() < 0.3 THEN '{"registers": ["risk_group"]}'::jsonb
            ELSE '{"registers": []}'::jsonb END,
       '{}'::jsonb, c.opened_at
FROM cases c
JOIN LATERAL (SELECT id FROM contacts WHERE case_id = c.id ORDER BY received_at LIMIT 1) ct ON true
WHERE c.region = :region AND c.opened_at >= :start AND c.opened_at < :end
  AND NOT EXISTS (SELECT 1 FROM routing_decisions d WHERE d.case_id = c.id)
"""
CATEGORIES_SQL = """
UPDATE contacts SET categories = CASE WHEN random() < 0.5 THEN '["violence.sexual"]'::jsonb
                                      ELSE '["physical_health.pregnancy"]'::jsonb END
WHERE case_id IN (SELECT case_id FROM routing_decisions
                  WHERE id LIKE 'fffffffe-%' AND decision @> '{"registers": ["reconciliation"]}')
  AND NOT categories ?| array['violence.sexual', 'physical_health.pregnancy']
"""
CLONES_SQL = """
INSERT INTO children (id, sex, age, region, district, risk_flags_mask, risk_flags_key, updated_at)
SELECT :prefix || lpad(i::text, 12, '0'),
       CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END, 3 + i % 15,
       CASE WHEN i <= :in_region THEN :region
            ELSE (CAST(:regions AS text[]))[1 + i % cardinality(CAST(:regions AS text[]))] END,
       CASE WHEN i <= :in_region
            THEN (CAST(:districts AS text[]))[1 + i % cardinality(CAST(:districts AS text[]))] END,
       (CAST(:masks AS int[]))[1 + i % cardinality(CAST(:masks AS int[]))], :key,
       CAST(:now AS timestamptz) - interval '30 days' - i * interval '20 minutes'
FROM generate_series(1, :clones) AS i
ON CONFLICT (id) DO NOTHING
"""


def last_full_month(app: Any) -> date:
    with app.app_context():
        latest = db.session.execute(text(
            "SELECT max(opened_at) FROM cases WHERE region = :r"), {"r": REGION}).scalar()
    latest = latest or base.NOW
    first_of_latest = date(latest.year, latest.month, 1)
    return (first_of_latest - timedelta(days=1)).replace(day=1)


def add_register_rows(app: Any, month: date) -> None:
    from core import reference
    from referrals.registers.reconciliation import month_bounds

    with app.app_context():
        start, end = month_bounds(month, app.config["SENIM"].tz)
        with db.engine.begin() as connection:
            added = connection.execute(text(DECISIONS_SQL),
                                       {"region": REGION, "start": start, "end": end}).rowcount
            connection.execute(text(CATEGORIES_SQL))
        print(f"  routing decisions added for {REGION} {month:%Y-%m}: {added:,}")
        if db.session.scalar(select(Child.id).where(Child.id.like(PREFIX + "%")).limit(1)):
            print("  register children: already there")
            return
        import random

        rng = random.Random(5)
        districts = [p.code for p in reference.districts_of(REGION)]
        began = time.perf_counter()
        for i in range(REAL_CHILDREN):
            child = Child(sex=rng.choice(["female", "male"]), age=rng.randint(3, 17),
                          region=REGION, district=rng.choice(districts),
                          updated_at=base.NOW - timedelta(minutes=i))
            child.name = f"Бала Тестов {i}"  # obviously fictional
            child.risk_flags = rng.sample(RISK_FLAGS, rng.choice([1, 1, 2, 3]))
            db.session.add(child)
        db.session.commit()
        masks = sorted({m for (m,) in db.session.execute(
            select(Child.risk_flags_mask).where(Child.region == REGION,
                                                Child.risk_flags_mask != 0))})
        key = db.session.scalar(select(Child.risk_flags_key).where(Child.region == REGION,
                                                                   Child.risk_flags_mask != 0))
        db.session.commit()
        with db.engine.begin() as connection:
            connection.execute(text(CLONES_SQL), {
                "prefix": PREFIX, "in_region": CLONES_IN_REGION, "region": REGION,
                "regions": sorted(r for r in reference.regions() if r != REGION),
                "districts": districts, "masks": masks, "key": key, "now": base.NOW,
                "clones": CLONES})
            connection.execute(text("ANALYZE children"))
            connection.execute(text("ANALYZE routing_decisions"))
        print(f"  register children: {REAL_CHILDREN} encrypted + {CLONES:,} copies of their "
              f"masks in {time.perf_counter() - began:.1f} s")


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    call()  # warm-up
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def measure(app: Any, month: date, runs: int) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "bench.registers"))
        if user is None:
            user = User(username="bench.registers", display_name="Bench registers supervisor",
                        role="supervisor", password_hash="-")
            db.session.add(user)
            db.session.commit()
        _, token = issue_token(user, "bench", None)
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def get(path: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            return response.json
        return call

    act_path = f"/api/v1/reports/reconciliation?region={REGION}&month={month:%Y-%m}"
    register_path = f"/api/v1/registers/risk-group?region={REGION}"
    act = get(act_path)()
    register = get(register_path)()
    print(f"  act {REGION} {month:%Y-%m}: {len(act['cases'])} cases, "
          f"{sum(1 for c in act['cases'] if c['discrepancies'])} with discrepancies")
    print(f"  register {REGION}: {register['total']:,} children, "
          f"{len(register['items'])} on the first page")
    for name, path in (("reconciliation_act_one_region_month", act_path),
                       ("risk_group_register_one_region", register_path)):
        p50, p95 = timed(get(path), runs)
        print(f"  {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        print(f"FIGURE\t{name}_p95_ms\t{p95:.0f}\t<= {GOAL_MS}\t{'yes' if p95 <= GOAL_MS else 'no'}",
              flush=True)


# The bench database's own master key, fixed so that --reuse can read what an earlier run
# encrypted: it guards fictional rows in a throwaway database, never a deployment's data.
BENCH_MASTER_KEY = base64.b64encode(hashlib.sha256(b"senim register bench").digest()).decode()


def make_app(url: str, workdir: str) -> Any:
    config = Config(env="testing", instance_path=Path(workdir), database_url=url,
                    secret_key=secrets.token_urlsafe(32),
                    master_key=os.environ.get("SENIM_MASTER_KEY") or BENCH_MASTER_KEY,
                    argon2=CHEAP_ARGON2)
    return create_app(config, clock=FrozenClock(base.NOW if "SENIM_BENCH_DATASET_URL" not in
                                                os.environ else datetime.now(UTC)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help=f"keep the {DATABASE} database")
    parser.add_argument("--reuse", action="store_true", help=f"time a kept {DATABASE} again")
    arguments = parser.parse_args()
    shared = os.environ.get("SENIM_BENCH_DATASET_URL")
    with tempfile.TemporaryDirectory() as workdir:
        if shared:
            app = make_app(shared, workdir)
            print("database: the shared national-scale dataset")
            month = last_full_month(app)
            add_register_rows(app, month)
            measure(app, month, arguments.runs)
            return
        if not base.server_reachable():
            print("PostgreSQL is not reachable: skipped (set SENIM_DATABASE_URL)")
            return
        base.DATABASE = DATABASE
        with base.bench_database(arguments.keep or arguments.reuse, arguments.reuse) as (url, reused):
            app = make_app(url, workdir)
            with app.app_context():
                from flask_migrate import upgrade

                upgrade()
                if not reused:
                    supervisor = base.prepare()
                    print(f"database: postgresql ({DATABASE}), the dataset of bench_supervision.py")
                    base.fill(db.engine, 1_000_000, 3_000_000, 0, supervisor.id)
            month = last_full_month(app)
            add_register_rows(app, month)
            measure(app, month, arguments.runs)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


if __name__ == "__main__":
    main()
