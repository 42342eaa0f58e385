"""The intake benchmark's yardstick (issue 13): the least a Flask + SQLAlchemy service does to
accept a contact. ``POST /api/v1/contacts`` parses the JSON body, inserts it as one row and
commits, then answers 201 with the new id; nothing else (no authentication, validation,
encryption, routing or audit). Senim's intake throughput is reported as a ratio to this, both
served by gunicorn with the same workers on the same PostgreSQL server.

Run: ``SENIM_DATABASE_URL=postgresql+psycopg://... gunicorn --workers 2 --bind 127.0.0.1:5131
benchmarks.baseline_app:app`` (benchmarks/bench_intake.py does this).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, create_engine, insert
from werkzeug.wrappers import Response

metadata = MetaData()
# bench_intake.py creates it (benchmarks/bench_intake.py BASELINE_TABLE, the same columns).
contacts = Table(
    "baseline_contacts", metadata,
    Column("id", String(36), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
)

# The same pool settings as Senim's engine (core/app.py).
engine = create_engine(os.environ["SENIM_DATABASE_URL"], pool_pre_ping=True, pool_size=10,
                       max_overflow=20)
app = Flask(__name__)


@app.post("/api/v1/contacts")
def create_contact() -> tuple[Response, int]:
    body = request.get_data(as_text=True)
    request.get_json()  # parsed, as any JSON API would
    row = {"id": str(uuid.uuid4()), "received_at": datetime.now(UTC), "body": body}
    with engine.begin() as connection:
        connection.execute(insert(contacts).values(**row))
    return jsonify({"id": row["id"]}), 201

