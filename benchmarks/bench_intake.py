"""Intake under load and the main pages at full size (issue 13), on PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_intake.py [--workers 2] [--clients 16] [--seconds 20]
[--rate 100] [--runs 30] [--keep]``

Figures (``FIGURE`` lines, benchmarks protocol):

- ``intake_throughput_ratio``: saturation throughput of ``POST /api/v1/contacts`` with
  ``--clients`` concurrent clients against Senim, over the same for the bare Flask + SQLAlchemy
  insert of benchmarks/baseline_app.py, both served by gunicorn with ``--workers`` sync workers
  on the same database server, measured one after the other in this run (goal >= 0.5);
- ``intake_p50_ms`` / ``intake_p99_ms`` at a fixed arrival rate of ``--rate`` contacts/s
  (open loop; goal p99 <= 100 ms);
- p50/p95 of each main page at full size, rendered in-process (queries, decryption, templates,
  audit entry; no network): the operator's queue, a case page with many contacts, case search
  by IIN over many cases, a unit inbox with thousands of referrals, a referral page
  (goal p95 <= 150 ms each);
- ``intake_page_weight_kb``: the contact form and every asset it loads (goal <= 100 KB);
- ``intake_statements``: SQL statements one submission runs (detail, no goal here: the unit
  suite holds the budget).

Database: ``SENIM_BENCH_DATASET_URL`` when set (the national dataset the bench runner seeded;
this script adds its own users, one case with many contacts and, when the busiest unit has
fewer, referrals for an inbox: all idempotent, nothing dropped), else ``senim_fastintake_bench``
on the server of ``SENIM_DATABASE_URL`` (default 127.0.0.1:5432), created, migrated and seeded
here and dropped at the end unless ``--keep``. Servers run on 127.0.0.1 ports 5131-5132 (override
with ``--port-base``). The encrypted dataset's master key comes from ``SENIM_BENCH_MASTER_KEY``
(else ``SENIM_MASTER_KEY``, else a fresh one: only right for a database seeded here).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from benchmarks import loadgen  # noqa: E402

DATABASE = "senim_fastintake_bench"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
OPERATOR = "bench.intake.operator"
UNIT_STAFF = "bench.intake.inbox"
GOAL_RATIO = 0.5
GOAL_P99_MS = 100.0
GOAL_PAGE_P95_MS = 150.0
GOAL_WEIGHT_KB = 100.0
SEARCH_CASES = 200_000  # cases seeded for the search (own database only)
INBOX_REFERRALS = 5_000
CASE_CONTACTS = 150

CONTACT: dict[str, Any] = {  # fictional, like the test suite's
    "channel": "phone", "contact_type": "third_party", "language": "kk",
    "caller": {"relation": "teacher", "name": "Бенч Қоңыраушы", "phone": "+77011234567",
               "callback_consent": True},
    "child": {"name": "Бенч Баланың Аты", "iin": "140315600018", "sex": "female", "age": 12,
              "region": "KZ-27", "district": "KZ-27-TEREKTI",
              "address": "Ойдан шығарылған мекенжай 1", "school": "№0 мектеп",
              "flags": ["dysfunctional_family"]},
    "categories": ["violence.sexual"], "urgency": "P2",
    "perpetrator": {"relation": "stranger", "lives_with_child": False},
    "flags": [], "place": "street",
    "summary": "Ойдан шығарылған бенчмарк хабарласуы.",
}


def figure(name: str, value: float, goal: str, met: bool, unit: str = "") -> None:
    shown = f"{value:.2f}" if isinstance(value, float) else str(value)
    print(f"FIGURE\t{name}\t{shown}{unit}\t{goal}\t{'yes' if met else 'no'}", flush=True)


# ---- the database -------------------------------------------------------------------------------


def server_url() -> Any:
    base = os.environ.get("SENIM_DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = DEFAULT_SERVER
    return make_url("postgresql+psycopg://" + base.split("://", 1)[1])


@contextmanager
def bench_database(keep: bool, name: str = DATABASE) -> Iterator[tuple[str, bool]]:
    """(URL, whether it is the shared dataset)."""
    shared = os.environ.get("SENIM_BENCH_DATASET_URL")
    if shared:
        url = make_url(shared)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        yield url.render_as_string(hide_password=False), True
        return
    url = server_url()
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False), False
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def reachable(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


def master_key() -> str:
    return (os.environ.get("SENIM_BENCH_MASTER_KEY") or os.environ.get("SENIM_MASTER_KEY")
            or base64.b64encode(secrets.token_bytes(32)).decode())


# ---- seeding (in-process, through the application's own services) ---------------------------------


def make_app(url: str, key: str, secret: str, instance: Path) -> Any:
    from core.app import create_app
    from core.config import CHEAP_ARGON2, Config

    config = Config(env="testing", instance_path=instance, database_url=url, secret_key=secret,
                    master_key=key, argon2=CHEAP_ARGON2)
    return create_app(config)


def _user(username: str, role: str, **extra: Any) -> Any:
    from core.extensions import db
    from core.models import User

    found = db.session.scalar(select(User).where(User.username == username))
    if found is None:
        found = User(username=username, display_name=f"Bench {role} (fictional)", role=role,
                     password_hash="-", **extra)
        db.session.add(found)
        db.session.flush()
    return found


def seed(app: Any, shared: bool) -> dict[str, Any]:
    """What the figures need; returns the ids and the operator's API token."""
    from flask_migrate import upgrade

    from core.extensions import db
    from core.models import AgencyUnit
    from core.users_service import issue_token
    from referrals import demo

    with app.app_context():
        if not shared:
            upgrade()
        if db.session.scalar(select(func.count()).select_from(AgencyUnit)) == 0:
            demo.load_directory()
        operator = _user(OPERATOR, "operator")
        _, token = issue_token(operator, "bench", 1)
        db.session.commit()
        case_id = _case_with_contacts(app, operator)
        unit_id = _busiest_unit()
        inbox_user = _user(UNIT_STAFF, "agency_staff", unit_id=unit_id)
        db.session.commit()
        if not shared:
            _search_cases(operator.id)
        _inbox_referrals(unit_id, operator.id)
        referral_id = db.session.scalar(text(
            "SELECT id FROM referrals WHERE case_id = :case AND unit_id = :unit LIMIT 1"),
            {"case": case_id, "unit": unit_id}) or db.session.scalar(text(
                "SELECT id FROM referrals WHERE unit_id = :unit LIMIT 1"), {"unit": unit_id})
        db.session.commit()
        return {"token": token, "operator": operator.id, "inbox_user": inbox_user.id,
                "case": case_id, "referral": referral_id, "unit": unit_id}


