"""A person signs in through /login, with the second factor, in Kazakh and in Russian."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser]


@pytest.mark.parametrize(("lang", "sign_in", "welcome"), [
    ("kk", "Кіру", "Менің кезегім"),
    ("ru", "Войти", "Моя очередь"),
])
def test_sign_in_with_the_second_factor(page: Any, screenshot: Any, create_user: Any,
                                        lang: str, sign_in: str, welcome: str) -> None:
    user = create_user("operator", display_name="Әсел Демо (ойдан шығарылған)")
    page.set_extra_http_headers({"Accept-Language": lang})
    page.goto("/login")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.get_by_role("heading", name=sign_in).is_visible()
    screenshot(f"login-{lang}")
    # Keyboard only: the username field has focus, Tab moves to the password, Enter submits.
    page.keyboard.type(user.username)
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/login/code**")
    screenshot(f"login-code-{lang}")
    page.keyboard.type(pyotp.TOTP(user.totp_secret).now())  # the code field has focus
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert welcome in page.locator("h1").inner_text()  # the operator's home is their queue
    assert "Әсел Демо" in page.locator(".who").inner_text()
    screenshot(f"home-{lang}")


def test_first_sign_in_shows_the_enrolment_qr_code(page: Any, screenshot: Any,
                                                   create_user: Any) -> None:
    user = create_user("admin", enrolled=False)  # the general welcome page
    page.set_extra_http_headers({"Accept-Language": "kk"})
    page.goto("/login")
    page.fill("#username", user.username)
    page.fill("#password", TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/login/enrol**")
    assert page.locator("img.qr").is_visible()
    key = page.locator(".manual-key").inner_text().replace(" ", "")
    screenshot("enrol-kk")
    page.fill("#code", pyotp.TOTP(key).now())
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert "Қош келдіңіз" in page.locator("h1").inner_text()


def test_my_sessions_lists_this_browser_and_ends_it(page: Any, screenshot: Any,
                                                    create_user: Any) -> None:
    from tests.browser.conftest import browser_sign_in

    user = create_user("operator")
    browser_sign_in(page, user, "kk")
    page.get_by_role("link", name="Менің сеанстарым").click()
    page.wait_for_url("**/account/sessions")
    assert page.locator("tbody tr").count() == 1 and page.locator(".tag").inner_text() == "осы сеанс"
    screenshot("my-sessions-kk")
    page.get_by_role("button", name="Осы сеансты аяқтау").click()
    page.wait_for_url("**/login")
    page.goto("/account/sessions")
    page.wait_for_url("**/login**")  # the session is over: back to the sign-in page
