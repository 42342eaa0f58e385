"""Every user-visible message is translated into kk, ru and en (architecture.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("kk", "ru", "en")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|%d")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as handle:
        return read_po(handle)


def _catalog(lang: str) -> Catalog:
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def _strings(message: object) -> tuple[str, ...]:
    value = message.string  # type: ignore[attr-defined]
    return (value,) if isinstance(value, str) else tuple(value)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(template: Catalog, lang: str) -> None:
    catalog = _catalog(lang)
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        if found is None or found.fuzzy or not all(_strings(found)):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    assert not missing, f"{lang}: {len(missing)} untranslated (run `make messages`): {missing[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang: str) -> None:
    for message in _catalog(lang):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        wanted = sorted(PLACEHOLDER.findall(source))
        for text in _strings(message):
            if text:
                assert sorted(PLACEHOLDER.findall(text)) == wanted, (lang, source, text)


def test_kazakh_catalogue_is_kazakh_not_russian() -> None:
    """Kazakh uses its own letters; a Russian text pasted in would have none of them."""
    sentences = [
        text for message in _catalog("kk") if message.id
        for text in _strings(message) if len(text.split()) >= 4
    ]
    with_letters = [t for t in sentences if KAZAKH_LETTERS & set(t)]
    assert sentences and len(with_letters) / len(sentences) >= 0.8, (
        [t for t in sentences if t not in with_letters][:10]
    )


def test_kazakh_and_russian_differ() -> None:
    kk = {m.id: m.string for m in _catalog("kk") if m.id and isinstance(m.id, str)}
    ru = {m.id: m.string for m in _catalog("ru") if m.id and isinstance(m.id, str)}
    long_ids = [i for i in kk if len(str(i).split()) >= 3]
    same = [i for i in long_ids if kk[i] == ru.get(i)]
    assert not same, same
