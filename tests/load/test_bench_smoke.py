"""`make bench`'s intake script runs end to end and prints every figure it promises (issue 13).

Nothing here judges a figure (speed belongs to `make bench`, on a quiet machine); this only
keeps the script working. It broke twice without anyone noticing: `senim serve` began refusing
several workers without Redis in production, and signing in began to need a server-side session,
and each time `make bench` printed "FAILED" instead of the figures. Tiny sizes, PostgreSQL pass.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.load import harness

pytestmark = [pytest.mark.load, pytest.mark.postgres_only, pytest.mark.slow,
              pytest.mark.xdist_group("load")]

ROOT = Path(__file__).resolve().parents[2]
PROMISED = [
    "intake_statements", "intake_cpu_ms_per_contact_baseline", "intake_cpu_ms_per_contact_senim",
    "intake_baseline_per_s", "intake_senim_per_s", "intake_throughput_ratio", "intake_p50_ms",
    "intake_p99_ms", "page_operator_queue_p95_ms", "page_case_p95_ms", "page_case_search_p95_ms",
    "page_case_list_p95_ms", "page_unit_inbox_p95_ms", "page_referral_p95_ms",
    "intake_page_weight_kb",
]


def _figures(output: str) -> dict[str, str]:
    return {parts[1]: parts[2] for line in output.splitlines()
            if len(parts := line.split("\t")) == 5 and parts[0] == "FIGURE"}


def _run_bench(database: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SENIM_DATABASE_URL": os.environ["SENIM_DATABASE_URL"]}
    env.pop("SENIM_BENCH_DATASET_URL", None)  # seed its own small database, never the shared one
    for _ in range(3):  # a free port can be taken by another process before gunicorn binds it
        port = harness.free_port("SENIM_BENCH_SMOKE_PORTS")
        done = subprocess.run(
            [sys.executable, "benchmarks/bench_intake.py", "--seconds", "1", "--rate", "10",
             "--rate-seconds", "1", "--runs", "1", "--clients", "2", "--port-base", str(port),
             "--database", database],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        if "Address already in use" not in done.stdout + done.stderr:
            break
    return done


def test_the_intake_benchmark_prints_every_figure() -> None:
    done = _run_bench(f"senim_bench_smoke_{secrets.token_hex(4)}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = _figures(done.stdout)
    assert [name for name in PROMISED if name not in figures] == []
    assert int(figures["intake_statements"]) <= 17  # the unit suite's budget, seen end to end