def _case_with_contacts(app: Any, operator: Any) -> str:
    """A case with CASE_CONTACTS contacts (a first report and follow-ups), made once."""
    from core.extensions import db
    from intake.models import Case, Contact
    from intake.service import submit_contact

    found = db.session.execute(text(
        "SELECT case_id, count(*) FROM contacts WHERE submitted_by = :user AND case_id IS NOT NULL "
        "AND idempotency_key LIKE 'bench-case-%' GROUP BY case_id ORDER BY 2 DESC LIMIT 1"),
        {"user": operator.id}).first()
    if found is not None and found[1] >= CASE_CONTACTS:
        return str(found[0])
    with app.test_request_context():
        first = submit_contact(CONTACT, operator, idempotency_key="bench-case-0")
        case_id = first.contact.case_id
        for i in range(1, CASE_CONTACTS):
            follow = {**CONTACT, "contact_type": "follow_up", "case_id": case_id,
                      "summary": f"Ойдан шығарылған қайта хабарласу {i}."}
            submit_contact(follow, operator, idempotency_key=f"bench-case-{i}")
    count = db.session.scalar(select(func.count()).select_from(Contact)
                              .where(Contact.case_id == case_id))
    assert db.session.get(Case, case_id) is not None and count == CASE_CONTACTS
    return str(case_id)


