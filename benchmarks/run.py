"""``make bench``: seed (or reuse) the national dataset once, run every ``benchmarks/bench_*.py``
against it, and print one table of their figures with the goals (issue 13).

Each script prints its figures as ``FIGURE<TAB>name<TAB>value<TAB>goal<TAB>yes|no`` lines
(benchmarks/figures.py) among whatever detail it likes; this runner shows the detail as it
comes and collects those lines. Scripts get ``SENIM_BENCH_DATASET_URL`` (the seeded, migrated
database: they may add rows of their own to it, never drop it) and ``SENIM_MASTER_KEY`` (the
dataset's fictional key, so that a server a script starts can read the data);
``SENIM_DATABASE_URL`` keeps naming the server (default: the local one).

Run: ``.venv/bin/python benchmarks/run.py [--only NAME ...] [--rebuild]``. Exit status 1 when a
script failed (a goal not met is reported in the table, not as a failure).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dataset import MASTER_KEY, ensure_dataset, server_reachable, server_url  # noqa: E402

BUDGET_MINUTES = 20


@dataclass(frozen=True)
class Figure:
    script: str
    name: str
    value: str
    goal: str
    met: str  # "yes", "no", or "-" for a script that failed before reporting


def parse_figure(script: str, line: str) -> Figure | None:
    """The figure on a ``FIGURE`` line, or None for any other line (or a malformed one)."""
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 5 or parts[0] != "FIGURE" or parts[4] not in ("yes", "no"):
        return None
    return Figure(script, *parts[1:])


def run_script(script: Path, env: dict[str, str]) -> tuple[int, list[Figure], float]:
    """Runs one script, echoing its output; (exit status, its figures, seconds)."""
    began = time.perf_counter()
    found: list[Figure] = []
    with subprocess.Popen([sys.executable, "-u", str(script)], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        for line in process.stdout:
            figure = parse_figure(script.name, line)
            if figure is not None:
                found.append(figure)
            print(line, end="", flush=True)
    return process.returncode, found, time.perf_counter() - began


def table(figures: list[Figure]) -> str:
    heads = ("figure", "value", "goal", "met")
    rows = [(f.name, f.value, f.goal, f.met) for f in figures]
    widths = [max(len(str(r[i])) for r in [heads, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only these scripts (e.g. bench_routing)")
    parser.add_argument("--rebuild", action="store_true", help="seed the dataset again")
    arguments = parser.parse_args()
    began = time.perf_counter()
    if not server_reachable():
        print(f"PostgreSQL is not reachable at {server_url().render_as_string()}: "
              "set SENIM_DATABASE_URL to a postgresql:// server")
        return 1
    url = ensure_dataset(rebuild=arguments.rebuild)
    seeded = time.perf_counter() - began
    env = dict(os.environ, SENIM_BENCH_DATASET_URL=url, SENIM_MASTER_KEY=MASTER_KEY,
               SENIM_DATABASE_URL=os.environ.get("SENIM_DATABASE_URL")
               or server_url().set(database="postgres").render_as_string(hide_password=False))
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if arguments.only:
        scripts = [s for s in scripts if s.stem in arguments.only or s.name in arguments.only]
    figures: list[Figure] = []
    failed: list[str] = []
    timings: list[str] = []
    for script in scripts:
        print(f"\n== {script.relative_to(ROOT)}", flush=True)
        status, found, seconds = run_script(script, env)
        figures += found
        timings.append(f"{script.name} {seconds:.0f} s")
        if status != 0:
            failed.append(script.name)
            figures.append(Figure(script.name, f"{script.name} FAILED (exit {status})", "-", "-", "-"))
        elif not found:
            figures.append(Figure(script.name, f"{script.name}: no figures", "-", "-", "-"))
    minutes = (time.perf_counter() - began) / 60
    figures.append(Figure("run.py", "make bench, wall time (all of the above)", f"{minutes:.1f} min",
                          f"< {BUDGET_MINUTES} min", "yes" if minutes < BUDGET_MINUTES else "no"))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"\n== figures (dataset ready in {seeded:.0f} s; {'; '.join(timings)}; "
          f"load average now {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} CPUs)")
    print(table(figures))
    met = sum(f.met == "yes" for f in figures)
    print(f"\n{met} of {sum(f.met in ('yes', 'no') for f in figures)} goals met"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
