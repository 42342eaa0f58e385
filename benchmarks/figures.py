"""The one line per figure that ``make bench`` collects (benchmarks/run.py), and the dataset
every benchmark shares: ``SENIM_BENCH_DATASET_URL`` when the runner seeded it, else a
database of this helper's own, seeded (or reused) by benchmarks/dataset.py."""

from __future__ import annotations

import os

SOLO_DATABASE = "senim_perf_bench"  # a script run alone, without the runner


def figure(name: str, value: str, goal: str, met: bool) -> None:
    """``FIGURE<TAB>name<TAB>value<TAB>goal<TAB>yes|no`` on standard output."""
    for text in (name, value, goal):
        if "\t" in text or "\n" in text:
            raise ValueError(f"a figure's fields hold no tab or newline: {text!r}")
    print(f"FIGURE\t{name}\t{value}\t{goal}\t{'yes' if met else 'no'}", flush=True)


def dataset() -> str:
    """The URL of the national dataset: the runner's, or one seeded for this script alone."""
    url = os.environ.get("SENIM_BENCH_DATASET_URL")
    if url:
        return url
    from benchmarks.dataset import ensure_dataset

    return ensure_dataset(database=SOLO_DATABASE)
