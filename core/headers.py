"""Security headers on every response (security.md §2)."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

# No inline script or style anywhere: everything comes from /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


def _set_headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["X-Frame-Options"] = "DENY"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if current_app.config["SENIM"].is_production:
        h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    # Pages and API answers may carry personal data; only static assets may be cached.
    if request.endpoint != "static":
        h["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_set_headers)
