"""Closing the loop in a browser (issue 7 acceptance): the operator submits; the Terekti police
officer acknowledges, accepts and completes with an outcome, and the operator sees it on the
case page; the education office declines with "wrong district" and a supervisor re-routes it.
Screenshots of the inbox and the referral page in Kazakh and Russian."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from core.clock import SystemClock
from core.extensions import db
from core.models import AgencyUnit
from referrals.handoffs.models import Referral
from referrals.routing import default_algorithm
from tests.browser.conftest import ORAL, TEREKTI, browser_sign_in, submit_contact

pytestmark = [pytest.mark.browser]


@pytest.fixture
def other_pages(browser: Any, live_server: str) -> Iterator[Any]:
    """More people at their own screens (each in a browser context of their own)."""
    contexts: list[Any] = []

    def _open() -> Any:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def make_overdue(referral_id: str) -> None:
    """A referral whose acknowledgement is 25 minutes late (the live app runs on wall time)."""
    found = db.session.get(Referral, referral_id)
    assert found is not None
    now = SystemClock().now()
    found.ack_due_at, found.action_due_at = now - timedelta(minutes=25), now + timedelta(hours=2)
    db.session.commit()


def press(page: Any, referral_id: str, action: str) -> None:
    page.locator(f"form[action='/referrals/{referral_id}/{action}'] button[type=submit]").click()


def test_the_loop_from_the_helpline_to_the_agencies_and_back(
        page: Any, screenshot: Any, other_pages: Any, create_user: Any,
        units: dict[str, AgencyUnit]) -> None:
    operator = create_user("operator", display_name="Айгүл Демо (ойдан шығарылған)")
    supervisor = create_user("supervisor", display_name="Самат Демо (ойдан шығарылған)")
    police = create_user("agency_staff", unit=units[f"police-{TEREKTI}"],
                         display_name="Ерлан Демо (ойдан шығарылған)")
    education = create_user("agency_staff", unit=units[f"education-{TEREKTI}"],
                            display_name="Дана Демо (ойдан шығарылған)")

    case = submit_contact(page, operator)
    earlier = submit_contact(page, operator, categories=["violence.physical"])
    urgent = submit_contact(page, operator, flags=["immediate_danger"])
    make_overdue(urgent["referrals"]["police.juvenile_inspector"])
    assert earlier["case_id"]
    police_referral = case["referrals"]["police.juvenile_inspector"]

    # -- the police officer of Terekti, in Kazakh: the inbox, nearest deadline first ----------
    browser_sign_in(page, police, "kk")
    assert page.locator("html").get_attribute("lang") == "kk"
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 4  # the P1 case also asks for police.emergency
    assert "is-overdue" in (rows.first.get_attribute("class") or "")  # the late P1 on top
    assert page.locator("table.inbox .countdown.overdue").count() == 1
    screenshot("handoffs-inbox-kk")
    page.locator(f"a[href='/referrals/{police_referral}']").click()
    page.wait_for_url(f"**/referrals/{police_referral}")
    assert page.locator("h1").inner_text().strip()
    screenshot("handoffs-referral-kk")

    # -- the same pages in Russian --------------------------------------------------------------
    page.locator(".lang-switch button[value=ru]").click()
    page.wait_for_url(f"**/referrals/{police_referral}")
    assert page.locator("html").get_attribute("lang") == "ru"
    screenshot("handoffs-referral-ru")

    # -- acknowledge, accept, complete with an outcome (confirmed) -------------------------------
    press(page, police_referral, "acknowledge")
    page.wait_for_selector(f"form[action='/referrals/{police_referral}/accept']")
    press(page, police_referral, "accept")
    page.wait_for_selector("#complete-outcome")
    page.select_option("#complete-outcome", "investigation_opened")
    page.fill("#complete-note", "Қылмыстық іс қозғалды, бала психологқа жіберілді.")
    press(page, police_referral, "complete")
    page.wait_for_selector("input[name=confirmed]", state="attached")
    screenshot("handoffs-confirm-ru")
    page.keyboard.press("Enter")  # the confirm button has focus
    page.wait_for_url(f"**/referrals/{police_referral}")
    assert page.locator(".flashes").is_visible()
    screenshot("handoffs-referral-completed-ru")
    page.goto("/")
    screenshot("handoffs-inbox-ru")

    # -- the operator sees the outcome on the case page --------------------------------------------
    operator_page = other_pages()
    browser_sign_in(operator_page, operator, "ru")
    operator_page.goto(f"/cases/{case['case_id']}")
    row = operator_page.locator("tr.referral-row.status-completed")
    assert row.count() == 1
    assert default_algorithm().label("outcome", "investigation_opened", "ru") in row.inner_text()
    screenshot_of(operator_page, "handoffs-case-outcome-ru")

    # -- education declines with "wrong district" ---------------------------------------------------
    education_referral = case["referrals"]["education.guardianship"]
    education_page = other_pages()
    browser_sign_in(education_page, education, "kk")
    education_page.goto(f"/referrals/{education_referral}")
    education_page.locator("details.action-form summary").first.click()
    education_page.select_option("#decline-reason", "wrong_district")
    education_page.fill("#decline-note", "Бала Орал қаласында тұрады.")
    press(education_page, education_referral, "decline")
    education_page.wait_for_selector("input[name=confirmed]", state="attached")
    education_page.locator("form.form-actions button[type=submit]").click()
    education_page.wait_for_url(lambda url: "/referrals/" in url or url.endswith("/"))

    # -- the supervisor finds it on the "to re-route" list and re-routes it to Oral -------------
    supervisor_page = other_pages()
    browser_sign_in(supervisor_page, supervisor, "ru")
    supervisor_page.goto("/supervision/reroute")
    link = supervisor_page.locator(f"a[href='/referrals/{education_referral}']")
    assert link.count() == 1
    screenshot_of(supervisor_page, "handoffs-reroute-list-ru")
    link.click()
    supervisor_page.wait_for_url(f"**/referrals/{education_referral}")
    screenshot_of(supervisor_page, "handoffs-reroute-referral-ru")
    supervisor_page.select_option("#reroute-unit", units[f"education-{ORAL}"].id)
    press(supervisor_page, education_referral, "reroute")
    supervisor_page.wait_for_url(f"**/referrals/{education_referral}")
    db.session.expire_all()
    moved = db.session.get(Referral, education_referral)
    assert moved is not None and (moved.status, moved.unit_id) == ("sent", units[f"education-{ORAL}"].id)
    done = db.session.get(Referral, police_referral)
    assert done is not None and (done.status, done.outcome) == ("completed", "investigation_opened")


def screenshot_of(page: Any, name: str) -> None:
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
