"""The risk phrase list (intake/text/risk_phrases.yaml) in Kazakh, Russian and English,
including the misspellings and keyboard habits children have, and ordinary texts it must leave
alone."""

from __future__ import annotations

import pytest

from intake.text import triage


@pytest.mark.parametrize("text, category", [
    # Kazakh, with and without the Kazakh letters (a Russian keyboard), and misspelt
    ("Мен өлгім келеді, ешкім мені түсінбейді", "suicide"),
    ("олгим келеди", "suicide"),
    ("Өзімді өлтіргім келеді", "suicide"),
    ("өмір сүргім келмейді енді", "suicide"),
    ("Асылып өлемін деп ойлаймын", "suicide"),
    ("Түнде қолымды кесемін", "self_harm"),
    ("Өгей әкем мені зорлады", "sexual_violence"),
    ("Ол менің денемді ұстайды", "sexual_violence"),
    ("Жалаңаш суретімді сұрайды", "sexual_violence"),
    ("Әкем қазір мені ұрып жатыр", "immediate_danger"),
    ("Ағам өлтіремін деді", "immediate_danger"),
    ("Үйге баруға қорқамын", "immediate_danger"),
    # Russian, with common misspellings
    ("Я больше не хочу жить", "suicide"),
    ("нехочу жить", "suicide"),
    ("хочу умиреть", "suicide"),
    ("думаю о самоубистве", "suicide"),
    ("мысли о суециде", "suicide"),
    ("хочу покончить с собой", "suicide"),
    ("ПОКОНЧУ С СОБОЙ!!!", "suicide"),
    ("я режу себя по ночам", "self_harm"),
    ("меня изнасиловали", "sexual_violence"),
    ("меня изнаселовал сосед", "sexual_violence"),
    ("отчим домагается до меня", "sexual_violence"),
    ("тренер трогает меня", "sexual_violence"),
    ("папа сказал что убъет меня", "immediate_danger"),
    ("отчим избивает маму и меня", "immediate_danger"),
    # English, with misspellings
    ("I want to kill myself", "suicide"),
    ("i wanna die", "suicide"),
    ("thinking about sucide", "suicide"),
    ("I dont want to live anymore", "suicide"),
    ("I cut myself again", "self_harm"),
    ("he raped me", "sexual_violence"),
    ("my uncle touched me", "sexual_violence"),
    ("dad is beating me", "immediate_danger"),
])
def test_risk_phrases_are_found(text: str, category: str) -> None:
    assert category in triage.assess(text)


@pytest.mark.parametrize("text", [
    "Сыныптастарым мені мазақтайды, сөмкемді тығып қояды",
    "Мектепте баға қойғанда мұғалім әділ емес",
    "Мне скучно жить в деревне",  # "жить" without "не хочу"
    "Учитель несправедливо ставит оценки",
    "Мы с мамой поссорились из-за телефона",
    "I want to go on a diet",
    "My friends ignore me at school",
    "",
])
def test_ordinary_words_are_left_alone(text: str) -> None:
    assert triage.assess(text) == []


def test_every_category_has_phrases_in_every_language() -> None:
    found = {(p.category, p.language) for p in triage.phrases()}
    assert found == {(c, lang) for c in triage.CATEGORIES for lang in ("kk", "ru", "en")}


def test_normalisation_folds_kazakh_letters_case_and_repeats() -> None:
    assert triage.normalise("ӨЛГІМ кеЛЕЕЕді!") == ["олгим", "келеди"]
    assert triage.normalise("don't-stop") == ["dont", "stop"]


@pytest.mark.parametrize("a, b, close", [
    ("самоубийство", "самоубиство", True), ("умереть", "умиреть", True),
    ("жить", "жито", True), ("умереть", "умерла", False), ("abc", "abcde", False),
])
def test_one_edit_distance(a: str, b: str, close: bool) -> None:
    assert triage.within_one_edit(a, b) is close


def test_short_words_must_match_exactly() -> None:
    # "жито" is one letter off "жить", but words under five letters never match loosely
    assert triage.assess("не хочу жито") == []


def test_an_unknown_category_in_the_data_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bad.yaml"
    path.write_text("version: 1\ncategories:\n  boredom:\n    en: [bored]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="boredom"):
        triage.phrases(path)
