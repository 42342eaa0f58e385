"""The pages' hot helpers (issue 13): local times with the locale's patterns parsed once, and
code labels translated once per request, must say exactly what the slower way said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask_babel import force_locale, format_datetime

from core.templating import localtime
from intake.labels import label


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_local_times_read_as_babel_writes_them(app: Flask, lang: str) -> None:
    tz = app.config["SENIM"].tz
    moments = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=7.3 * i, minutes=i)
               for i in range(300)]
    with app.test_request_context(), force_locale(lang):
        assert [localtime(m) for m in moments] == [
            format_datetime(m.astimezone(tz), "short") for m in moments]
        assert localtime(None) == ""


def test_a_label_follows_the_language_it_is_asked_in(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("ru"):
            russian = label("case_status", "open")
        with force_locale("en"):
            english = label("case_status", "open")
        with force_locale("ru"):
            again = label("case_status", "open")
    assert (russian, english, again) == ("Открыто", "Open", "Открыто")
    with app.test_request_context():
        assert label("case_status", "no-such-code") == "no-such-code"
        assert label("case_status", None) == ""
