"""A child reports through a school's QR code on a phone, an operator answers, the child reads
the answer with the code (issue 12 acceptance). Screenshots in Kazakh and Russian at 360x740."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import utcnow
from core.extensions import db
from intake.text.schools import add_school
from referrals import demo
from tests.browser.conftest import browser_sign_in
from tests.reading import poster_token

pytestmark = [pytest.mark.browser]
PHONE = {"width": 360, "height": 740}
BULLYING = "Сыныптастарым мені күнде мазақтайды, сөмкемді тығып қояды. Мектепке барғым келмейді."
SUICIDE = "Мне очень плохо, я больше не хочу жить, думаю покончить с собой."
ANSWER = "Сәлем! Жазғаның дұрыс болды. Біз мектеп психологымен сөйлесеміз. Сен жалғыз емессің."


@pytest.fixture
def school_token(app: Any) -> str:
    demo.load_directory()
    school = add_school("№3 жалпы білім беретін мектеп (ойдан шығарылған)",
                        "Общеобразовательная школа №3 (вымышленная)", "KZ-27", "KZ-27-TEREKTI",
                        utcnow())
    db.session.commit()
    return poster_token(school)


@pytest.fixture
def phone(browser: Any, live_server: str, artifacts_dir: Path) -> Iterator[Any]:
    contexts: list[Any] = []

    def _open(lang: str) -> Any:
        context = browser.new_context(viewport=PHONE, base_url=live_server, is_mobile=True,
                                      has_touch=True, locale=lang,
                                      extra_http_headers={"Accept-Language": lang})
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def shot(page: Any, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: {width[0]} px wide on a {width[1]} px phone"


def test_a_child_reports_an_operator_answers_the_child_reads_it(
        page: Any, phone: Any, school_token: str, create_user: Any, artifacts_dir: Path) -> None:
    child = phone("kk")
    child.goto(f"/r/{school_token}")
    assert child.locator("html").get_attribute("lang") == "kk"
    assert child.locator("#quick-exit").is_visible()
    for number in ("102", "103", "112", "111"):
        assert child.locator(f'a[href="tel:{number}"]').first.is_visible()
    shot(child, artifacts_dir, "school-report-kk")
    child.fill("#text", BULLYING)
    child.check('input[name="safe_now"][value="yes"]')
    child.fill("#age", "13")
    child.click("button.send")
    code = child.locator("#follow-up-code").inner_text().strip()
    assert len(code) == 19 and child.locator("button.copy").is_visible()  # JS shows the copy button
    shot(child, artifacts_dir, "school-code-kk")

    operator = create_user("operator", display_name="Айгүл Демо (ойдан шығарылған)")
    browser_sign_in(page, operator, "kk")
    page.goto("/text-reports")
    page.click("table.text-queue tbody a")
    page.click("#claim")
    page.fill("#reply-text", ANSWER)
    page.click(".reply-form button[type=submit]")
    assert page.locator(".text-msg.helpline").inner_text().find("Сен жалғыз емессің") >= 0
    page.screenshot(path=str(artifacts_dir / "school-operator-kk.png"), full_page=True)

    later = phone("kk")  # the child comes back another time, with nothing but the code
    later.goto(f"/r/{school_token}")
    later.fill("#code", code.lower())
    later.click(".back button[type=submit]")
    assert later.locator(".msg.helpline").inner_text().find("Сен жалғыз емессің") >= 0
    assert code not in later.url
    shot(later, artifacts_dir, "school-thread-kk")

    later.goto(f"/r/{school_token}")
    later.fill("#code", "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    later.click(".back button[type=submit]")
    assert "Бұл кодпен хат алмасуды ашу мүмкін болмады" in later.locator("h1").inner_text()
    assert "ZZZZ" not in later.content().split("<main>")[1].split("</h1>")[0]
    shot(later, artifacts_dir, "school-wrong-code-kk")


def test_a_suicide_phrase_in_russian_jumps_the_queue(page: Any, phone: Any, school_token: str,
                                                     create_user: Any, artifacts_dir: Path) -> None:
    first = phone("kk")
    first.goto(f"/r/{school_token}")
    first.fill("#text", BULLYING)
    first.click("button.send")
    child = phone("ru")
    child.goto(f"/r/{school_token}")
    assert child.locator("html").get_attribute("lang") == "ru"
    assert "Расскажи, что случилось" in child.locator("h1").inner_text()
    shot(child, artifacts_dir, "school-report-ru")
    child.fill("#text", SUICIDE)
    child.check('input[name="safe_now"][value="unsure"]')
    child.click("button.send")
    assert "112" in child.locator(".alert").inner_text()
    shot(child, artifacts_dir, "school-code-ru")

    browser_sign_in(page, create_user("operator"), "ru")
    page.goto("/text-reports")
    rows = page.locator("table.text-queue tbody tr")
    assert rows.count() == 2
    assert "urgent" in (rows.nth(0).get_attribute("class") or "")
    assert "суицид" in rows.nth(0).inner_text() and "urgent" not in (rows.nth(1).get_attribute("class") or "")
    page.screenshot(path=str(artifacts_dir / "school-queue-ru.png"), full_page=True)


def test_quick_exit_leaves_and_the_back_button_does_not_return(phone: Any, school_token: str) -> None:
    child = phone("ru")
    child.route("https://www.google.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<title>weather</title>"))
    child.goto(f"/r/{school_token}")
    child.click("#quick-exit")
    child.wait_for_url("https://www.google.com/**")
    child.go_back()
    assert f"/r/{school_token}" not in child.url


def test_the_page_works_without_javascript(browser: Any, live_server: str, school_token: str,
                                           artifacts_dir: Path) -> None:
    context = browser.new_context(viewport=PHONE, base_url=live_server, java_script_enabled=False,
                                  extra_http_headers={"Accept-Language": "ru"})
    child = context.new_page()
    try:
        child.goto(f"/r/{school_token}")
        child.fill("#text", "Меня обижают в классе")
        child.click("button.send")
        code = child.locator("#follow-up-code").inner_text().strip()
        assert len(code) == 19 and not child.locator("button.copy").is_visible()
        child.click("form.card button[type=submit]")  # "open my conversation"
        assert "Меня обижают в классе" in child.locator(".msg.child").inner_text()
        shot(child, artifacts_dir, "school-thread-ru-nojs")
    finally:
        context.close()
