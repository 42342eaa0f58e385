"""Issue 16 item 5: phones, IINs and names searched for travel in POST bodies, not URLs, and the
request log never holds them, not even for the API's GET search kept for compatibility."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.models import User
from tests.factories import csrf_token, sign_in
from tests.reading import json_of

PHONE, IIN, NAME = "+77011234567", "140315600018", "Әсел Қайратқызы"


@pytest.fixture
def request_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="senim.request")
    return caplog


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records
                     if record.name == "senim.request")


@pytest.fixture
def operator_client(app: Flask, operator: User, directory: None) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, operator).status_code == 302
    return client


def test_the_lookup_is_a_post_and_the_log_keeps_no_phone_or_iin(
        operator_client: FlaskClient, api: Any, contact: Any,
        request_log: pytest.LogCaptureFixture) -> None:
    api.post("/contacts", contact())
    assert operator_client.get(f"/intake/lookup?phone={PHONE}").status_code == 405
    csrf = csrf_token(operator_client, "/intake/new")
    request_log.clear()
    found = operator_client.post("/intake/lookup", data={"phone": PHONE, "csrf_token": csrf})
    by_iin = operator_client.post("/intake/lookup", data={"iin": IIN, "csrf_token": csrf})
    assert found.status_code == 200 and len(json_of(found)["items"]) == 1
    assert by_iin.status_code == 200
    lines = logged(request_log)
    assert lines.count("POST /intake/lookup 200") == 2
    assert PHONE not in lines and "7011234567" not in lines and IIN not in lines


def test_the_search_page_posts_and_the_api_search_logs_no_query(
        operator_client: FlaskClient, api: Any, contact: Any, client: FlaskClient,
        request_log: pytest.LogCaptureFixture) -> None:
    case_id = api.post("/contacts", contact())
    assert case_id.status_code == 201
    form = operator_client.get("/cases").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/cases"[^>]*role="search"', form)
    request_log.clear()
    page = operator_client.post("/cases", data={"q": IIN, "csrf_token": csrf_token(
        operator_client, "/cases")})
    assert page.status_code == 200 and "?q=" not in page.get_data(as_text=True)
    by_get = api.get("/cases", query_string={"q": NAME, "status": "open"})
    by_post = api.post("/cases/search", {"q": NAME, "status": "open", "limit": 10})
    assert by_get.status_code == 200 and by_post.status_code == 200, by_post.json
    assert by_get.json["items"] == by_post.json["items"] and len(by_post.json["items"]) == 1
    lines = logged(request_log)
    assert "GET /api/v1/cases 200" in lines and "POST /api/v1/cases/search 200" in lines
    for secret in (IIN, NAME, "%D3%98", "q="):
        assert secret not in lines, secret
    assert api.post("/cases/search", {"q": NAME, "limit": 0}).status_code == 422
    assert api.post("/cases/search", {"surname": NAME}).status_code == 422


def test_no_route_keeps_its_query_in_the_log(
        operator_client: FlaskClient, request_log: pytest.LogCaptureFixture) -> None:
    operator_client.get("/notifications?page=2")
    lines = logged(request_log)
    assert "GET /notifications 200" in lines and "page=2" not in lines
