"""Reading back what a test just did: a stored row, a response's JSON body, a value on a page.
Each helper asserts that the thing is there (a missing row or body fails the test with a message
saying so, not with an AttributeError on None), and so also tells mypy it is not None."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from werkzeug.test import TestResponse

from core.extensions import db
from intake.text.models import School

Row = TypeVar("Row")


def get_row(model: type[Row], key: Any) -> Row:
    """``db.session.get`` for a row the test knows exists."""
    found = db.session.get(model, key)
    assert found is not None, f"no {model.__name__} {key!r}"
    return found


def json_of(response: TestResponse) -> Any:
    """The response's JSON body (which a JSON API always sends)."""
    body = response.json
    assert body is not None, f"not JSON: {response.status} {response.get_data(as_text=True)[:200]!r}"
    return body


def first_group(pattern: str | re.Pattern[str], text: str) -> str:
    """Group 1 of the first match of ``pattern`` in ``text`` (a value read off a page)."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not found"
    return match.group(1)


def poster_token(school: School) -> str:
    """The token the school's current posters print (a school in a test always has one)."""
    current = school.current_token
    assert current is not None, f"{school.name_kk} has no current token"
    return current.token
