"""The risk-group register and the monthly reconciliation act in a browser (issue 11), in
Kazakh and Russian at 1366x768, on screen and in print, with no sideways scrolling."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.extensions import db
from core.models import AgencyUnit, User
from tests.browser.conftest import browser_sign_in
from tests.intake.conftest import bearer, contact, directory  # noqa: F401
from tests.reading import json_of

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("directory")]


def _region_unit(agency: str) -> AgencyUnit:
    unit = db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == agency, AgencyUnit.region == "KZ-27", AgencyUnit.district.is_(None)))
    assert unit is not None
    return unit


@pytest.fixture
def november(client: FlaskClient, contact: Any, bearer: Any, create_user: Any) -> dict[str, User]:  # noqa: F811
    """A few November cases in West Kazakhstan (the test clock's month), one of them a
    pregnancy at 15 whose police referral was taken out by a supervisor (a discrepancy)."""
    supervisor = create_user("supervisor", display_name="Айгерим Супервайзер (демо)")
    headers = bearer(supervisor)
    bodies = [
        contact(),
        contact(categories=["physical_health.pregnancy"], urgency="P3", child__age=15,
                child__name="Мадина Серікқызы", child__iin=..., child__flags=["pregnancy"],
                child__district="KZ-27-ORAL", perpetrator=..., place=...),
        contact(categories=["family.relationship_with_caregiver"], urgency="P3",
                child__name="Нұрлан Асқаров", child__iin=..., child__sex="male",
                child__flags=["orphan", "without_parental_care"], perpetrator=..., place=...),
    ]
    for body in bodies:
        response = client.post("/api/v1/contacts", headers=headers, json=body)
        assert response.status_code == 201, response.json
        for made in json_of(response)["referrals"]:
            if made["agency"] == "police" and body["categories"] == ["physical_health.pregnancy"]:
                client.post(f"/api/v1/referrals/{made['id']}/override", headers=headers,
                            json={"reason": "демо"})
    return {"supervisor": supervisor,
            "health": create_user("agency_head", unit=_region_unit("health"),
                                  display_name="Гүлмира Денсаулық (демо)"),
            "police": create_user("agency_head", unit=_region_unit("police"),
                                  display_name="Ерлан Полиция (демо)")}


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_register_for_a_health_head_and_a_supervisor(
        page: Any, screenshot: Any, november: dict[str, User], lang: str) -> None:
    browser_sign_in(page, november["health"], lang=lang)
    page.goto("/registers/risk-group")
    assert page.locator("html").get_attribute("lang") == lang
    counts = page.locator(".register-counts table").first.inner_text()
    assert "1" in counts
    listed = page.locator("table.register-list tbody").inner_text()
    assert "Нұрлан Асқаров" in listed and "Мадина Серікқызы" in listed  # health: identities
    screenshot(f"registers-risk-group-health-{lang}")

    page.goto("/registers/risk-group?region=KZ-27&flag=orphan")
    assert page.locator("table.register-list tbody tr").count() == 1
    page.locator("table.register-list tbody a").first.click()
    page.wait_for_url("**/registers/risk-group/children/**")
    assert page.locator("table.figures tbody tr").count() >= 1
    screenshot(f"registers-child-history-{lang}")


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_act_on_screen_and_in_print(page: Any, screenshot: Any, november: dict[str, User],
                                        lang: str) -> None:
    browser_sign_in(page, november["police"], lang=lang)
    page.goto("/reports/reconciliation?month=2026-11")
    assert page.locator("html").get_attribute("lang") == lang
    rows = page.locator("table.act-table tbody tr")
    assert rows.count() == 2  # the sexual-violence case and the pregnancy; not the orphan
    assert page.locator("tr.discrepant .tag.discrepancy").count() >= 2
    assert page.locator("form[action$='/reconciliation/sign'] button").is_visible()
    screenshot(f"registers-act-{lang}")

    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".act-tools").is_visible()
    assert page.locator(".act-print-only").is_visible()
    screenshot(f"registers-act-print-{lang}")
    page.emulate_media(media="screen")

    page.locator("form[action$='/reconciliation/sign'] button").click()
    page.locator("input[name=confirmed] ~ button").click()
    page.wait_for_url("**/reports/reconciliation?**")
    signatures = page.locator(".act-signoffs").inner_text()
    assert "Ерлан Полиция (демо)" in signatures
    screenshot(f"registers-act-signed-{lang}")


def test_the_register_for_a_supervisor_in_russian(page: Any, screenshot: Any,
                                                  november: dict[str, User]) -> None:
    browser_sign_in(page, november["supervisor"], lang="ru")
    page.goto("/registers/risk-group?region=KZ-27")
    assert "Реестр группы риска" in page.locator("h1").inner_text()
    screenshot("registers-risk-group-supervisor-ru")
