"""Speed of audit-chain verification (goal: at least 250,000 entries/s, issue 13), and of appends.

Run: ``.venv/bin/python benchmarks/bench_audit.py [--entries 200000] [--appends 1000]``

Inside ``make bench`` (``SENIM_BENCH_DATASET_URL`` set) it verifies the national dataset's
chain, a million entries and whatever other benchmarks appended, and appends a few entries of
its own. Alone it uses the database server of ``SENIM_DATABASE_URL`` (SQLite in a temporary
file when unset), but never its data: the audit table refuses deletes, so the benchmark builds
its synthetic chain in a scratch database (``<name>_bench_audit`` on PostgreSQL, dropped
afterwards) through the real migrations, trigger included.

Judged per CPU-second of this process: verification is a single-threaded Python loop, and on a
machine shared with other work the wall clock also counts the wait for a core (both are shown).
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from benchmarks.figures import figure
from core import audit
from core.app import create_app
from core.audit.chain import GENESIS_HASH, HASHED_COLUMNS, encode_details, entry_hash
from core.config import CHEAP_ARGON2, Config
from core.extensions import db

INSERT_BATCH = 5_000


@contextmanager
def scratch_database(workdir: Path) -> Iterator[str]:
    base = os.environ.get("SENIM_DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{workdir / 'bench-audit.db'}"
        return
    url = make_url("postgresql+psycopg://" + base.split("://", 1)[1])
    name = f"{url.database or 'senim'}_bench_audit"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def synthetic_entries(count: int) -> Iterator[dict[str, Any]]:
    """A realistic mix: case views by staff with fields, logins, system batches."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    for sequence in range(1, count + 1):
        values: dict[str, Any] = dict.fromkeys(HASHED_COLUMNS)
        values.update(sequence=sequence, occurred_at=start + timedelta(milliseconds=37 * sequence),
                      prev_hash=prev)
        if sequence % 50 == 0:
            values.update(action="retention.batch", details=encode_details({"anonymised": sequence % 97}))
        else:
            values.update(
                action="case.view", object_type="case", object_id=f"0193{sequence:028x}"[:36],
                actor_id=f"0192{sequence % 40:032x}"[:36], actor_username=f"operator{sequence % 40}",
                actor_role="operator", fields="caller_phone,child_name,summary",
                request_id=f"{sequence:016x}", client_address=f"10.0.{sequence % 250}.{sequence % 200}",
            )
        values["hash"] = prev = entry_hash(values)
        yield values


def fill(count: int) -> float:
    began = time.perf_counter()
    table = audit.AuditEntry.__table__
    batch: list[dict[str, Any]] = []
    with db.engine.begin() as connection:
        for values in synthetic_entries(count):
            batch.append(values)
            if len(batch) == INSERT_BATCH:
                connection.execute(insert(table), batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)
    if db.engine.dialect.name == "postgresql":
        # A live table is vacuumed; right after a bulk load the first reads would also be
        # writing hint bits, which is not what verification costs day to day.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE audit_entries"))
    return time.perf_counter() - began


def time_verification(count: int, rounds: int) -> tuple[list[float], list[float]]:
    """Entries per second of wall-clock time, and per second of this process's CPU time (the
    latter says what the Python side costs when other processes compete for the CPUs)."""
    wall, cpu = [], []
    for _ in range(rounds):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = audit.verify()
        elapsed, elapsed_cpu = time.perf_counter() - began, time.process_time() - began_cpu
        if not (result.ok and result.entries == count):
            raise SystemExit(f"verification failed: {result}")
        wall.append(count / elapsed)
        cpu.append(count / elapsed_cpu)
    return wall, cpu


def time_appends(count: int) -> float:
    began = time.perf_counter()
    for index in range(count):
        audit.record("case.view", object_type="case", object_id=f"bench-{index}", fields=["child_name"])
        db.session.commit()
    return count / (time.perf_counter() - began)


GOAL = 250_000


def report(entries: int, wall: list[float], cpu: list[float], appends: float) -> None:
    print(f"verify: {statistics.median(wall):,.0f} entries/s (median of {len(wall)}; "
          f"best {max(wall):,.0f}); {statistics.median(cpu):,.0f} entries per CPU-second of "
          f"this process; goal {GOAL:,}")
    print(f"record + commit: {appends:,.0f} appends/s (one transaction each)")
    best_cpu = statistics.median(cpu)
    figure(f"audit verify, {entries:,} entries (one core)",
           f"{best_cpu:,.0f} per CPU-s ({statistics.median(wall):,.0f}/s wall)",
           f">= {GOAL:,}/s", best_cpu >= GOAL)


def on_dataset(url: str, rounds: int, appends: int) -> None:
    from sqlalchemy import func, select

    from benchmarks.dataset import dataset_app

    with dataset_app(url):
        count = db.session.scalar(select(func.count()).select_from(audit.AuditEntry)) or 0
        db.session.rollback()
        print(f"database: the national dataset ({make_url(url).database}), {count:,} entries")
        wall, cpu = time_verification(count, rounds)
        report(count, wall, cpu, time_appends(appends))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--appends", type=int, default=1_000)
    arguments = parser.parse_args()
    if os.environ.get("SENIM_BENCH_DATASET_URL"):
        on_dataset(os.environ["SENIM_BENCH_DATASET_URL"], arguments.rounds, min(arguments.appends, 200))
        return

    with tempfile.TemporaryDirectory() as workdir, scratch_database(Path(workdir)) as url:
        config = Config(env="testing", instance_path=Path(workdir), database_url=url,
                        secret_key=secrets.token_urlsafe(32),
                        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
                        argon2=CHEAP_ARGON2)
        app = create_app(config)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            print(f"database: {make_url(url).get_backend_name()} ({make_url(url).database})")
            seconds = fill(arguments.entries)
            print(f"filled {arguments.entries:,} synthetic entries in {seconds:.1f} s")
            wall, cpu = time_verification(arguments.entries, arguments.rounds)
            report(arguments.entries, wall, cpu, time_appends(arguments.appends))
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
