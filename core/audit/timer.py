"""Checkpoints on a timer, inside the running application (issue 16 item 12).

Entries appended after the newest signed checkpoint are pinned by no signature: someone who
can write to the database could cut them off unseen until the next checkpoint. So the app
signs one every ``Config.audit_checkpoint_minutes`` (``SENIM_AUDIT_CHECKPOINT_MINUTES``, 0 to
leave it to cron): a daemon thread started by the WSGI entry point checks once a minute
whether the newest checkpoint is older than that. Several workers may each sign one; a
checkpoint for the same head is written once (``CheckpointStore.write`` is idempotent).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask

from core import audit
from core.audit.checkpoints import Checkpoint
from core.clock import utcnow

log = logging.getLogger(__name__)
POLL_SECONDS = 60.0


def checkpoint_if_due(app: Flask) -> Checkpoint | None:
    """Sign the head when the newest checkpoint is older than the interval (or there is none).
    Reads time through the app's clock, so tests move it instead of waiting."""
    minutes = int(app.config["SENIM"].audit_checkpoint_minutes)
    if minutes <= 0:
        return None
    with app.app_context():
        newest = audit.checkpoint_store().newest()
        if newest is not None and utcnow() - datetime.fromisoformat(newest.signed_at) < timedelta(
                minutes=minutes):
            return None
        return audit.write_checkpoint()


def _run(app: Flask, stop: threading.Event) -> None:
    while not stop.wait(POLL_SECONDS):
        try:
            checkpoint_if_due(app)
        except Exception:  # a failed checkpoint must not stop the next one; it is logged
            log.exception("the timed audit checkpoint failed")


def start(app: Flask) -> threading.Event | None:
    """Start the timer thread; returns the event that stops it (None when switched off)."""
    if int(app.config["SENIM"].audit_checkpoint_minutes) <= 0:
        return None
    stop = threading.Event()
    threading.Thread(target=_run, args=(app, stop), name="senim-audit-checkpoints",
                     daemon=True).start()
    return stop
