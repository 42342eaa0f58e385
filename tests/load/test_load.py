"""Load and fault tests (issue 13 item 3) against `senim serve` on a throwaway PostgreSQL cluster.

Small by default so that CI runs them in its PostgreSQL pass; ``SENIM_LOAD_SECONDS`` and
``SENIM_LOAD_CLIENTS`` make them longer or wider. They measure nothing: throughput figures
belong to `make bench`. What they assert is that nothing is lost or doubled: every contact the
server acknowledged is stored, each idempotency key made exactly one contact even when a worker
was killed or PostgreSQL restarted under the clients, and the audit chain still verifies.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.load import harness

pytestmark = [pytest.mark.load, pytest.mark.postgres_only, pytest.mark.slow,
              pytest.mark.xdist_group("load")]

SECONDS = float(os.environ.get("SENIM_LOAD_SECONDS", "6"))
CLIENTS = int(os.environ.get("SENIM_LOAD_CLIENTS", "16"))
WORKERS = 2


@dataclass
class Instance:
    cluster: harness.Cluster
    server: harness.Server
    database_url: str
    env: dict[str, str]
    token: str


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    cluster = harness.Cluster()
    cluster.start()
    server = None
    try:
        database_url = cluster.create_database("senim_load")
        folder = tmp_path_factory.mktemp("load")
        env = harness.server_env(database_url, folder / "instance")
        token = harness.seed(database_url, folder / "instance")
        server = _start_server(env, folder / "server.log")
        yield Instance(cluster, server, database_url, env, token)
    finally:
        if server is not None:
            server.stop()
        cluster.stop()


def _start_server(env: dict[str, str], log: Path) -> harness.Server:
    for attempt in range(3):  # the chosen port may be taken by someone else before gunicorn binds
        try:
            return harness.Server(env, WORKERS, log)
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _assert_exactly_one_contact_per_key(instance: Instance, outcome: harness.Outcome, prefix: str) -> None:
    print(f"{prefix}: {len(outcome.acknowledged)} contacts acknowledged; answers {dict(outcome.statuses)}")
    assert not outcome.unfinished, f"never acknowledged: {outcome.unfinished[:5]} ({outcome.statuses})"
    assert outcome.acknowledged, "the clients got nothing through"
    stored = harness.contacts_by_key(instance.database_url, prefix)
    doubled = {key: ids for key, ids in stored.items() if len(ids) != 1}
    assert not doubled, f"keys with more than one contact: {list(doubled.items())[:5]}"
    # Every acknowledged contact is there, under the id the client was told...
    assert {key: ids[0] for key, ids in stored.items() if key in outcome.acknowledged} == outcome.acknowledged
    # ...and nothing was stored that no client was told about.
    assert set(stored) == set(outcome.acknowledged)


def _assert_audit_chain_verifies(instance: Instance) -> None:
    result = harness.audit_verify(instance.env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("entries verified")


def test_sixteen_clients_without_a_single_error(instance: Instance) -> None:
    outcome = harness.run_clients(instance.server.port, instance.token, clients=CLIENTS,
                                  seconds=SECONDS, prefix="steady")
    assert outcome.errors == 0, outcome.statuses
    assert outcome.statuses["201"] == len(outcome.acknowledged)
    _assert_exactly_one_contact_per_key(instance, outcome, "steady")
    _assert_audit_chain_verifies(instance)


def test_a_worker_killed_mid_load_loses_and_doubles_nothing(instance: Instance) -> None:
    server = instance.server
    before = server.workers()
    assert len(before) == WORKERS

    def kill_a_worker() -> None:
        os.kill(before[0], signal.SIGKILL)

    with harness.during(kill_a_worker, after=SECONDS / 3) as problems:
        outcome = harness.run_clients(server.port, instance.token, clients=CLIENTS,
                                      seconds=SECONDS, prefix="sigkill")
    assert not problems, problems
    _assert_exactly_one_contact_per_key(instance, outcome, "sigkill")
    # gunicorn replaced the dead worker, and the server as a whole still answers.
    after = server.workers()
    assert len(after) == WORKERS and before[0] not in after
    server.wait_healthy(seconds=10)
    _assert_audit_chain_verifies(instance)


def test_a_postgres_restart_mid_load_is_survived_without_restarting_senim(instance: Instance) -> None:
    server = instance.server
    workers = server.workers()
    with harness.during(instance.cluster.restart, after=SECONDS / 3) as problems:
        outcome = harness.run_clients(server.port, instance.token, clients=CLIENTS,
                                      seconds=SECONDS, prefix="pgrestart")
    assert not problems, problems
    _assert_exactly_one_contact_per_key(instance, outcome, "pgrestart")
    # The same worker processes serve on (the pool replaced its dead connections).
    assert server.workers() == workers
    server.wait_healthy(seconds=10)
    later = harness.run_clients(server.port, instance.token, clients=2, seconds=1, prefix="afterwards")
    assert later.errors == 0, later.statuses
    _assert_audit_chain_verifies(instance)


def test_the_access_log_keeps_no_query_string(instance: Instance) -> None:
    server = instance.server
    status, _ = server.get("/api/v1/cases?q=%2B77019876543", {"Authorization": f"Bearer {instance.token}"})
    assert status == 200
    status, _ = server.get("/healthz?probe=qs-marker-5d1f")
    assert status == 200
    log = Path(server.log).read_text(errors="replace")
    assert '"path": "/api/v1/cases"' in log and '"path": "/healthz"' in log
    for secret in ("77019876543", "qs-marker-5d1f", "q="):
        assert secret not in log
