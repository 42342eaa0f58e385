"""``senim keys rotate``: records re-encrypted per second, and the time it would take over the
national dataset's million contacts (issue 13), on PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_keys.py [--contacts 20000]``

Measured on a subset, extrapolated: rotating re-encrypts every value and recomputes every blind
index under the new key, and a blind index costs a deliberate ~1.5 ms of scrypt (security.md
§1), so a million contacts take tens of minutes on one core: more than ``make bench`` may
spend. The subset is a database of its own (``senim_perf_rotate``, benchmarks/dataset.py with
``--contacts`` contacts (default 5,000), three referrals per contact, as many audit entries: the national
dataset's shape at a smaller size; kept between runs, every run rotates it once more). The
command runs in this process as an operator would run it, minus the settling pause (no other
process is using the database). Records = rows of the encrypted tables, each read (twice: the
final pass looks for values a lagging process wrote under the old key) and rewritten when it
holds a value. Profiled (cProfile, 5,000 contacts): scrypt for the phones' blind indexes is
about half of the time, the second pass a fifth; the rest is decryption, encryption and the
ORM's reads and writes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from benchmarks.dataset import Sizes, dataset_app, ensure_dataset
from benchmarks.figures import figure
from core.encryption import ENCRYPTED_FIELDS
from core.extensions import db

DATABASE = "senim_perf_rotate"
NATIONAL_CONTACTS = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5_000)
    arguments = parser.parse_args()
    sizes = Sizes(contacts=arguments.contacts, referrals=arguments.contacts * 3,
                  audit_entries=arguments.contacts)
    url = ensure_dataset(sizes, DATABASE)
    with dataset_app(url) as app:
        rows = sum(db.session.scalar(select(func.count()).select_from(model)) or 0
                   for model in {f.model for f in ENCRYPTED_FIELDS})
        db.session.rollback()
        began, began_cpu = time.perf_counter(), time.process_time()
        result = app.test_cli_runner().invoke(args=["keys", "rotate", "--settle-seconds", "0"])
        seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        print(result.output.strip())
        if result.exit_code != 0:
            raise SystemExit(f"keys rotate failed: {result.output}")
    per_second = rows / seconds
    # Contacts dominate (phone and summary each, the phone's blind index); the other tables of
    # the subset scale with it, so the whole rotation scales with the contacts.
    national = seconds * NATIONAL_CONTACTS / arguments.contacts
    print(f"rotated {rows:,} records ({arguments.contacts:,} contacts) in {seconds:.1f} s "
          f"({cpu:.1f} s CPU in this process): {per_second:,.0f} records/s")
    figure("keys rotate, records/s", f"{per_second:,.0f}/s ({rows:,} records)", "(reported)", True)
    national_cpu = cpu * NATIONAL_CONTACTS / arguments.contacts
    figure(f"keys rotate, {NATIONAL_CONTACTS:,} contacts (extrapolated from {arguments.contacts:,})",
           f"{national / 60:.0f} min wall ({national_cpu / 60:.0f} min of one core)", "(reported)",
           True)


if __name__ == "__main__":
    main()
