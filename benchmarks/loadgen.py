"""A small HTTP load generator for the benchmarks: loopback only, bounded in requests and time.

Two ways to drive a server: ``saturate`` keeps N clients busy (each sends its next request as
soon as the previous answer arrives) and reports throughput; ``paced`` sends requests at a fixed
arrival rate (an open loop: a slow answer does not delay the next arrival, so queueing shows up
in the latencies) and reports the latency percentiles. Each client thread keeps one HTTP/1.1
keep-alive connection (``http.client``), as a load balancer in front of the servers would.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_REQUESTS = 200_000  # a hard bound whatever the caller asks
MAX_SECONDS = 120.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
GRACE = 10.0  # seconds a paced run may overrun before it stops sending

# (body, headers) of request number i
RequestFactory = Callable[[int], tuple[bytes, dict[str, str]]]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Milliseconds; nearest-rank."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    def summary(self) -> str:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none"
        return (f"{self.ok} ok in {self.seconds:.1f} s ({self.throughput:.1f}/s), "
                f"p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms, "
                f"mean {statistics.fmean(self.latencies) * 1000 if self.latencies else 0:.1f} ms, "
                f"errors: {errors}")


class _Client:
    def __init__(self, host: str, port: int) -> None:
        if host not in LOOPBACK:
            raise ValueError("the load generator only drives servers on the loopback interface")
        self.host, self.port = host, port
        self.connection: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.connection.request("POST", path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _headers(extra: dict[str, str], body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "Content-Length": str(len(body)), **extra}


def saturate(host: str, port: int, path: str, make: RequestFactory, *, clients: int,
             seconds: float, max_requests: int = MAX_REQUESTS, expect: int = 201) -> Result:
    """``clients`` threads sending back to back for ``seconds`` (or ``max_requests``)."""
    seconds = min(seconds, MAX_SECONDS)
    max_requests = min(max_requests, MAX_REQUESTS)
    result = Result()
    lock = threading.Lock()
    counter = iter(range(max_requests))
    deadline = time.perf_counter() + seconds

    def work() -> None:
        client = _Client(host, port)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                body, extra = make(i)
                _one(client, path, body, extra, expect, result, lock)
        finally:
            client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    result.seconds = time.perf_counter() - started
    return result


def paced(host: str, port: int, path: str, make: RequestFactory, *, rate: float,
          seconds: float, clients: int = 64, expect: int = 201) -> Result:
    """Requests arriving at ``rate`` per second for ``seconds``; each latency is measured from
    the request's scheduled arrival, so time spent waiting for a free client counts too. A
    server that cannot keep up would make the run last much longer: requests still unsent
    ``GRACE`` seconds after the last arrival are counted as ``not sent`` errors instead."""
    seconds = min(seconds, MAX_SECONDS)
    total = min(int(rate * seconds), MAX_REQUESTS)
    result = Result()
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.2
    give_up = start + seconds + GRACE

    def work() -> None:
        client = _Client(host, port)
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                if time.perf_counter() > give_up:
                    with lock:
                        result.errors["not sent"] = result.errors.get("not sent", 0) + 1
                    continue
                due = start + i / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                body, extra = make(i)
                _one(client, path, body, extra, expect, result, lock, since=due)
        finally:
            client.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    result.seconds = max(time.perf_counter() - start, 1e-9)
    return result


def _one(client: _Client, path: str, body: bytes, extra: dict[str, str], expect: int,
         result: Result, lock: threading.Lock, since: float | None = None) -> None:
    began = time.perf_counter() if since is None else since
    try:
        status, _ = client.post(path, body, _headers(extra, body))
    except (OSError, http.client.HTTPException) as error:
        with lock:
            result.errors[type(error).__name__] = result.errors.get(type(error).__name__, 0) + 1
        return
    elapsed = time.perf_counter() - began
    with lock:
        if status == expect:
            result.latencies.append(elapsed)
        else:
            result.errors[str(status)] = result.errors.get(str(status), 0) + 1


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
