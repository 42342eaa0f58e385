"""Issue 14 in a browser: the referral page of an office-hours body in Kazakh (orындауға
қабылдау, алынғанын растау, the 2026.2 services) and a unit's email in Kazakh, as screenshots."""

from __future__ import annotations

import html
from typing import Any

import pytest

from core.models import AgencyUnit
from referrals.handoffs import notify
from referrals.handoffs.models import Referral
from tests.browser.conftest import TEREKTI, browser_sign_in, submit_contact

pytestmark = [pytest.mark.browser]


def test_the_referral_page_and_an_email_in_kazakh(
        page: Any, screenshot: Any, create_user: Any, units: dict[str, AgencyUnit],
        app: Any) -> None:
    from core.extensions import db

    operator = create_user("operator", display_name="Айгүл Демо (ойдан шығарылған)")
    education = create_user("agency_staff", unit=units[f"education-{TEREKTI}"],
                            display_name="Дана Демо (ойдан шығарылған)")
    case = submit_contact(page, operator)
    assert "health.medical_care" in case["referrals"]  # 2026.2: not a forensic examination
    referral_id = case["referrals"]["education.guardianship"]

    browser_sign_in(page, education, "kk")
    page.goto(f"/referrals/{referral_id}")
    text = page.locator("main").inner_text()
    assert "Орындауға қабылдау" in text and "Алынғанын растау" in text
    assert "Жұмысқа қабылдау" not in text
    screenshot("issue14-referral-kk")

    referral = db.session.get(Referral, referral_id)
    assert referral is not None and referral.unit is not None
    subject, body = notify.render_email("new_referral", referral, referral.unit, "kk")
    assert "«Сенім» жүйесі" in subject and "«Сенім» жүйесінде" in body
    page.set_content(
        "<html lang='kk'><body style='font: 16px sans-serif; margin: 2em; max-width: 60em'>"
        f"<p><b>Тақырыбы:</b> {html.escape(subject)}</p>"
        f"<pre style='white-space: pre-wrap; font: inherit'>{html.escape(body)}</pre>"
        "</body></html>")
    screenshot("issue14-email-kk")
