"""Issue 14, language item 1: every email a unit receives reads in Kazakh or Russian, subject
and body, with no English sentence (the .txt templates are extracted and translated)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from referrals.handoffs import notify
from tests.referrals.handoffs.conftest import People, referral

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "referrals" / "handoffs" / "email"
URL = re.compile(r"https?://\S+")
LATIN_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
CYRILLIC = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")
KAZAKH_LETTERS = re.compile(r"[ӘәҒғҚқҢңӨөҰұҮүҺһІі]")
# Every email the product sends: (template, extra values)
EMAILS = [("new_referral", {}), ("escalation", {"level": 1}), ("escalation", {"level": 2})]


def english_words(text: str) -> list[str]:
    """Latin words outside links; urgency codes (P1-P4) are codes, not words."""
    return [w for w in LATIN_WORD.findall(URL.sub("", text)) if not re.fullmatch(r"P[1-4]", w)]


def test_every_email_template_is_in_the_catalogue_s_extraction() -> None:
    # babel.cfg extracts the .txt templates; a template that bypassed it would stay English
    config = (Path(__file__).resolve().parents[3] / "babel.cfg").read_text(encoding="utf-8")
    assert "[jinja2: templates/**.txt]" in config
    assert {p.stem for p in TEMPLATES.glob("*.txt")} == {name for name, _ in EMAILS}


@pytest.mark.parametrize("lang", ["kk", "ru"])
@pytest.mark.parametrize("template, values", EMAILS)
def test_every_email_renders_without_an_english_sentence(
        people: People, case: dict[str, Any], lang: str, template: str,
        values: dict[str, Any]) -> None:
    for service, referral_id in case["referrals"].items():
        found = referral(referral_id)
        assert found.unit is not None, service
        subject, body = notify.render_email(template, found, found.unit, lang, **values)
        for part in (subject, body):
            assert english_words(part) == [], (service, part)
            assert CYRILLIC.search(part), part
        if lang == "kk":
            assert KAZAKH_LETTERS.search(body), body  # Kazakh, not Russian
        assert "«Сенім»" in body if lang == "kk" else "«Сеним»" in body
        assert "Senim" not in subject + body


def test_an_unassigned_referral_s_escalation_reads_in_the_language_too(
        people: People, case: dict[str, Any]) -> None:
    found = referral(case["referrals"]["police.juvenile_inspector"])
    unit = found.unit
    assert unit is not None
    found.unit_id, found.unit = None, None
    for lang in ("kk", "ru"):
        subject, body = notify.render_email("escalation", found, unit, lang, level=1)
        assert english_words(subject + body) == [], body
