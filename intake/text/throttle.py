"""Rate limits of the public school channel, through flask-limiter's storage (in-process, or
Redis with ``SENIM_REDIS_URL``), so they hold across workers and hosts.

Limits are keyed by the school token and by a keyed hash of the client address: the limiter
needs to tell addresses apart for an hour, but nothing, not even its storage, has to hold the
address itself. A whole school can share one address (the school's network), so the per-address
limits are generous; the per-token limits bound what one poster can receive.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request
from limits import parse

from core.extensions import limiter

REPORTS_PER_ADDRESS = "10 per hour"
REPORTS_PER_TOKEN = "60 per hour"  # noqa: S105 - a rate, not a secret
THREAD_READS_PER_ADDRESS = "30 per 10 minutes"  # also bounds guessing (on top of 80 bits)
MESSAGES_PER_ADDRESS = "30 per hour"


class Throttled(Exception):
    """Too many requests: answered 429, with the same words whatever the limit was."""


def _address_key() -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    address = (request.remote_addr or "").encode()
    return hmac.new(secret, b"text-report-address:" + address, hashlib.sha256).hexdigest()[:24]


def _hit(rule: str, *key: str) -> None:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    if not limiter.limiter.hit(parse(rule), "senim-text", *key):
        raise Throttled(rule)


def new_report_from_address() -> None:
    """Counted before the token is even looked up, so unknown tokens cost the sender too."""
    _hit(REPORTS_PER_ADDRESS, "report-address", _address_key())


def new_report_for_token(school_token: str) -> None:
    """Only for tokens that exist: random tokens must not grow the limiter's storage."""
    _hit(REPORTS_PER_TOKEN, "report-token", school_token)


def thread_read() -> None:
    _hit(THREAD_READS_PER_ADDRESS, "thread-address", _address_key())


def new_message() -> None:
    _hit(MESSAGES_PER_ADDRESS, "message-address", _address_key())
