"""Structured logging: one JSON object per line on standard error, with the request id."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from flask import g, has_request_context


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            # json.dumps escapes control characters, so a crafted value cannot forge a log line.
            "message": record.getMessage(),
        }
        if has_request_context() and getattr(g, "request_id", None):
            entry["request_id"] = g.request_id
        if record.exc_info:
            # Exception types and locations, never local variables (keys could sit there).
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_senim", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._senim = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