def _busiest_unit() -> str:
    from core.extensions import db

    unit = db.session.scalar(text(
        "SELECT r.unit_id FROM referrals r JOIN agency_units u ON u.id = r.unit_id "
        "WHERE u.agency = 'police' GROUP BY r.unit_id ORDER BY count(*) DESC LIMIT 1"))
    return str(unit)


def _search_cases(operator_id: str) -> None:
    """SEARCH_CASES plain cases opened by the bench operator over two years (server-side)."""
    from core.extensions import db

    db.session.execute(text("""
        INSERT INTO cases (id, number, status, urgency, region, district, opened_at, opened_by)
        SELECT '00000000-0000-7000-8100-' || lpad(i::text, 12, '0'), 'S-' || i,
               CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END, 'P3', 'KZ-27',
               'KZ-27-TEREKTI', now() - (i * interval '5 minutes'), :user
        FROM generate_series(1, :n) AS i
        ON CONFLICT DO NOTHING"""), {"user": operator_id, "n": SEARCH_CASES})
    db.session.commit()
    db.session.execute(text("ANALYZE cases"))


def _inbox_referrals(unit_id: str, operator_id: str) -> None:
    """Referrals for the inbox unit up to INBOX_REFERRALS, in the states an inbox holds."""
    from core.extensions import db

    have = int(db.session.scalar(text("SELECT count(*) FROM referrals WHERE unit_id = :u"),
                                 {"u": unit_id}) or 0)
    missing = INBOX_REFERRALS - have
    if missing <= 0:
        return
    case_ids = [r[0] for r in db.session.execute(text(
        "SELECT id FROM cases ORDER BY opened_at DESC LIMIT 2000"))]
    db.session.execute(text("""
        INSERT INTO referrals (id, case_id, agency, service, unit_id, mandatory, manual, rules,
                               status, region, district, created_at, ack_due_at, action_due_at,
                               escalation_level)
        SELECT '00000000-0000-7000-8200-' || lpad(i::text, 12, '0'),
               (CAST(:cases AS text[]))[1 + i % cardinality(CAST(:cases AS text[]))],
               'police', 'police.juvenile_inspector', :unit, true, false, '[]'::jsonb,
               (ARRAY['sent', 'acknowledged', 'accepted', 'completed'])[1 + i % 4],
               'KZ-27', 'KZ-27-TEREKTI', now() - i * interval '10 minutes',
               now() - i * interval '10 minutes' + interval '4 hours',
               now() - i * interval '10 minutes' + interval '1 day', 0
        FROM generate_series(1, :n) AS i
        ON CONFLICT DO NOTHING"""), {"cases": case_ids, "unit": unit_id, "n": missing})
    db.session.commit()
    db.session.execute(text("ANALYZE referrals"))


# ---- servers --------------------------------------------------------------------------------------


def _serve_command(workers: int, port: int, root: Path) -> list[str]:
    senim = ROOT / ".venv" / "bin" / "senim"
    probe = subprocess.run([str(senim), "serve", "--help"], capture_output=True, check=False,
                           cwd=root, env={**os.environ, "PYTHONPATH": str(root),
                                          "SENIM_ENV": "development"}) \
        if senim.exists() else None
    if probe is not None and probe.returncode == 0:
        return [str(senim), "serve", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    return [_gunicorn(), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "core.wsgi:app"]


def _gunicorn() -> str:
    local = ROOT / ".venv" / "bin" / "gunicorn"
    return str(local) if local.exists() else (shutil.which("gunicorn") or "gunicorn")


@contextmanager
def server(command: list[str], env: dict[str, str], port: int, log: Path,
           cwd: Path = ROOT) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=sink,
                                   start_new_session=True)
        try:
            _wait_listening(port, process)
        except RuntimeError:
            _stop(process)
            print(log.read_text(errors="replace")[-4000:], file=sys.stderr)  # why it died
            raise
        try:
            yield process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited ({process.returncode})")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not start")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


# ---- the load ---------------------------------------------------------------------------------------


