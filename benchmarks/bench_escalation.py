"""One escalation sweep over the national dataset's three million referrals (goal: at most 2 s,
issue 13), on PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_escalation.py [--sweeps 5]`` (inside ``make bench`` it
uses the runner's dataset; alone it seeds or reuses its own, see benchmarks/dataset.py).

The dataset is a live system's: every level that was overdue at its "now" has been raised
(benchmarks/dataset.py seeds those escalations), as a timer sweeping every minute leaves it. Each
sweep here runs one minute after the latest escalation in the database (so runs repeat: every
run moves on), escalates what fell due in that minute, and is timed whole: the candidate
queries over three million referrals, the escalations with their events, notifications and audit
entries, one committed transaction per batch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from benchmarks.dataset import NOW, dataset_app
from benchmarks.figures import dataset, figure
from core.extensions import db
from referrals.handoffs import escalation
from referrals.handoffs.models import Referral, ReferralEscalation

GOAL_SECONDS = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=5)
    arguments = parser.parse_args()
    with dataset_app(dataset()):
        referrals = db.session.scalar(select(func.count()).select_from(Referral))
        latest = db.session.scalar(select(func.max(ReferralEscalation.at))) or NOW
        db.session.rollback()
        moment = max(latest, NOW)
        samples = []
        for _ in range(arguments.sweeps):
            moment += timedelta(minutes=1)
            began = time.perf_counter()
            result = escalation.sweep(moment)
            samples.append(time.perf_counter() - began)
            print(f"  sweep at {moment.isoformat()}: {result.total} escalated "
                  f"({result.escalated}), {result.batches} batches, {samples[-1] * 1000:.0f} ms",
                  flush=True)
        p50 = statistics.median(samples)
        figure(f"escalation sweep, {referrals:,} referrals", f"p50 {p50:.2f} s "
               f"(max {max(samples):.2f})", f"<= {GOAL_SECONDS:g} s", p50 <= GOAL_SECONDS)


if __name__ == "__main__":
    main()
