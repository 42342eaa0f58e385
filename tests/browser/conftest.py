"""Browser-test harness: the app on a free port against its own temporary database, driven by
Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from core.app import create_app
from core.clock import SystemClock
from core.extensions import db
from core.models import AgencyUnit, User
from core.users_service import issue_token
from referrals import demo
from referrals.directory import services_by_agency
from tests.conftest import TEST_APPS, make_config
from tests.intake.conftest import TEREKTI_GIRL

TEREKTI, ORAL = "KZ-27-TEREKTI", "KZ-27-ORAL"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory, database_url: str,
             _migrated_app: Flask) -> Flask:
    """A second app on the same migrated database, with the real clock (sessions expire on
    wall time in a browser)."""
    app = create_app(make_config(tmp_path_factory.mktemp("live"), database_url),
                     clock=SystemClock())
    TEST_APPS.append(app)
    return app


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    port = _free_port()
    server: BaseWSGIServer = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = Path("/usr/bin/chromium")
    if not executable.exists():
        pytest.fail("browser tests need Debian's chromium: apt-get install chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: str, app: Flask) -> Iterator[Any]:
    """A fresh 1366x768 page (the operators' screens). ``app`` empties the tables afterwards."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server)
    page = context.new_page()
    yield page
    context.close()
    db.session.remove()


@pytest.fixture
def screenshot(artifacts_dir: Path, page: Any) -> Any:
    def _take(name: str) -> Path:
        path = artifacts_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        # every page we look at must fit the helplines' 1366-pixel screens without sideways
        # scrolling (checked after saving, so a failure leaves the picture to look at)
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{name}: {width[0]} px wide on a {width[1]} px screen"
        return path
    return _take


def browser_sign_in(page: Any, user: Any, lang: str = "kk") -> None:
    """Sign in through the pages, second factor included (the live app runs on wall time)."""
    import pyotp

    from tests.factories import TEST_PASSWORD

    page.set_extra_http_headers({"Accept-Language": lang})
    page.goto("/login")
    page.fill("#username", user.username)
    page.fill("#password", TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/login/code**")
    page.fill("#code", pyotp.TOTP(user.totp_secret).now())
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def submit_contact(page: Any, operator: User, **changes: Any) -> dict[str, Any]:
    """The operator's telephony integration posts the contact (interfaces.md)."""
    _, token = issue_token(operator, "cti", None)
    db.session.commit()
    body = copy.deepcopy(TEREKTI_GIRL)
    body.update(changes)
    response = page.request.post("/api/v1/contacts", data=json.dumps(body), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status == 201, response.text()
    created = response.json()
    return {"case_id": created["case_id"],
            "referrals": {r["service"]: r["id"] for r in created["referrals"]}}


@pytest.fixture
def units(app: Any) -> dict[str, AgencyUnit]:
    """West Kazakhstan's units as in the demo: region level, and Terekti and Oral offices."""
    by_agency = services_by_agency()
    for agency in demo.UNIT_TITLES:
        demo.ensure_unit(agency, "KZ-27", None, by_agency[agency])
    for district in (TEREKTI, ORAL):
        for agency in demo.DISTRICT_AGENCIES:
            demo.ensure_unit(agency, "KZ-27", district, by_agency[agency])
    db.session.commit()
    found = {}
    for agency, district in (("police", TEREKTI), ("education", TEREKTI), ("education", ORAL)):
        unit = db.session.scalar(select(AgencyUnit).where(
            AgencyUnit.agency == agency, AgencyUnit.district == district))
        assert unit is not None, (agency, district)
        found[f"{agency}-{district}"] = unit
    return found