BASELINE_TABLE = """CREATE TABLE IF NOT EXISTS baseline_contacts (
    id varchar(36) PRIMARY KEY, received_at timestamptz NOT NULL, body text NOT NULL)"""


def _senim_requests(token: str, prefix: str) -> loadgen.RequestFactory:
    body = loadgen.json_body(CONTACT)
    headers = {"Authorization": f"Bearer {token}"}

    def make(i: int) -> tuple[bytes, dict[str, str]]:
        return body, {**headers, "Idempotency-Key": f"{prefix}-{i}"}
    return make


def _baseline_requests() -> loadgen.RequestFactory:
    body = loadgen.json_body(CONTACT)
    return lambda i: (body, {})


def run_load(arguments: argparse.Namespace, url: str, key: str, secret: str, token: str,
             workdir: Path) -> None:
    base_port = arguments.port_base
    baseline_port, senim_port = base_port, base_port + 1
    for port in (baseline_port, senim_port):
        if not _free(port):
            raise SystemExit(f"port {port} is in use")
    env = {**os.environ, "SENIM_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    senim_root = arguments.senim_root.resolve()
    senim_env = {**env, "PYTHONPATH": str(senim_root), "SENIM_ENV": "production",
                 "SENIM_SECRET_KEY": secret, "SENIM_MASTER_KEY": key, "SENIM_INSTANCE_PATH": str(workdir / "instance"),
                 "SENIM_BASE_URL": "https://senim.example.kz",
                 # production refuses several workers without shared rate-limit counters
                 "SENIM_REDIS_URL": env.get("SENIM_REDIS_URL", "redis://127.0.0.1:6379/15")}
    senim_env.pop("SENIM_SMTP_URL", None)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(BASELINE_TABLE))
    engine.dispose()
    workers, clients, seconds = arguments.workers, arguments.clients, arguments.seconds
    run = secrets.token_hex(4)
    print(f"load: gunicorn, {workers} sync workers; {clients} clients for {seconds:.0f} s "
          "each (after a 3 s warm-up)", flush=True)
    baseline_cmd = [_gunicorn(), "--workers", str(workers), "--bind",
                    f"127.0.0.1:{baseline_port}", "benchmarks.baseline_app:app"]
    path = "/api/v1/contacts"
    with server(baseline_cmd, env, baseline_port, workdir / "baseline.log") as served:
        loadgen.saturate("127.0.0.1", baseline_port, path, _baseline_requests(),
                         clients=clients, seconds=3)
        before = _cpu(served.pid)
        base = loadgen.saturate("127.0.0.1", baseline_port, path, _baseline_requests(),
                                clients=clients, seconds=seconds)
        used = {part: _cpu(served.pid)[part] - before[part] for part in before}
    print(f"  baseline (bare Flask + SQLAlchemy insert): {base.summary()}", flush=True)
    _cpu_per_contact(used, base.ok, "baseline")
    command = _serve_command(workers, senim_port, senim_root)
    print(f"  senim: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}",
          flush=True)
    with server(command, senim_env, senim_port, workdir / "senim.log", cwd=senim_root) as served:
        loadgen.saturate("127.0.0.1", senim_port, path, _senim_requests(token, f"w{run}"),
                         clients=clients, seconds=3)
        before = _cpu(served.pid)
        full = loadgen.saturate("127.0.0.1", senim_port, path, _senim_requests(token, f"s{run}"),
                                clients=clients, seconds=seconds)
        used = {part: _cpu(served.pid)[part] - before[part] for part in before}
        print(f"  senim POST /api/v1/contacts, saturated: {full.summary()}", flush=True)
        _cpu_per_contact(used, full.ok, "senim")
        paced = loadgen.paced("127.0.0.1", senim_port, path, _senim_requests(token, f"p{run}"),
                              rate=arguments.rate, seconds=arguments.rate_seconds)
        print(f"  senim at {arguments.rate:.0f} contacts/s: {paced.summary()}", flush=True)
    ratio = full.throughput / base.throughput if base.throughput else 0.0
    clean = not full.errors and not base.errors
    figure("intake_baseline_per_s", round(base.throughput, 1), "-", True)
    figure("intake_senim_per_s", round(full.throughput, 1), "-", True)
    figure("intake_throughput_ratio", round(ratio, 3), f">= {GOAL_RATIO}",
           ratio >= GOAL_RATIO and clean)
    p50, p99 = paced.percentile(50), paced.percentile(99)
    sustained = not paced.errors and paced.ok >= 0.99 * arguments.rate * arguments.rate_seconds
    figure("intake_p50_ms", round(p50, 1), f"at {arguments.rate:.0f}/s", sustained)
    figure("intake_p99_ms", round(p99, 1), f"<= {GOAL_P99_MS:.0f} at {arguments.rate:.0f}/s",
           p99 <= GOAL_P99_MS and sustained)


