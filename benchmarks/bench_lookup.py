"""Blind-index search over a million children on PostgreSQL (goal: p50 <= 20 ms per lookup).

Run: ``SENIM_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/senim .venv/bin/python
benchmarks/bench_lookup.py [--rows 1000000] [--lookups 200]``

Builds ``children`` rows in a scratch database through the real migrations. Every row carries a
real AES-GCM ciphertext bound to its id, so candidates really decrypt; filler rows get uniformly
random 16-bit index values (what a keyed hash truncated to 16 bits produces) because computing
a million scrypt indexes would take half an hour and measure nothing new. The rows searched for
carry their real blind index. A lookup = candidates for every key in the ring (scrypt) + the
indexed query + decrypting the candidates + keeping the true matches, as intake's search does.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text

from benchmarks.bench_audit import scratch_database
from core.app import create_app
from core.config import CHEAP_ARGON2, Config
from core.crypto import normalize_iin
from core.encryption import crypto, index_candidates
from core.extensions import db
from core.ids import new_id
from intake.models import Child

COPY_BATCH = 50_000


def _iins(count: int) -> list[str]:
    """``count`` distinct valid IINs of girls born on 15 March 2012 (fictional serials)."""
    from core.validation import iin_check_digit

    found = []
    for serial in range(10_000):
        base = f"1203156{serial:04d}"
        digit = iin_check_digit(base)
        if digit is not None:
            found.append(base + str(digit))
            if len(found) == count:
                return found
    raise RuntimeError("not enough IINs")


def fill(rows: int, targets: int) -> list[str]:
    """Insert ``rows`` children; returns the IINs of the ``targets`` rows that are searchable."""
    cipher = crypto().cipher
    wanted = _iins(targets)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for start in range(0, rows, COPY_BATCH):
            buffer = io.StringIO()
            for index in range(start, min(rows, start + COPY_BATCH)):
                row_id = new_id()
                is_target = index < targets
                iin = wanted[index] if is_target else f"filler-{index}"
                blob = cipher.encrypt(iin, table="children", column="iin", row_id=row_id)
                bidx = (crypto().indexer.compute("iin", iin) if is_target
                        else format(random.getrandbits(16), "04x"))
                buffer.write(f"{row_id}\t\\\\x{blob.hex()}\t{bidx}\tunknown\tKZ-27\t[]\t2026-01-01 00:00:00+00\n")
            buffer.seek(0)
            with cursor.copy("COPY children (id, iin, iin_bidx, sex, region, risk_flags, updated_at) FROM STDIN") as copy:
                copy.write(buffer.read())
            raw.commit()
    finally:
        raw.close()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE children"))
    return wanted


def lookup(value: str) -> list[Child]:
    candidates = index_candidates("iin", value)
    rows = db.session.scalars(select(Child).where(Child.iin_bidx.in_(candidates)))
    wanted = normalize_iin(value)
    return [child for child in rows if child.iin == wanted]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()
    if not os.environ.get("SENIM_DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("run it on PostgreSQL: set SENIM_DATABASE_URL")
    with tempfile.TemporaryDirectory() as workdir, scratch_database(Path(workdir)) as url:
        config = Config(env="testing", instance_path=Path(workdir), database_url=url,
                        secret_key="bench", argon2=CHEAP_ARGON2,
                        master_key=base64.b64encode(os.urandom(32)).decode())
        app = create_app(config)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            began = time.perf_counter()
            targets = fill(args.rows, min(args.lookups, 500))
            print(f"inserted {args.rows:,} children in {time.perf_counter() - began:.1f} s")
            timings, candidates = [], []
            for value in (targets * (args.lookups // len(targets) + 1))[: args.lookups]:
                db.session.expunge_all()
                t0 = time.perf_counter()
                found = lookup(value)
                timings.append((time.perf_counter() - t0) * 1000)
                candidates.append(db.session.scalar(text(
                    "SELECT count(*) FROM children WHERE iin_bidx = ANY(:c)"),
                    {"c": list(index_candidates("iin", value))}))
                assert found and found[0].iin == value
            timings.sort()
            print(json.dumps({
                "rows": args.rows, "lookups": args.lookups,
                "lookup_ms_p50": round(statistics.median(timings), 2),
                "lookup_ms_p95": round(timings[int(len(timings) * 0.95) - 1], 2),
                "candidates_per_lookup_mean": round(statistics.fmean(candidates), 1),
            }, indent=2))


if __name__ == "__main__":
    main()
