"""A supervisor, in Russian, opens the dashboard and a case's routing audit (issue 8)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from core.models import User
from intake.models import Case
from referrals.routing import default_algorithm
from tests.browser.conftest import browser_sign_in
from tests.intake.conftest import bearer, contact, directory  # noqa: F401
from tests.reading import get_row, json_of

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("directory")]


@pytest.fixture
def reported_case(client: FlaskClient, contact: Any, bearer: Any, create_user: Any) -> tuple[User, Case]:  # noqa: F811
    """A case reported by a supervisor who removed one proposed referral, with a reason."""
    supervisor: User = create_user("supervisor", display_name="Айгерим Супервайзер (демо)")
    headers = bearer(supervisor)
    response = client.post("/api/v1/contacts", headers=headers, json=contact(referral_changes={
        "remove": [{"service": "health.medical_care", "reason": "Осмотр проведён вчера в областной больнице"}]}))
    assert response.status_code == 201, response.json
    return supervisor, get_row(Case, json_of(response)["case_id"])


def test_a_supervisor_in_russian_reads_the_dashboard_and_a_routing_audit(
        page: Any, screenshot: Any, reported_case: tuple[User, Case]) -> None:
    supervisor, case = reported_case
    browser_sign_in(page, supervisor, lang="ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert "Супервайзер" in page.locator(".who").inner_text()
    charts = page.locator("svg.chart")
    assert charts.count() == 4 and charts.first.is_visible()
    assert page.locator("#queues-h").is_visible() and page.locator("#timing-h").is_visible()
    waiting = page.locator("table[aria-labelledby='waiting-h'] a", has_text=case.number)
    assert waiting.count() >= 1  # its acknowledgements were due on 20 November
    screenshot("supervision-dashboard-ru")

    waiting.first.click()
    page.wait_for_url(f"**/cases/{case.id}/routing-audit")
    assert page.locator("h1").inner_text().endswith(case.number)
    decisions = page.locator("section[aria-labelledby='decisions-h']").inner_text()
    assert default_algorithm().label("rule", "sexual-violence", "ru") in decisions
    assert "2026.2" in decisions and "действующая версия" in decisions
    changes = page.locator("section[aria-labelledby='changes-h']").inner_text()
    assert "Осмотр проведён вчера" in changes and supervisor.username in changes
    screenshot("supervision-routing-audit-ru")

    page.goto("/")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert page.locator("svg.chart").first.is_visible()
    screenshot("supervision-dashboard-print")


def test_a_regional_supervisor_breaks_the_glass_and_the_access_log_shows_why(
        page: Any, screenshot: Any, reported_case: tuple[User, Case], create_user: Any) -> None:
    _, case = reported_case
    almaty = create_user("supervisor", region="KZ-19", display_name="Данияр Алматы (демо)")
    browser_sign_in(page, almaty, lang="ru")
    page.fill("#btg-number", case.number)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{case.id}/break-glass")
    page.locator("button.danger").click()  # no reason: refused, the field says why
    assert page.locator("#btg-reason").get_attribute("aria-invalid") == "true"
    assert page.locator("#btg-reason-error").is_visible()
    screenshot("supervision-break-glass-refused-ru")

    page.fill("#btg-reason", "Ребёнок позвонил на алматинскую линию, супервайзер области недоступен.")
    page.locator("button.danger").click()
    page.wait_for_url(f"**/cases/{case.id}")
    assert page.locator(".flash-warning").is_visible()
    page.goto(f"/cases/{case.id}/access-log")
    rows = page.locator("table.access-log tbody tr")
    assert rows.count() >= 3
    assert page.locator("tr.access-case-viewed.under-grant").count() == 1
    assert "алматинскую линию" in page.locator("tr.access-btg-opened").inner_text()
    screenshot("supervision-access-log-ru")


def test_an_auditor_in_kazakh_finds_a_case_s_access_log_and_verifies_the_trail(
        page: Any, screenshot: Any, reported_case: tuple[User, Case], create_user: Any) -> None:
    _, case = reported_case
    auditor = create_user("auditor", display_name="Сәуле Аудитор (демо)")
    browser_sign_in(page, auditor, lang="kk")
    assert page.locator("html").get_attribute("lang") == "kk"
    screenshot("audit-home-kk")
    page.fill("#log-number", case.number)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{case.id}/access-log")
    assert page.locator("table.access-log tbody tr").count() >= 1
    screenshot("audit-access-log-kk")
    page.goto("/audit/verify")
    assert "Аудит журналы бүтін" in page.locator("[role=status]").inner_text()
    screenshot("audit-verify-kk")