# ---- where the CPU goes --------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu(server_group: int) -> dict[str, float]:
    """CPU seconds used so far by the server's processes (its process group), PostgreSQL's
    processes and this one (the load generator), read from /proc (Linux)."""
    totals = {"senim": 0.0, "postgresql": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        if int(fields[2]) == server_group:
            totals["senim"] += seconds
        elif name.startswith("postgres"):
            totals["postgresql"] += seconds
    times = os.times()
    totals["load generator"] = times.user + times.system
    return totals


def _cpu_per_contact(used: dict[str, float], contacts: int, who: str) -> None:
    """Per contact, what each side spent, and the ceiling the cores put on throughput."""
    if not contacts:
        return
    per = {part: seconds / contacts * 1000 for part, seconds in used.items()}
    total = sum(per.values())
    shares = ", ".join(f"{part} {ms:.1f} ms" for part, ms in per.items())
    cores = os.cpu_count() or 1
    print(f"  {who}: CPU per contact: {shares}; {total:.1f} ms in all, so {cores} cores allow at most "
          f"{cores * 1000 / total:.0f} contacts/s", flush=True)
    figure(f"intake_cpu_ms_per_contact_{who}", round(total, 2), "-", True)


# ---- pages ------------------------------------------------------------------------------------------


def _signed_in(app: Any, user_id: str) -> Any:
    from core.auth import sessions
    from core.clock import utcnow
    from core.extensions import db
    from core.models import User

    client = app.test_client()
    with app.test_request_context():  # sessions.start reads the request's User-Agent
        user = db.session.get(User, user_id)
        assert user is not None
        sid = sessions.start(user)  # a real server-side session, as signing in makes
        db.session.commit()
        now = utcnow().isoformat()
        with client.session_transaction() as session:
            session.update({"_user_id": user.get_id(), "_fresh": True, "sid": sid,
                            "started_at": now, "seen_at": now, "lang": "kk"})
    return client


def _timed(runs: int, action: Callable[[], Any]) -> tuple[float, float]:
    action()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * runs + 0.5) - 1)]


def _page(client: Any, path: str) -> Callable[[], Any]:
    def get() -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code}")
    return get


def run_pages(app: Any, seeded: dict[str, Any], runs: int) -> None:
    from core.extensions import db
    from intake.models import Contact

    operator = _signed_in(app, seeded["operator"])
    staff = _signed_in(app, seeded["inbox_user"])
    with app.app_context():
        contacts = db.session.scalar(select(func.count()).select_from(Contact)
                                     .where(Contact.case_id == seeded["case"]))
        inbox = db.session.scalar(text("SELECT count(*) FROM referrals WHERE unit_id = :u"),
                                  {"u": seeded["unit"]})
        cases = db.session.scalar(text("SELECT count(*) FROM cases"))
    print(f"pages (in-process, {runs} runs each after a warm-up): a case with {contacts} "
          f"contacts, an inbox of {inbox} referrals, search over {cases:,} cases", flush=True)
    iin = CONTACT["child"]["iin"]
    pages = [
        ("page_operator_queue", operator, "/"),
        ("page_case", operator, f"/cases/{seeded['case']}"),
        ("page_case_search", operator, f"/cases?q={iin}"),
        ("page_case_list", operator, "/cases"),
        ("page_unit_inbox", staff, "/inbox"),
        ("page_referral", staff, f"/referrals/{seeded['referral']}"),
    ]
    for name, client, path in pages:
        p50, p95 = _timed(runs, _page(client, path))
        print(f"  {path}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
        figure(f"{name}_p50_ms", round(p50, 1), "-", True)
        figure(f"{name}_p95_ms", round(p95, 1), f"<= {GOAL_PAGE_P95_MS:.0f}",
               p95 <= GOAL_PAGE_P95_MS)
    _page_weight(operator)


ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src|img[^>]+src)="(/[^"#?]+)[^"]*"')


