"""Input no handler should have to think about, refused at the door (issue 16 item 4).

- A NUL byte anywhere in the path (an id) answers 404: no such object can exist.
- A NUL byte in a query parameter or form field (name or value) answers 400: PostgreSQL text
  cannot hold one, and no person types one; the database must never be the one to refuse it.
- A JSON body is parsed here once, bounded: nesting deeper than ``MAX_JSON_DEPTH`` (Python's
  parser would exhaust the stack at about a thousand), an integer of more digits than Python
  converts (4,300), invalid UTF-8 or JSON, and a NUL in a key answer 400; a NUL in a string
  value answers 422 naming that field, like any other invalid field. Handlers read the checked
  document through :func:`checked_json`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from flask import Flask, abort, g, request
from werkzeug.datastructures import MultiDict

from core.errors import ApiError, wants_json

MAX_JSON_DEPTH: Final = 64
_UNSET: Final = object()


class HostileInput(ValueError):
    """The body is not acceptable JSON; the message says why, without quoting it. ``field``:
    the dotted path of a string value holding a NUL (a 422 naming it, like any invalid field)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _has_nul(pairs: Iterable[tuple[str, str]]) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def _refuse(message: str) -> None:
    if wants_json():
        raise ApiError(400, message, code="malformed")
    abort(400)


def parse_json(raw: bytes) -> Any:
    """The document in ``raw``, or ``HostileInput``."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise HostileInput("the body is nested too deeply") from None
    except (UnicodeError, ValueError):  # JSONDecodeError, and ints beyond Python's digit limit
        raise HostileInput("the body is not valid UTF-8 JSON") from None
    _check_document(data)
    return data


def _check_document(data: Any) -> None:
    """Depth and text of every value, iteratively (no recursion to exhaust)."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_JSON_DEPTH:
            raise HostileInput(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, None)
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(value))
        elif isinstance(value, str):
            _check_text(value, ".".join(path) or "body")


def _check_text(text: str, field: str | None) -> None:
    if "\x00" in text:
        raise HostileInput("the body contains a NUL character", field)
    try:
        text.encode("utf-8")  # a lone surrogate ("\ud800") is valid JSON but no text
    except UnicodeError:
        raise HostileInput("the body is not valid UTF-8 JSON") from None


def _api_error(error: HostileInput) -> ApiError:
    if error.field is not None:
        return ApiError(422, "some fields are invalid",
                        {error.field: "must not contain a NUL character"})
    return ApiError(400, str(error), code="malformed")


def checked_json() -> Any:
    """The request's JSON document as checked by the gate (parsed once per request)."""
    found = g.get("checked_json", _UNSET)
    if found is _UNSET:
        try:
            found = parse_json(request.get_data(cache=True))
        except HostileInput as error:
            raise _api_error(error) from None
        g.checked_json = found
    return found


# Endpoints that take smaller bodies than the app's MAX_CONTENT_LENGTH (the public school
# channel): set before anything reads the body, so a flood is refused unread (413).
_BODY_LIMITS: dict[str, int] = {}


def limit_bodies(endpoints: Iterable[str], limit: int) -> None:
    _BODY_LIMITS.update(dict.fromkeys(endpoints, limit))


def _gate() -> None:
    limit = _BODY_LIMITS.get(request.endpoint or "")
    if limit is not None:
        request.max_content_length = limit
    if "\x00" in request.path:
        if wants_json():
            raise ApiError(404, "not found")
        abort(404)
    if _has_nul(request.args.items(multi=True)):
        _refuse("a query parameter contains a NUL character")
    if request.method in ("POST", "PUT", "PATCH"):
        if request.is_json:
            raw = request.get_data(cache=True)
            if raw:
                try:
                    g.checked_json = parse_json(raw)
                except HostileInput as error:
                    if wants_json():
                        raise _api_error(error) from None
                    abort(400)
        else:
            form: MultiDict[str, str] = request.form
            if _has_nul(form.items(multi=True)):
                _refuse("a form field contains a NUL character")


def init_app(app: Flask) -> None:
    # Registered before the access gate: nothing hostile reaches a database lookup, not even
    # a token's or a session's.
    app.before_request(_gate)
