"""What the load and fault tests drive: a throwaway PostgreSQL cluster of their own (never the
shared server: it gets restarted), `senim serve` on it, and HTTP clients that retry with their
idempotency keys as a telephony integration would.

Ports: free ones chosen by the system, or taken from ``SENIM_TEST_PORTS`` (the server) and
``SENIM_TEST_PG_PORTS`` (the cluster), each ``LOW-HIGH``, where a machine hands out port ranges.
"""

from __future__ import annotations

import base64
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
SECRET_KEY = "load-test-secret-key-not-for-production"
OPERATOR = "load_operator"
PASSWORD = "correct horse battery staple"
SENIM = Path(sys.executable).parent / "senim"

CONTACT: dict[str, Any] = {
    "channel": "phone", "contact_type": "third_party", "language": "kk",
    "started_at": "2026-11-20T09:50:00+05:00", "ended_at": "2026-11-20T09:59:00+05:00",
    "caller": {"relation": "teacher", "name": "Гүлнар Сапарова", "phone": "+77011234567",
               "callback_consent": True},
    "child": {"name": "Әсел Қайратқызы", "iin": "140315600018", "sex": "female", "age": 12,
              "region": "KZ-27", "district": "KZ-27-TEREKTI", "flags": ["dysfunctional_family"]},
    "categories": ["violence.physical"], "urgency": "P2",
    "perpetrator": {"relation": "parent", "lives_with_child": True},
    "flags": [], "place": "home",
    "summary": "Мұғалім баланың денесінде көгерген іздер көрді (жүктеме сынағы, ойдан шығарылған).",
}


def free_port(variable: str) -> int:
    """A port nobody listens on, from the range in ``variable`` when it is set."""
    spec = os.environ.get(variable, "").strip()
    candidates = range(int(spec.split("-")[0]), int(spec.split("-")[-1]) + 1) if spec else [0]
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError(f"no free port in {variable}={spec}")


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if not found:
        raise RuntimeError("initdb not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return Path(found[-1]).parent


class Cluster:
    """A PostgreSQL cluster in a temporary folder, on a free port, as the postgres user when
    this runs as root (initdb refuses root)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="senim-load-pg-"))
        self.data = self.root / "data"
        self.port = free_port("SENIM_TEST_PG_PORTS")
        self.log = self.root / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-instructions")
        # Another process (another test worker) may take the port between the check and the
        # start: then try the next free one.
        for attempt in range(5):
            try:
                self._pg_ctl("start")
                return
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-1500:]}") from None
                self.port = free_port("SENIM_TEST_PG_PORTS")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", *extra, action)

    def restart(self) -> None:
        """Fast shutdown (every session cut off mid-query) and start again."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self._pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)


def server_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "SENIM_ENV": "testing", "SENIM_DATABASE_URL": database_url,
            "SENIM_INSTANCE_PATH": str(instance), "SENIM_MASTER_KEY": MASTER_KEY,
            "SENIM_SECRET_KEY": SECRET_KEY, **extra}


def seed(database_url: str, instance: Path) -> str:
    """Migrate, load the directory and an operator; return the operator's bearer token."""
    from flask_migrate import upgrade

    from core.app import create_app
    from core.config import Config
    from core.extensions import db
    from core.roles import Role
    from core.users_service import create_user, issue_token
    from referrals import demo

    app = create_app(Config.from_env(server_env(database_url, instance)))
    with app.app_context():
        upgrade()
        demo.load_directory()
        user = create_user(OPERATOR, "Load test operator", Role.OPERATOR, PASSWORD,
                           actor=None, via="cli")
        _, token = issue_token(user, "load test", 1)
        db.session.commit()
        db.engine.dispose()
    return token


class Server:
    """`senim serve` in its own process group, its output in a file."""

    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port("SENIM_TEST_PORTS")
        self.log = log
        self._handle = log.open("ab")
        self.process = subprocess.Popen(
            [str(SENIM), "serve", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "60"],  # generous: CI machines may be loaded
            env=env, stdout=self._handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_healthy()
        except RuntimeError:
            self.stop()
            raise

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def wait_healthy(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"senim serve exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                # Workers exist only once our master has bound the port: a 200 without them
                # would come from someone else's server on a port we were about to take.
                if self.get("/healthz")[0] == 200 and self.workers():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"/healthz never answered 200: {self.log.read_text(errors='replace')[-2000:]}")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:  # the master has exited
            return []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._handle.close()


@dataclass
class Outcome:
    """What the clients saw: every key they used, the id each key was acknowledged with."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    unfinished: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in ("201", "200"))


def _post(port: int, token: str, key: str, body: bytes) -> tuple[str, dict[str, Any] | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/api/v1/contacts", body=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Idempotency-Key": key})
        response = connection.getresponse()
        data = response.read()
        parsed = json.loads(data) if response.status in (200, 201) else None
        return str(response.status), parsed
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__, None
    finally:
        connection.close()


def run_clients(port: int, token: str, *, clients: int, seconds: float, prefix: str,
                give_up_after: float = 90) -> Outcome:
    """``clients`` threads submit contacts for ``seconds``; a contact whose answer is lost or
    is an error is re-sent with the same Idempotency-Key until it is acknowledged."""
    outcome = Outcome()
    stop_new = time.monotonic() + seconds
    give_up = stop_new + give_up_after

    def client(number: int) -> None:
        sequence = 0
        while time.monotonic() < stop_new:
            sequence += 1
            key = f"{prefix}-{number}-{sequence}-{uuid.uuid4().hex[:8]}"
            body = json.dumps({**CONTACT, "summary": f"{CONTACT['summary']} #{key}"}).encode()
            while True:
                status, answer = _post(port, token, key, body)
                with outcome.lock:
                    outcome.statuses[status] += 1
                    if answer is not None:
                        outcome.acknowledged[key] = answer["id"]
                if answer is not None:
                    break
                if time.monotonic() > give_up:
                    with outcome.lock:
                        outcome.unfinished.append(key)
                    return
                time.sleep(0.2)  # back off as a real client would; the server may be restarting

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


@contextmanager
def during(action: Callable[[], None], after: float) -> Iterator[list[BaseException]]:
    """Run ``action`` in a thread ``after`` seconds in; errors are handed back to the test."""
    errors: list[BaseException] = []

    def run() -> None:
        time.sleep(after)
        try:
            action()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        thread.join(timeout=120)


def contacts_by_key(database_url: str, prefix: str) -> dict[str, list[str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT idempotency_key, id FROM contacts WHERE idempotency_key LIKE :prefix"),
                {"prefix": f"{prefix}-%"}).all()
    finally:
        engine.dispose()
    found: dict[str, list[str]] = {}
    for key, contact_id in rows:
        found.setdefault(key, []).append(contact_id)
    return found


def audit_verify(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SENIM), "audit", "verify"], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