def _page_weight(client: Any) -> None:
    """The contact form and the same-origin assets it references, uncompressed."""
    page = client.get("/intake/new")
    html = page.get_data()
    assets = sorted(set(ASSET.findall(html.decode("utf-8", "replace"))))
    total = len(html)
    for asset in assets:
        response = client.get(asset)
        if response.status_code == 200:
            total += len(response.get_data())
    kb = total / 1024
    print(f"intake page: {len(html) / 1024:.1f} KB of HTML and {len(assets)} assets, "
          f"{kb:.1f} KB in all", flush=True)
    figure("intake_page_weight_kb", round(kb, 1), f"<= {GOAL_WEIGHT_KB:.0f}", kb <= GOAL_WEIGHT_KB)


def count_statements(app: Any, token: str) -> None:
    from core.extensions import db
    from tests.sql import counting_statements

    client = app.test_client()  # each request in an app context (and session) of its own
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        engine = db.engine
    client.post("/api/v1/contacts", json=CONTACT,
                headers={**headers, "Idempotency-Key": f"c-{secrets.token_hex(4)}"})
    times = []
    for _ in range(10):
        with counting_statements(engine) as seen:  # the token's first use was the warm-up
            started = time.perf_counter()
            response = client.post("/api/v1/contacts", json=CONTACT, headers={
                **headers, "Idempotency-Key": f"c-{secrets.token_hex(4)}"})
            times.append((time.perf_counter() - started) * 1000)
    elapsed = statistics.median(times)
    assert response.status_code == 201, response.get_data(as_text=True)
    print(f"one submission through the test client: {len(seen)} SQL statements, "
          f"{elapsed:.1f} ms (median of 10)", flush=True)
    figure("intake_statements", len(seen), "-", True)


# ---- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--rate-seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per page")
    parser.add_argument("--port-base", type=int, default=5131)
    parser.add_argument("--database", default=DATABASE,
                        help="the database seeded here (without SENIM_BENCH_DATASET_URL)")
    parser.add_argument("--keep", action="store_true", help="keep the database seeded here")
    parser.add_argument("--skip-load", action="store_true", help="pages and weight only")
    parser.add_argument("--skip-pages", action="store_true", help="intake under load only")
    parser.add_argument("--senim-root", type=Path, default=ROOT,
                        help="serve Senim from this checkout (to compare a before and after)")
    arguments = parser.parse_args()
    if not reachable(server_url().set(database="postgres").render_as_string(hide_password=False)):
        print(f"PostgreSQL is not reachable at {server_url().render_as_string()}: skipped")
        return
    import logging

    logging.getLogger("referrals.handoffs.notify").setLevel(logging.WARNING)
    key, secret = master_key(), secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp, bench_database(arguments.keep, arguments.database) as (url, shared):
        workdir = Path(tmp)
        print(f"database: {make_url(url).database}"
              f"{' (the shared dataset)' if shared else ' (seeded here)'}", flush=True)
        app = make_app(url, key, secret, workdir / "instance")
        started = time.perf_counter()
        seeded = seed(app, shared)
        print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
        count_statements(app, seeded["token"])
        if not arguments.skip_load:
            run_load(arguments, url, key, secret, seeded["token"], workdir)
        if not arguments.skip_pages:
            run_pages(app, seeded, arguments.runs)
        with app.app_context():
            from core.extensions import db

            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
