"""The request log: one line per request (method, path, status, duration), on the
``senim.request`` logger, which ``core.logging_setup`` writes as JSON.

Query strings are never logged: on searches and look-ups they carry personal data (a phone, an
IIN, a name searched for), and a log is kept longer and read more widely than the database. Pages
send such data in POST bodies anyway; this covers the API's GET form kept for compatibility and
anyone typing a query by hand, on any route (the production server's access log keeps none
either). The development server's own request line is stripped of its query string too.
"""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, g, request
from werkzeug.wrappers import Response

log = logging.getLogger("senim.request")

_QUERY_IN_REQUEST_LINE = re.compile(r"^(\S+ [^?\s]*)\?\S*")


def _start() -> None:
    g.request_started = time.perf_counter()


def _log(response: Response) -> Response:
    started = g.get("request_started")
    duration = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    log.info("%s %s %s %.0fms", request.method, request.path, response.status_code, duration)
    return response


class _StripQueries(logging.Filter):
    """werkzeug logs '"GET /path?query HTTP/1.1" 200 -': keep the path, drop the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 2 and isinstance(record.args[1], str):
            line = _QUERY_IN_REQUEST_LINE.sub(r"\1", record.args[1])
            record.args = (record.args[0], line, *record.args[2:])
        return True


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_log)
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _StripQueries) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(_StripQueries())
