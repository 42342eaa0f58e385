"""Cost of field encryption and blind indexes on this machine.

Run: ``.venv/bin/python benchmarks/bench_crypto.py [--rounds N]``

Prints p50 (and p95) per operation: AES-256-GCM encrypt/decrypt per field in microseconds, and
the blind-index computation per value in milliseconds for each indexed field, to compare with the
~2 ms budget of security.md §1 and the figures written in ``core/crypto/blind_index.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import ssl
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import figure
from core.crypto import (
    INDEX_FIELDS,
    BlindIndexer,
    FieldCipher,
    KeyRing,
    MasterKey,
    blind_index,
    new_data_key,
    wrap_data_key,
)

INDEX_BUDGET_MS = 2.0

FIELDS: dict[str, tuple[str, str, str]] = {
    # name: (table, column, a realistic value)
    "child name": ("cases", "child_name", "Әсел Қайратқызы Нұрланова"),
    "phone": ("contacts", "caller_phone", "+77011234567"),
    "IIN": ("cases", "child_iin", "900101300811"),
    "address": ("cases", "child_address", "Орал қ., Абай даңғылы 10, 25-пәтер"),
    "summary (2 KB)": (
        "cases",
        "summary",
        ("Қоңырау шалушы баланың мектептегі жағдайы туралы хабарлады. " * 40)[:2000],
    ),
}
INDEX_SAMPLES = {
    "phone": [f"+7701{n:07d}" for n in range(1000)],
    "iin": ["900101300811", "120515600003"] * 500,
    "child_name": [f"Әсел Қайратқызы {n}" for n in range(1000)],
}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def timed(operation: Callable[[int], object], rounds: int) -> list[float]:
    for i in range(min(rounds, 50)):  # warm caches (derived keys, AESGCM objects)
        operation(i)
    samples = []
    for i in range(rounds):
        start = time.perf_counter_ns()
        operation(i)
        samples.append((time.perf_counter_ns() - start) / 1e3)  # microseconds
    return samples


def bench_cipher(cipher: FieldCipher, rounds: int) -> None:
    row_ids = [str(uuid.uuid4()) for _ in range(rounds)]
    print(f"\nAES-256-GCM per field ({rounds} samples)          p50 µs    p95 µs")
    for name, (table, column, value) in FIELDS.items():
        blobs = [cipher.encrypt(value, table=table, column=column, row_id=r) for r in row_ids]

        def encrypt(i: int, table: str = table, column: str = column, value: str = value) -> object:
            return cipher.encrypt(value, table=table, column=column, row_id=row_ids[i % rounds])

        def decrypt(i: int, table: str = table, column: str = column, blobs: list[bytes] = blobs) -> object:
            return cipher.decrypt(blobs[i % rounds], table=table, column=column, row_id=row_ids[i % rounds])

        for label, operation in (("encrypt", encrypt), ("decrypt", decrypt)):
            p50, p95 = percentiles(timed(operation, rounds))
            print(f"  {label} {name:<36} {p50:8.1f}  {p95:8.1f}")


def bench_index(indexer: BlindIndexer, ring: KeyRing, rounds: int) -> None:
    n_log2 = blind_index.SCRYPT_N.bit_length() - 1
    print(
        f"\nBlind index per value: scrypt N=2**{n_log2}, r={blind_index.SCRYPT_R}, "
        f"p={blind_index.SCRYPT_P} ({rounds} samples)"
    )
    print("                                          bits   p50 ms    p95 ms")
    for field, values in INDEX_SAMPLES.items():

        def compute(i: int, field: str = field, values: list[str] = values) -> object:
            return indexer.compute(field, values[i % len(values)])

        p50, p95 = percentiles([s / 1000 for s in timed(compute, rounds)])
        print(f"  compute {field:<31} {INDEX_FIELDS[field].bits:4d}  {p50:7.3f}  {p95:8.3f}")
        if field == "phone":  # was a timed unit test; timing belongs here (issue 13)
            figure("blind index, one value (phone), p50", f"{p50:.2f} ms (p95 {p95:.2f})",
                   f"<= {INDEX_BUDGET_MS:g} ms (security.md §1)", p50 <= INDEX_BUDGET_MS)
    key = ring.index_key(ring.current_id, "phone")

    def bare_scrypt(i: int) -> object:
        return hashlib.scrypt(
            key,
            salt=INDEX_SAMPLES["phone"][i % 1000].encode(),
            n=blind_index.SCRYPT_N,
            r=blind_index.SCRYPT_R,
            p=blind_index.SCRYPT_P,
            dklen=2,
        )

    p50, p95 = percentiles([s / 1000 for s in timed(bare_scrypt, rounds)])
    print(f"  (scrypt alone, no normalisation)            {p50:7.3f}  {p95:8.3f}")
    print("  normalisation alone:                               p50 ms")
    for field, values in INDEX_SAMPLES.items():
        normalizer = INDEX_FIELDS[field].normalizer

        def normalize(
            i: int, normalizer: Callable[[str], str] = normalizer, values: list[str] = values
        ) -> object:
            return normalizer(values[i % len(values)])

        p50, _ = percentiles([s / 1000 for s in timed(normalize, rounds)])
        print(f"  {field:<50} {p50:7.3f}")
    print(
        "\n(budget: about 2 ms per value, security.md §1; candidates() costs one compute per key in the ring)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Cost of field encryption and blind indexes.")
    parser.add_argument("--rounds", type=int, default=5000, help="samples per cipher operation")
    parser.add_argument("--index-rounds", type=int, default=300, help="samples per index field")
    args = parser.parse_args()

    master = MasterKey.generate()
    ring = KeyRing.from_wrapped(master, {1: wrap_data_key(master, new_data_key())}, current_id=1)
    machine = platform.processor() or platform.machine()
    print(f"{machine}, Python {platform.python_version()}, {ssl.OPENSSL_VERSION}")
    bench_cipher(FieldCipher(ring), args.rounds)
    bench_index(BlindIndexer(ring), ring, args.index_rounds)


if __name__ == "__main__":
    main()
