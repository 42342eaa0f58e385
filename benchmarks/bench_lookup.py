"""Blind-index search over the national dataset's million contacts, on PostgreSQL (goal: p50 at
most 5 ms per lookup, issue 13).

Run: ``.venv/bin/python benchmarks/bench_lookup.py [--lookups 300]`` (inside ``make bench`` it
uses the runner's dataset; alone it seeds or reuses its own, see benchmarks/dataset.py).

Every contact of the dataset carries a real AES-GCM ciphertext of its phone, bound to its id, so
candidates really decrypt; the phones searched for carry their real blind index, the others a
uniformly random 16-bit value (what a keyed hash truncated to 16 bits produces). A lookup is what
the case search does for a phone: candidates for every key in the ring (scrypt), the indexed
query, decrypting the candidates and keeping the true matches, on a connection already checked
out (a request's pool checkout and pre-ping are not the lookup's). The index computation is
timed apart too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from benchmarks.dataset import SEARCHED_PHONES, dataset_app, searched_phone
from benchmarks.figures import dataset, figure
from core.encryption import index_candidates
from core.extensions import db
from intake.models import Contact

GOAL_MS = 5.0


def lookup(value: str) -> tuple[list[Contact], float, int]:
    """The matching contacts, the ms spent computing the index, and the candidates fetched."""
    began = time.perf_counter()
    candidates = index_candidates("phone", value)
    indexed = (time.perf_counter() - began) * 1000
    rows = list(db.session.scalars(select(Contact).where(Contact.caller_phone_bidx.in_(candidates))))
    return [c for c in rows if c.caller_phone == value], indexed, len(rows)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=300)
    arguments = parser.parse_args()
    with dataset_app(dataset()):
        rows = db.session.scalar(select(func.count()).select_from(Contact))
        values = [searched_phone(1 + i % SEARCHED_PHONES) for i in range(arguments.lookups)]
        lookup(values[0])  # warm the connection pool and the key ring
        timings, indexing, fetched = [], [], []
        began_cpu = time.process_time()
        for value in values:
            db.session.expunge_all()
            began = time.perf_counter()
            found, indexed, candidates = lookup(value)
            timings.append((time.perf_counter() - began) * 1000)
            indexing.append(indexed)
            fetched.append(candidates)
            assert [c.caller_phone for c in found] == [value], value
        cpu_ms = (time.process_time() - began_cpu) * 1000 / len(values)
        p50 = statistics.median(timings)
        print(json.dumps({
            "contacts": rows, "lookups": len(values),
            "lookup_ms_p50": round(p50, 2), "lookup_ms_p95": round(percentile(timings, 0.95), 2),
            "index_ms_p50": round(statistics.median(indexing), 2),
            "candidates_per_lookup_mean": round(statistics.fmean(fetched), 1),
            # What this process spent per lookup; the rest of the wall time is the database and
            # waiting for a CPU (os.getloadavg() below).
            "client_cpu_ms_mean": round(cpu_ms, 2), "load_average": os.getloadavg()[0],
        }, indent=2))
        figure(f"blind-index lookup, phone, {rows:,} contacts", f"p50 {p50:.1f} ms "
               f"(p95 {percentile(timings, 0.95):.1f}; client CPU {cpu_ms:.1f})", f"p50 <= {GOAL_MS:g} ms", p50 <= GOAL_MS)


if __name__ == "__main__":
    main()
