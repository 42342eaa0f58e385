"""The database as stored on disk, for the tests that look for plaintext where only ciphertext
may be: the SQLite file after a checkpoint, or a data-only dump of the PostgreSQL database."""

from __future__ import annotations

import os
import subprocess

from core.extensions import db


def raw_database_bytes() -> bytes:
    """Everything the test database holds, committed first (needs an app context)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        db.session.commit()
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
        with open(url.database or "", "rb") as handle:
            return handle.read()
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    return subprocess.run(
        ["pg_dump", "--data-only", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database or ""],
        check=True, capture_output=True, env=env, timeout=120,
    ).stdout
