"""The report upward with its charts, in Kazakh and Russian, at 1366x768 (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import User
from tests.browser.conftest import browser_sign_in
from tests.intake.conftest import directory  # noqa: F401
from tests.referrals.reports.conftest import PLANTED_NAME, Seed, seeded  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("directory")]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_regional_report_with_charts_fits_the_screen(
        page: Any, screenshot: Any, seeded: Seed, create_user: Any, lang: str) -> None:  # noqa: F811
    supervisor: User = create_user("supervisor", region="KZ-27", display_name="Әлия Супервайзер (демо)")
    browser_sign_in(page, supervisor, lang=lang)
    page.goto("/reports?period=2026-10")
    assert page.locator("html").get_attribute("lang") == lang
    charts = page.locator("svg.chart")
    assert charts.count() == 5 and charts.first.is_visible()
    assert page.locator("svg.chart .chart-bar").count() > 5
    heading = page.locator("h1").inner_text()
    assert "2026-10" in heading and ("Батыс" in heading or "Западно" in heading)
    assert PLANTED_NAME not in page.content()
    screenshot(f"reports-region-{lang}")


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_country_s_annual_report_and_the_submissions(
        page: Any, screenshot: Any, seeded: Seed, create_user: Any, lang: str) -> None:  # noqa: F811
    supervisor: User = create_user("supervisor", display_name="Асқар Ұлттық (демо)")
    browser_sign_in(page, supervisor, lang=lang)
    page.goto("/reports?period=2026")
    assert page.locator("svg.chart").count() == 5
    assert page.locator("#regions-h").is_visible()
    screenshot(f"reports-country-year-{lang}")
    page.goto("/reports/submissions?period=2026-10")
    assert page.locator("table.figures tbody tr").count() == 21
    # the live app runs on the wall clock: 10 and 25 November 2026 have passed, nothing was sent
    assert page.locator(".tag.late").count() == 21
    screenshot(f"reports-submissions-{lang}")


def test_a_supervisor_sets_a_legal_hold_in_russian(page: Any, screenshot: Any, seeded: Seed,  # noqa: F811
                                                   create_user: Any) -> None:
    from sqlalchemy import select

    from core.extensions import db
    from intake.models import Case

    case = db.session.scalar(select(Case).where(Case.number == seeded.case_numbers[0]))
    assert case is not None
    supervisor: User = create_user("supervisor", display_name="Марат Супервайзер (демо)")
    browser_sign_in(page, supervisor, lang="ru")
    page.goto(f"/cases/{case.id}/legal-hold")
    page.fill("#hold-reason", "Запрос суда по делу № 2-123/2026: хранить до решения.")
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(f"**/cases/{case.id}/legal-hold")
    assert page.locator(".flash-success").is_visible()
    assert "Запрос суда" in page.locator("table.figures").inner_text()
    screenshot("retention-legal-hold-ru")
    page.goto("/supervision/legal-holds")
    assert page.locator("table.figures a", has_text=case.number).count() == 1
