"""Where one intake submission spends its time: ``POST /api/v1/contacts`` through the test client,
profiled (issue 13: "measure with a profiler before you optimise").

Run: ``.venv/bin/python benchmarks/profile_intake.py [--submissions 200] [--top 30]``

Uses the national dataset when ``SENIM_BENCH_DATASET_URL`` is set (with its key in
``SENIM_BENCH_MASTER_KEY``), else seeds ``senim_profile_intake`` on the server of
``SENIM_DATABASE_URL`` and drops it afterwards. Prints the milliseconds per submission without
and with the profiler, then the functions by their own time and by cumulative time (cProfile;
pyinstrument, when installed, gives a call tree with ``--tree``).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bench_intake as bench  # noqa: E402


def _submitter(app: Any, token: str) -> Any:
    client = app.test_client()
    run = secrets.token_hex(4)
    headers = {"Authorization": f"Bearer {token}"}
    count = iter(range(10**9))

    def submit() -> None:
        key = f"profile-{run}-{next(count)}"
        response = client.post("/api/v1/contacts", json=copy.deepcopy(bench.CONTACT),
                               headers={**headers, "Idempotency-Key": key})
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/v1/contacts: {response.status_code}")
    return submit


def _per_submission(submit: Any, n: int) -> float:
    began = time.perf_counter()
    for _ in range(n):
        submit()
    return (time.perf_counter() - began) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--tree", action="store_true", help="pyinstrument's call tree instead")
    arguments = parser.parse_args()
    key, secret = bench.master_key(), secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp, \
            bench.bench_database(False, "senim_profile_intake") as (url, shared):
        app = bench.make_app(url, key, secret, Path(tmp) / "instance")
        seeded = bench.seed(app, shared)
        submit = _submitter(app, seeded["token"])
        for _ in range(20):
            submit()  # warm caches: directory, algorithm, templates, prepared statements
        plain = _per_submission(submit, arguments.submissions)
        print(f"{plain:.1f} ms per submission without the profiler "
              f"({arguments.submissions} submissions)")
        if arguments.tree:
            from pyinstrument import Profiler  # optional: only this view needs it

            profiler = Profiler(interval=0.0005)
            profiler.start()
            _per_submission(submit, arguments.submissions)
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False))
            return
        profile = cProfile.Profile()
        profile.enable()
        profiled = _per_submission(submit, arguments.submissions)
        profile.disable()
        print(f"{profiled:.1f} ms per submission under cProfile")
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(arguments.top)
            print(out.getvalue())


if __name__ == "__main__":
    main()
