"""The child-facing page ``/r/<school_token>``: small, self-contained, usable without
JavaScript or cookies, in the phone's language and switchable, with the emergency numbers and
the quick exit at the top; the follow-up code only ever in POST bodies."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.extensions import db
from intake.text.models import TextReport
from tests.intake.text.conftest import BULLYING_KK
from tests.reading import first_group

pytestmark = pytest.mark.usefixtures("directory")
PAGE_BUDGET = 30 * 1024  # bytes on the wire for the page and everything it loads


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def _weight(client: FlaskClient, response: Any) -> int:
    html = response.get_data(as_text=True)
    total = len(response.get_data())
    for path in _assets(html):
        asset = client.get(path)
        assert asset.status_code == 200, path
        total += len(asset.get_data())
    return total


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_page_weighs_under_30_kb_and_loads_nothing_from_elsewhere(client: FlaskClient,
                                                                      token: str, lang: str) -> None:
    page = client.get(f"/r/{token}", headers={"Accept-Language": lang})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    weight = _weight(client, page)
    assert weight <= PAGE_BUDGET, f"{weight} bytes"
    assert not re.search(r"(?:https?:)?//[^\s\"'<>]+", html.replace("http://www.w3.org", "")), \
        "an external URL in the page"
    assert "<script>" not in html and " style=" not in html and "<style" not in html  # strict CSP
    assert sorted(_assets(html)) == ["/static/css/report.css", "/static/js/report.js"]


def test_the_thread_page_is_small_too(client: FlaskClient, token: str) -> None:
    done = client.post(f"/r/{token}", data={"text": BULLYING_KK, "lang": "kk"})
    code = first_group(r'id="follow-up-code">([^<]+)<', done.get_data(as_text=True))
    page = client.post(f"/r/{token}/thread", data={"follow_up_code": code})
    assert page.status_code == 200 and _weight(client, page) <= PAGE_BUDGET


def test_numbers_and_quick_exit_come_first(client: FlaskClient, token: str) -> None:
    html = client.get(f"/r/{token}", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    top = html[: html.index("<main>")]
    for number in ("102", "103", "112", "111"):
        assert f'href="tel:{number}"' in top
    assert 'id="quick-exit" href="/r/exit"' in top
    leave = client.get("/r/exit")
    assert leave.status_code == 303 and "111" not in leave.headers["Location"]


def test_the_language_follows_the_phone_and_can_be_switched(client: FlaskClient, token: str) -> None:
    kk = client.get(f"/r/{token}", headers={"Accept-Language": "kk-KZ,kk;q=0.9"}).get_data(as_text=True)
    ru = client.get(f"/r/{token}", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(as_text=True)
    en = client.get(f"/r/{token}?lang=en", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    default = client.get(f"/r/{token}", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="kk">' in kk and "Не болғанын" in kk
    assert '<html lang="ru">' in ru and "Расскажи, что случилось" in ru
    assert '<html lang="en">' in en and "Tell us what happened" in en
    assert '<html lang="kk">' in default
    assert f'href="/r/{token}?lang=ru"' in kk


def test_no_cookie_is_ever_set(client: FlaskClient, token: str) -> None:
    responses = [client.get(f"/r/{token}"),
                 client.post(f"/r/{token}", data={"text": BULLYING_KK}),
                 client.post(f"/r/{token}/thread", data={"follow_up_code": "nope"})]
    for response in responses:
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"


def test_without_javascript_a_child_reports_reads_and_writes(client: FlaskClient, token: str) -> None:
    done = client.post(f"/r/{token}", data={"text": BULLYING_KK, "safe_now": "yes", "age": "12",
                                            "lang": "kk"})
    assert done.status_code == 200
    code = first_group(r'id="follow-up-code">([^<]+)<', done.get_data(as_text=True))
    stored = db.session.scalars(select(TextReport)).one()
    assert stored.age == 12 and stored.safe_now == "yes" and stored.language == "kk"
    page = client.post(f"/r/{token}/thread", data={"follow_up_code": code, "lang": "kk"})
    assert BULLYING_KK in page.get_data(as_text=True)
    more = client.post(f"/r/{token}/message", data={"follow_up_code": code, "text": "Тағы"})
    assert more.status_code == 200 and "Тағы" in more.get_data(as_text=True)
    # the code stays in forms (POST bodies): no link or action on the page carries it
    html = more.get_data(as_text=True)
    assert code not in "".join(re.findall(r'(?:href|action)="([^"]*)"', html))


def test_a_wrong_code_gets_a_polite_refusal(client: FlaskClient, token: str) -> None:
    page = client.post(f"/r/{token}/thread", data={"follow_up_code": "AAAA-BBBB-CCCC-DDDD",
                                                   "lang": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "could not open a conversation" in html
    assert "111" in html


def test_missing_text_is_shown_back_and_nothing_is_stored(client: FlaskClient, token: str) -> None:
    page = client.post(f"/r/{token}", data={"text": "  ", "age": "нет", "lang": "ru"})
    assert page.status_code == 422 and 'role="alert"' in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(TextReport)) == 0


def test_the_honeypot_stores_nothing_but_looks_the_same(client: FlaskClient, token: str) -> None:
    page = client.post(f"/r/{token}", data={"text": "buy now", "website": "http://spam"})
    assert page.status_code == 200 and 'id="follow-up-code"' in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(TextReport)) == 0


def test_an_unknown_token_is_a_friendly_404(client: FlaskClient) -> None:
    page = client.get("/r/not-a-school", headers={"Accept-Language": "ru"})
    assert page.status_code == 404 and "111" in page.get_data(as_text=True)


def test_what_the_page_writes_is_escaped(client: FlaskClient, token: str) -> None:
    done = client.post(f"/r/{token}", data={"text": "<script>alert(1)</script>"})
    code = first_group(r'id="follow-up-code">([^<]+)<', done.get_data(as_text=True))
    html = client.post(f"/r/{token}/thread", data={"follow_up_code": code}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html


def test_request_logs_drop_the_childs_requests() -> None:
    import logging

    from intake.text import QuietChildRequests

    quiet = QuietChildRequests()

    def line(text: str) -> logging.LogRecord:
        return logging.LogRecord("werkzeug", logging.INFO, "", 0, "%s - - [x] %s", ("198.51.100.5", text), None)

    assert not quiet.filter(line('"POST /r/abc/thread HTTP/1.1" 200 -'))
    assert not quiet.filter(line('"POST /api/v1/public/reports HTTP/1.1" 201 -'))
    assert quiet.filter(line('"GET /text-reports HTTP/1.1" 200 -'))
    assert any(isinstance(f, QuietChildRequests) for f in logging.getLogger("werkzeug").filters)


def test_a_too_long_post_gets_the_channels_own_page(client: FlaskClient, token: str) -> None:
    page = client.post(f"/r/{token}", data={"text": "ж" * 40_000}, headers={"Accept-Language": "en"})
    assert page.status_code == 413 and "too long" in page.get_data(as_text=True)
    assert "Set-Cookie" not in page.headers
