"""The national-scale dataset every benchmark shares (issue 13): seeded once, reused after.

``ensure_dataset()`` returns the SQLAlchemy URL of a migrated PostgreSQL database holding a
million contacts (80% of them opening a case), three million referrals and a million audit
entries, spread over the country's regions (the pilot region's districts too), the categories
and the states a helpline accumulates over two years. A database that an earlier run completed
(its ``bench_dataset`` row says so, with this module's ``VERSION`` and sizes) is reused as it is,
after ``flask db upgrade``; anything else is dropped and seeded again.

Seeding is server-side where it can be (``INSERT ... SELECT generate_series``, no Python loop):
cases, referrals and escalations. Contacts and audit entries are streamed with ``COPY`` from
Python because their contents must be genuine: every contact's phone and summary are real
AES-256-GCM ciphertexts bound to the row's id (so pages, searches and ``senim keys rotate``
decrypt them), and the audit entries form a valid hash chain (so ``senim audit verify`` passes
and new appends continue it). Blind indexes: the few hundred phones the lookup benchmark
searches for carry their real scrypt index; every other row gets a uniformly random 16-bit value,
which is what a keyed hash truncated to 16 bits looks like (computing a million scrypt indexes
would take half an hour and measure nothing new). Foreign-key triggers are off while loading
(``session_replication_role = replica``), secondary indexes are dropped first and rebuilt after,
then ``VACUUM ANALYZE``: the result has exactly the schema the migrations make.

The data keys are wrapped by ``MASTER_KEY``, a fixed key that exists only for this fictional
dataset (every name and number in it is synthetic): the runner exports it as
``SENIM_MASTER_KEY`` so that any process a benchmark starts (``senim serve``) can read the data.

Run alone: ``.venv/bin/python benchmarks/dataset.py [--rebuild] [--small]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import URL, Engine, make_url

from core import reference
from core.app import create_app
from core.audit.chain import GENESIS_HASH, _encode_strings
from core.clock import FrozenClock
from core.config import CHEAP_ARGON2, Config
from core.extensions import db
from core.models import AgencyUnit, User

VERSION = "1"  # bump when the dataset's shape changes: older databases are then seeded again
DATABASE = "senim_bench_national"
NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # the dataset's "now": Friday 10:00 in Almaty
SPAN_DAYS = 730
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Fictional data only; deterministic so that a kept database stays readable by later runs.
MASTER_KEY = base64.b64encode(hashlib.sha256(b"senim national bench dataset, fictional data").digest()).decode()
SEARCHED_PHONES = 500  # contacts whose phone carries its real blind index (bench_lookup.py)
COPY_BATCH = 50_000
SUPERVISOR, REGIONAL = "bench.supervisor", "bench.regional"


@dataclass(frozen=True)
class Sizes:
    contacts: int = 1_000_000
    referrals: int = 3_000_000
    audit_entries: int = 1_000_000

    @property
    def cases(self) -> int:
        return self.contacts * 4 // 5


NATIONAL = Sizes()
SMALL = Sizes(contacts=20_000, referrals=60_000, audit_entries=20_000)


def server_url() -> URL:
    """The server of ``SENIM_DATABASE_URL`` (default: the local one), with the psycopg driver."""
    base = os.environ.get("SENIM_DATABASE_URL", "")
    if not base.startswith("postgres"):
        base = DEFAULT_SERVER
    return make_url("postgresql+psycopg://" + base.split("://", 1)[1])


def dataset_url(database: str = DATABASE) -> str:
    return server_url().set(database=database).render_as_string(hide_password=False)


def searched_phone(index: int) -> str:
    """The phone of the ``index``-th searchable contact (fictional 700 numbers)."""
    return f"+7700{index:07d}"


def config_for(url: str, workdir: Path) -> Config:
    return Config(env="testing", instance_path=workdir, database_url=url,
                  secret_key="senim-bench-dataset", master_key=MASTER_KEY, argon2=CHEAP_ARGON2)


@contextmanager
def dataset_app(url: str | None = None) -> Iterator[Flask]:
    """An application (frozen at ``NOW``) on the dataset, inside its app context. Its instance
    folder is kept between runs (in the system's temporary folder): the audit checkpoints'
    signing key lives there, and a checkpoint one run signs must verify in the next."""
    url = url or os.environ.get("SENIM_BENCH_DATASET_URL") or dataset_url()
    instance = Path(tempfile.gettempdir()) / f"senim-bench-{make_url(url).database}"
    instance.mkdir(mode=0o700, exist_ok=True)
    app = create_app(config_for(url, instance), clock=FrozenClock(NOW))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def server_reachable() -> bool:
    engine = create_engine(server_url().set(database="postgres"))
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def _complete(database: str, sizes: Sizes) -> bool:
    engine = create_engine(server_url().set(database=database))
    try:
        with engine.connect() as connection:
            row = connection.execute(text(
                "SELECT version, contacts, referrals, audit_entries FROM bench_dataset "
                "WHERE completed_at IS NOT NULL")).first()
    except Exception:
        return False
    finally:
        engine.dispose()
    return row is not None and tuple(row) == (VERSION, sizes.contacts, sizes.referrals,
                                              sizes.audit_entries)


def ensure_dataset(sizes: Sizes = NATIONAL, database: str = DATABASE, rebuild: bool = False,
                   log: Any = print) -> str:
    """The URL of a complete dataset of ``sizes`` in ``database``, seeding it when needed."""
    url = dataset_url(database)
    if not rebuild and _complete(database, sizes):
        with dataset_app(url):
            from flask_migrate import upgrade

            upgrade()  # a dataset kept from an earlier run gets any newer migration
        log(f"dataset: {database} reused ({sizes.contacts:,} contacts, {sizes.referrals:,} "
            f"referrals, {sizes.audit_entries:,} audit entries)")
        return url
    admin = create_engine(server_url().set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    began = time.perf_counter()
    log(f"dataset: seeding {database}: {sizes.contacts:,} contacts, {sizes.referrals:,} referrals, "
        f"{sizes.audit_entries:,} audit entries")
    with dataset_app(url):
        from flask_migrate import upgrade

        upgrade()
        seed(sizes, log)
    log(f"dataset: seeded in {time.perf_counter() - began:.0f} s")
    return url


# ---- seeding --------------------------------------------------------------------------------------

# Row i of a table gets the id "00000000-0000-7000-8000-<i, 12 digits>" with a per-table prefix,
# so ids are unique, 36 characters like UUIDs, and in insertion order like UUIDv7.
def _id(prefix: str, column: str) -> str:
    return f"'{prefix}' || lpad(({column})::text, 12, '0')"


CASE_ID_PREFIX = "00000000-0000-7000-8000-"
CONTACT_ID_PREFIX = "00000000-0000-7000-8001-"
REFERRAL_ID_PREFIX = "00000000-0000-7000-8002-"

# Case i (1 = newest) opened at NOW - (i - 1) * span / cases; its region and district follow i.
CASE_OPENED = "(CAST(:now AS timestamptz) - ((({i}) - 1) * :span / :cases) * interval '1 second')"
CASE_REGION = "(CAST(:regions AS text[]))[1 + ({i}) % cardinality(CAST(:regions AS text[]))]"
CASE_DISTRICT = (f"CASE WHEN {CASE_REGION} = 'KZ-27' THEN (CAST(:districts AS text[]))"
                 "[1 + (({i}) / 17) % cardinality(CAST(:districts AS text[]))] END")

CASES_SQL = f"""
INSERT INTO cases (id, number, status, urgency, region, district, opened_at, closed_at, opened_by)
SELECT {_id(CASE_ID_PREFIX, 'i')}, 'B-' || i,
       CASE WHEN opened > CAST(:now AS timestamptz) - interval '45 days' OR r1 < 0.02
            THEN 'open' ELSE 'closed' END,
       CASE WHEN r2 < 0.05 THEN 'P1' WHEN r2 < 0.30 THEN 'P2' WHEN r2 < 0.80 THEN 'P3' ELSE 'P4' END,
       region, district, opened,
       CASE WHEN opened > CAST(:now AS timestamptz) - interval '45 days' OR r1 < 0.02
            THEN NULL ELSE opened + interval '20 days' END,
       :user_id
FROM (SELECT i, {CASE_OPENED.format(i='i')} AS opened, {CASE_REGION.format(i='i')} AS region,
             {CASE_DISTRICT.format(i='i')} AS district, random() AS r1, random() AS r2
      FROM generate_series(CAST(1 AS bigint), CAST(:cases AS bigint)) AS i OFFSET 0) AS s
"""



# Referral j belongs to case ci (referrals in case order, as they are appended); its state
# depends on its age: old ones are mostly settled, with a backlog of stale open ones.
REFERRALS_SQL = f"""
INSERT INTO referrals (id, case_id, agency, service, unit_id, mandatory, manual, rules, status,
                       region, district, created_at, ack_due_at, action_due_at, acknowledged_at,
                       accepted_at, first_action_at, closed_at, outcome, decline_reason,
                       escalation_level)
SELECT {_id(REFERRAL_ID_PREFIX, 'j')}, {_id(CASE_ID_PREFIX, 'ci')}, agency, service,
       CASE WHEN status = 'unassigned' THEN NULL ELSE unit_id END,
       CASE WHEN status = 'declined' THEN r7 < 0.03 ELSE r7 < 0.6 END, r7 > 0.97, '[]'::jsonb, status,
       region, district, created, created + ack_window, created + act_window,
       acked, accepted, acted,
       CASE WHEN status = 'completed' THEN least(acted + r6 * interval '3 days', CAST(:now AS timestamptz))
            WHEN status = 'overridden' THEN least(created + r6 * interval '5 days', CAST(:now AS timestamptz))
       END,
       CASE WHEN status = 'completed' THEN 'support_provided' END,
       CASE WHEN status = 'declined' THEN 'not_competent' END, 0
FROM (
  SELECT *, CASE WHEN status = 'completed' OR (status = 'accepted' AND r5 < 0.6)
                 THEN least(accepted + r5 * 1.2 * act_window, CAST(:now AS timestamptz)) END AS acted
  FROM (
    SELECT *, CASE WHEN status IN ('accepted', 'completed')
                   THEN least(acked + r4 * interval '2 hours', CAST(:now AS timestamptz)) END AS accepted
    FROM (
      SELECT *, CASE WHEN status NOT IN ('sent', 'unassigned') AND NOT (status = 'overridden' AND r3 > 0.5)
                     THEN least(created + r3 * 1.3 * ack_window, CAST(:now AS timestamptz)) END AS acked
      FROM (
        SELECT *, CASE
            WHEN created > CAST(:now AS timestamptz) - interval '30 days' THEN
              CASE WHEN r1 < 0.20 THEN 'sent' WHEN r1 < 0.35 THEN 'acknowledged'
                   WHEN r1 < 0.70 THEN 'accepted' WHEN r1 < 0.90 THEN 'completed'
                   WHEN r1 < 0.95 THEN 'declined' WHEN r1 < 0.98 THEN 'overridden'
                   ELSE 'unassigned' END
            ELSE
              CASE WHEN r1 < 0.88 THEN 'completed' WHEN r1 < 0.94 THEN 'declined'
                   WHEN r1 < 0.99 THEN 'overridden' WHEN r1 < 0.996 THEN 'accepted'
                   WHEN r1 < 0.998 THEN 'acknowledged' WHEN r1 < 0.9995 THEN 'sent'
                   ELSE 'unassigned' END
          END AS status
        FROM (
          SELECT j, ci, {CASE_OPENED.format(i='ci')} + r0 * interval '10 minutes' AS created,
                 {CASE_REGION.format(i='ci')} AS region, {CASE_DISTRICT.format(i='ci')} AS district,
                 (CAST(:unit_ids AS text[]))[k] AS unit_id, (CAST(:unit_agencies AS text[]))[k] AS agency,
                 (CAST(:unit_services AS text[]))[k] AS service,
                 (1 + r2 * 23) * interval '1 hour' AS ack_window,
                 (1 + r2 * 23) * interval '4 hours' + interval '1 day' AS act_window,
                 r1, r3, r4, r5, r6, r7
          FROM (SELECT j, (j - 1) * :cases / :referrals + 1 AS ci,
                       1 + (j * 7919) % cardinality(CAST(:unit_ids AS text[])) AS k,
                       random() AS r0, random() AS r1, random() AS r2, random() AS r3,
                       random() AS r4, random() AS r5, random() AS r6, random() AS r7
                FROM generate_series(CAST(1 AS bigint), CAST(:referrals AS bigint)) AS j OFFSET 0) AS raw
        ) AS placed
      ) AS stated
    ) AS acknowledged
  ) AS taken
) AS done
"""


# Contacts: what helplines hear, roughly (the first 80% open a case, the rest are information
# calls, silent calls and the like). Summaries are fictional, in both working languages.
CASE_CATEGORIES = (
    (12, '["violence.bullying"]'), (4, '["violence.cyberbullying"]'),
    (8, '["family.relationship_with_caregiver"]'), (8, '["mental_health.anxiety"]'),
    (6, '["mental_health.suicidal_thoughts"]'), (6, '["violence.domestic"]'),
    (8, '["violence.physical"]'), (5, '["violence.neglect"]'), (3, '["violence.sexual"]'),
    (2, '["violence.online_sexual_abuse"]'), (2, '["physical_health.pregnancy"]'),
    (2, '["missing.runaway"]'), (2, '["education.staff_violation"]'),
    (3, '["legal.offending", "mental_health.substance_use"]'), (2, '["education.truancy"]'),
    (4, '["peers.friends"]'),
)
OTHER_TYPES = ("information", "information", "information", "silent", "prank", "wrong_number")
SUMMARIES = tuple(
    f"{opening} (синтетическая запись {n} для нагрузочного теста, все данные вымышлены)."
    for n, opening in enumerate((
        "Звонившая сообщила о травле ребёнка в школе",
        "Бала мектептегі қорлау туралы хабарлады",
        "Сосед сообщил, что ребёнок часто остаётся один дома",
        "Подросток просит совета, как поговорить с родителями",
        "Мұғалім баланың сабаққа келмейтінін айтты",
        "Мать обеспокоена перепиской дочери с незнакомцем",
        "Ребёнок сообщил о конфликте с отчимом",
        "Бабушка просит помочь с устройством внука в кружок",
    ) * 4)
)


def _contacts_copy(connection: Any, sizes: Sizes, user_id: str, log: Any) -> None:
    """COPY the contacts, with genuine ciphertexts (bound to each row's id)."""
    from core.crypto.blind_index import INDEX_FIELDS
    from core.encryption import crypto

    cipher, indexer = crypto().cipher, crypto().indexer
    bits = INDEX_FIELDS["phone"].bits
    rng = random.Random(13)
    weights = [w for w, _ in CASE_CATEGORIES]
    categories = [c for _, c in CASE_CATEGORIES]
    urgencies = ("P1", "P2", "P2", "P3", "P3", "P3", "P3", "P4")
    span, cases = SPAN_DAYS * 86400, sizes.cases
    encrypt = cipher.encrypt
    columns = ("id, case_id, channel, contact_type, language, received_at, submitted_by, "
               "callback_consent, categories, urgency, flags, caller_phone, caller_phone_bidx, summary")
    raw = connection.connection.driver_connection
    began = time.perf_counter()
    with raw.cursor() as cursor:
        for start in range(1, sizes.contacts + 1, COPY_BATCH):
            buffer = io.StringIO()
            write = buffer.write
            for i in range(start, min(sizes.contacts, start + COPY_BATCH - 1) + 1):
                row_id = f"{CONTACT_ID_PREFIX}{i:012d}"
                if i <= SEARCHED_PHONES:
                    phone = searched_phone(i)
                    bidx = indexer.compute("phone", indexer_normalize(phone))
                else:
                    phone = f"+7701{i:07d}"
                    bidx = format(rng.getrandbits(bits), f"0{bits // 4}x")
                blob = encrypt(phone, table="contacts", column="caller_phone", row_id=row_id)
                if i <= cases:
                    received = NOW - timedelta(seconds=(i - 1) * span // cases)
                    case_id = f"{CASE_ID_PREFIX}{i:012d}"
                    kind = "third_party" if i % 3 else "child_self"
                    summary = encrypt(SUMMARIES[i % len(SUMMARIES)], table="contacts",
                                      column="summary", row_id=row_id)
                    write(f"{row_id}\t{case_id}\tphone\t{kind}\t{'kk' if i % 2 else 'ru'}\t"
                          f"{received.isoformat()}\t{user_id}\tf\t"
                          f"{rng.choices(categories, weights)[0]}\t{urgencies[i % 8]}\t[]\t"
                          f"\\\\x{blob.hex()}\t{bidx}\t\\\\x{summary.hex()}\n")
                else:
                    received = NOW - timedelta(seconds=rng.randrange(span))
                    write(f"{row_id}\t\\N\tphone\t{OTHER_TYPES[i % len(OTHER_TYPES)]}\tru\t"
                          f"{received.isoformat()}\t{user_id}\tf\t[]\t\\N\t[]\t"
                          f"\\\\x{blob.hex()}\t{bidx}\t\\N\n")
            with cursor.copy(f"COPY contacts ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
    log(f"  contacts: {sizes.contacts:,} rows in {time.perf_counter() - began:.1f} s")


def indexer_normalize(phone: str) -> str:
    from core.crypto.blind_index import INDEX_FIELDS

    return INDEX_FIELDS["phone"].normalizer(phone)


AUDIT_ACTIONS = ("case.viewed", "case.viewed", "case.viewed", "contact.created", "referral.viewed",
                 "case.viewed", "case.searched", "referral.acknowledged")


def _audit_copy(connection: Any, sizes: Sizes, user_id: str, log: Any) -> None:
    """COPY a valid hash chain of audit entries spread over the two years, with a
    break-the-glass opening every 50,000 entries (about twenty, the newest within the week)."""
    import hashlib as _hashlib

    sha256 = _hashlib.sha256
    entries, span, cases = sizes.audit_entries, SPAN_DAYS * 86400, sizes.cases
    prev = GENESIS_HASH
    raw = connection.connection.driver_connection
    began = time.perf_counter()
    columns = ("sequence, occurred_at, actor_id, actor_username, actor_role, unit_id, action, "
               "object_type, object_id, reason, fields, details, request_id, client_address, "
               "prev_hash, hash")
    with raw.cursor() as cursor:
        for start in range(1, entries + 1, COPY_BATCH):
            buffer = io.StringIO()
            write = buffer.write
            for s in range(start, min(entries, start + COPY_BATCH - 1) + 1):
                moment = NOW - timedelta(microseconds=(entries - s) * span * 1_000_000 // entries)
                occurred = moment.isoformat(timespec="microseconds")
                action = "btg.opened" if s % 50_000 == 0 else AUDIT_ACTIONS[s % len(AUDIT_ACTIONS)]
                case_number = 1 + (s * 7) % cases
                row = (s, occurred, user_id, SUPERVISOR, "supervisor", None, action, "case",
                       f"{CASE_ID_PREFIX}{case_number:012d}",
                       "bench: break-the-glass drill" if action == "btg.opened" else None,
                       "contacts.caller_phone,contacts.summary", None, f"{s:016x}",
                       f"10.0.{s % 250}.{s % 200}", prev)
                digest = sha256((prev + _encode_strings(row)).encode()).hexdigest()
                write("\t".join(r"\N" if v is None else str(v) for v in row) + f"\t{digest}\n")
                prev = digest
            with cursor.copy(f"COPY audit_entries ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
    log(f"  audit entries: {entries:,} rows (a valid chain) in {time.perf_counter() - began:.1f} s")


# Each level already raised on what was overdue at NOW: a live system has swept every minute.
ESCALATIONS_SQL = """
INSERT INTO referral_escalations (id, referral_id, level, kind, at)
SELECT '00000000-0000-7000-8003-' || lpad((row_number() OVER ())::text, 12, '0'), id, level, kind, at
FROM (
  SELECT id, 1 AS level, 'acknowledgement' AS kind, least(ack_due_at + interval '1 minute', CAST(:now AS timestamptz)) AS at
  FROM referrals WHERE status IN ('sent', 'unassigned') AND ack_due_at < CAST(:now AS timestamptz)
  UNION ALL
  SELECT id, 2, 'action', least(action_due_at + interval '1 minute', CAST(:now AS timestamptz))
  FROM referrals WHERE status IN ('sent', 'unassigned', 'acknowledged', 'accepted')
    AND first_action_at IS NULL AND action_due_at < CAST(:now AS timestamptz)
) AS due
"""
ESCALATION_LEVEL_SQL = """
UPDATE referrals SET escalation_level = e.level, ack_escalated = e.ack, action_escalated = e.act
FROM (SELECT referral_id, max(level) AS level, bool_or(level = 1) AS ack, bool_or(level = 2) AS act
      FROM referral_escalations GROUP BY referral_id) AS e
WHERE e.referral_id = referrals.id
"""


def secondary_indexes(connection: Any, tables: tuple[str, ...]) -> dict[str, str]:
    """The schema's own indexes on ``tables`` (not those behind primary keys and unique
    constraints), by name, as CREATE statements: dropped before the load and built again after
    it, which is faster than maintaining them row by row, and leaves exactly the indexes the
    migrations made."""
    rows = connection.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename = ANY(:tables) AND indexname NOT IN (SELECT conname FROM pg_constraint)"),
        {"tables": list(tables)})
    return {name: definition for name, definition in rows}


def _people() -> str:
    """The directory of units and the two supervisors the dashboards are timed for."""
    from referrals import demo

    demo.load_directory()
    supervisor = User(username=SUPERVISOR, display_name="Bench supervisor", role="supervisor",
                      password_hash="-")
    regional = User(username=REGIONAL, display_name="Bench regional supervisor",
                    role="supervisor", region="KZ-27", password_hash="-")
    db.session.add_all([supervisor, regional])
    db.session.commit()
    return supervisor.id


def seed(sizes: Sizes, log: Any = print) -> None:
    """Fill the (migrated, empty) database of the current app."""
    engine: Engine = db.engine
    user_id = _people()
    units = list(db.session.scalars(select(AgencyUnit).order_by(AgencyUnit.id)))
    unit_services = [(u.id, u.agency, (u.services or [f"{u.agency}.other"])[0]) for u in units]
    from core.encryption import crypto

    crypto().keyring()  # the first data key, made and committed before the load
    db.session.commit()  # no transaction left open: VACUUM must see every row as visible to all
    values: dict[str, Any] = {
        "now": NOW, "span": SPAN_DAYS * 86400, "cases": sizes.cases, "contacts": sizes.contacts,
        "referrals": sizes.referrals, "user_id": user_id,
        "regions": sorted(reference.regions()),
        "districts": [p.code for p in reference.districts_of("KZ-27")],
        "unit_ids": [u[0] for u in unit_services], "unit_agencies": [u[1] for u in unit_services],
        "unit_services": [u[2] for u in unit_services],
    }
    tables = ("cases", "contacts", "referrals", "audit_entries", "referral_escalations")
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        connection.execute(text("SELECT setseed(0.42)"))
        indexes = secondary_indexes(connection, tables)
        for name in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
        for name, sql, count in (("cases", CASES_SQL, sizes.cases),
                                 ("referrals", REFERRALS_SQL, sizes.referrals)):
            began = time.perf_counter()
            connection.execute(text(sql), values)
            log(f"  {name}: {count:,} rows in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        raised = connection.execute(text(ESCALATIONS_SQL), values).rowcount
        connection.execute(text(ESCALATION_LEVEL_SQL))
        log(f"  escalations: {raised:,} rows in {time.perf_counter() - began:.1f} s")
        _contacts_copy(connection, sizes, user_id, log)
        _audit_copy(connection, sizes, user_id, log)
        began = time.perf_counter()
        for definition in indexes.values():
            connection.execute(text(definition))
        log(f"  {len(indexes)} secondary indexes rebuilt in {time.perf_counter() - began:.1f} s")
        connection.execute(text(
            "CREATE TABLE bench_dataset (version text NOT NULL, contacts bigint NOT NULL, "
            "referrals bigint NOT NULL, audit_entries bigint NOT NULL, completed_at timestamptz)"))
    began = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        # Written last: a run interrupted before this line leaves a database that is seeded again.
        connection.execute(text(
            "INSERT INTO bench_dataset VALUES (:version, :contacts, :referrals, :entries, now())"),
            {"version": VERSION, "contacts": sizes.contacts, "referrals": sizes.referrals,
             "entries": sizes.audit_entries})
    log(f"  vacuum analyze: {time.perf_counter() - began:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description="Seed (or check) the national bench dataset.")
    parser.add_argument("--rebuild", action="store_true", help="seed again even if complete")
    parser.add_argument("--small", action="store_true", help=f"{SMALL} (a quick trial)")
    parser.add_argument("--database", default=DATABASE)
    arguments = parser.parse_args()
    print(ensure_dataset(SMALL if arguments.small else NATIONAL, arguments.database,
                         arguments.rebuild))


if __name__ == "__main__":
    main()
