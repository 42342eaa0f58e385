"""An operator takes calls at the keyboard (issue 6 acceptance)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.extensions import db
from intake.models import Case, Contact
from referrals import demo
from referrals.handoffs.models import Referral
from tests.browser.conftest import browser_sign_in

pytestmark = [pytest.mark.browser]


@pytest.fixture
def directory(app: Any) -> None:
    demo.load_directory()
    db.session.commit()


def choose(page: Any, starts_with: str) -> None:
    """Pick an option of the focused select with the arrow keys, as a keyboard user does.
    (Playwright types Cyrillic as composed text, which a select's type-ahead never sees.)"""
    for _ in range(80):
        text = page.evaluate("document.activeElement.selectedOptions[0]?.text || ''")
        if text.startswith(starts_with):
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no option starting with {starts_with!r}")


def _count(model: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_call_about_a_girl_in_terekti_in_kazakh(page: Any, screenshot: Any, create_user: Any,
                                                 directory: None) -> None:
    operator = create_user("operator", display_name="Айгүл Демо (ойдан шығарылған)")
    browser_sign_in(page, operator, "kk")
    page.goto("/intake/new")
    keys = page.keyboard
    keys.press("2")                      # third party
    keys.press("Enter")                  # on to the caller
    choose(page, "Мұғалім")              # the caller is a teacher
    keys.press("Tab"); keys.type("Гүлнар Сапарова")
    keys.press("Tab"); keys.type("8 701 123 45 67")
    keys.press("Tab"); keys.press("Space")         # may be called back
    keys.press("Tab"); keys.type("Әсел Қайратқызы")
    keys.press("Tab"); keys.type("12")
    keys.press("Tab"); choose(page, "Қыз")         # a girl
    keys.press("Tab")                              # IIN: not known
    keys.press("Tab"); choose(page, "Батыс")       # West Kazakhstan region
    keys.press("Tab"); choose(page, "Теректі")     # Terekti district
    keys.press("Alt+K"); keys.type("жыныстық зорлық"); keys.press("Enter")
    keys.press("Alt+U")                            # urgency starts at P2
    keys.press("Alt+S"); keys.type("Мектептен қайтып келе жатқанда бейтаныс адам тиісті.")
    panel = page.locator("#preview-panel")
    page.wait_for_timeout(1500)  # let the debounced preview land before the screenshot
    screenshot("intake-form-kk")
    panel.get_by_text("Теректі ауданы", exact=False).first.wait_for()
    assert panel.locator("li.mandatory").count() == 4
    keys.press("Control+Enter")
    keys.press("Control+Enter")  # an impatient second press sends the same form again
    page.wait_for_url("**/cases/**")
    assert page.locator("tr.referral-row").count() == 4
    screenshot("intake-case-kk")
    page.reload()  # and a reload of the result page submits nothing
    assert page.locator("tr.referral-row").count() == 4
    assert _count(Case) == 1 and _count(Contact) == 1 and _count(Referral) == 4
    # the case list finds it by the child's region and the day it was reported (local days)
    today = datetime.now(ZoneInfo("Asia/Almaty")).date().isoformat()  # the live app's wall clock
    page.goto("/cases?region=KZ-27")
    page.fill("#from", today)
    page.fill("#to", today)
    page.locator("form[role=search] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith("/cases")  # searched by POST: nothing typed sits in the URL
    assert page.locator("#from").input_value() == today
    assert page.locator("tbody tr a").count() == 1
    screenshot("intake-cases-kk")


def test_a_silent_call_closes_in_two_keystrokes_in_russian(page: Any, screenshot: Any,
                                                          create_user: Any, directory: None) -> None:
    operator = create_user("operator")
    browser_sign_in(page, operator, "ru")
    page.goto("/intake/new")
    screenshot("intake-form-ru")
    page.keyboard.press("5")       # silent
    page.keyboard.press("Enter")   # close and record
    page.wait_for_load_state()
    page.locator(".flash").first.wait_for()
    assert _count(Contact) == 1 and _count(Case) == 0
    contact = db.session.scalars(select(Contact)).one()
    assert contact.contact_type == "silent"
