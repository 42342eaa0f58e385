"""Errors: the JSON format of interfaces.md under /api/, friendly pages elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

API_CODES = {
    400: "malformed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "malformed",
    422: "invalid",
    429: "throttled",
}

PAGE_TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    409: _l("This action conflicts with the current state"),
    413: _l("The request is too large"),
    429: _l("Too many attempts. Please wait a minute and try again."),
    500: _l("Something went wrong on our side"),
}


class ApiError(Exception):
    """Raised by API code; rendered as {"error": {...}} with the status of its code."""

    def __init__(
        self, status: int, message: str, fields: dict[str, str] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or API_CODES.get(status, "error")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def api_error_response(status: int, message: str, fields: dict[str, str] | None = None,
                       code: str | None = None) -> Response:
    body: dict[str, Any] = {"code": code or API_CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    return response


def _http_error(error: HTTPException) -> Response | tuple[str, int]:
    status = error.code or 500
    if wants_json():
        message = error.description if status != 500 else "internal error"
        response = api_error_response(status, str(message))
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
    title = PAGE_TITLES.get(status, PAGE_TITLES[400] if status < 500 else PAGE_TITLES[500])
    return render_template("errors/error.html", status=status, title=title), status


def _api_error(error: ApiError) -> Response:
    return api_error_response(error.status, error.message, error.fields, error.code)


def _csrf_error(error: CSRFError) -> Response | tuple[str, int]:
    return _http_error(error)


def _unexpected(error: Exception) -> Response | tuple[str, int]:
    log.exception("unhandled error")
    return _http_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(CSRFError, _csrf_error)
    if not app.debug:
        app.register_error_handler(Exception, _unexpected)
