"""Issue 14, language item 3: one Kazakh term per concept across the kk catalogue and the
algorithm's labels; the glossary is data (tests/data/kk_glossary.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.pofile import read_po

from referrals.routing import default_algorithm

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY: dict[str, Any] = yaml.safe_load(
    (ROOT / "tests" / "data" / "kk_glossary.yaml").read_text(encoding="utf-8"))["terms"]


def _catalogue() -> dict[str, str]:
    with (ROOT / "translations" / "kk" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    found = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        text = message.string if isinstance(message.string, str) else " ".join(message.string or ())
        found[key] = text
    return found


CATALOGUE = _catalogue()


def _algorithm_labels() -> Iterator[tuple[str, str]]:
    for kind, codes in default_algorithm().labels.items():
        for code, labels in codes.items():
            yield f"{kind} {code}", labels["kk"]


def kazakh_texts() -> Iterator[tuple[str, str]]:
    yield from CATALOGUE.items()
    yield from _algorithm_labels()


@pytest.mark.parametrize("concept", sorted(GLOSSARY))
def test_no_forbidden_variant_anywhere_in_kazakh(concept: str) -> None:
    forbidden = [v.casefold() for v in GLOSSARY[concept]["forbidden"]]
    offending = [(where, text) for where, text in kazakh_texts()
                 if any(v in text.casefold() for v in forbidden)]
    assert offending == [], f"{concept}: use «{GLOSSARY[concept]['use']}»"


@pytest.mark.parametrize("concept", sorted(GLOSSARY))
def test_the_concept_s_strings_use_the_term(concept: str) -> None:
    term = GLOSSARY[concept]
    for msgid in term["msgids"]:
        assert msgid in CATALOGUE, msgid
        assert term["use"].casefold() in CATALOGUE[msgid].casefold(), (msgid, CATALOGUE[msgid])


def test_the_glossary_catches_a_forbidden_variant() -> None:
    # the check itself can fail: "жұмысқа қабылдау" (to hire) is what it exists to stop
    variants = [v.casefold() for v in GLOSSARY["accept"]["forbidden"]]
    assert any(v in "Жұмысқа қабылдау".casefold() for v in variants)


def test_kazakh_uses_guillemets_and_names_the_product_as_a_system() -> None:
    assert [k for k, text in kazakh_texts() if "“" in text or "”" in text] == []
    bare = [k for k, text in CATALOGUE.items()
            if "Сенім" in text and "«Сенім»" not in text and text != "Сенім"
            and "сенім телефон" not in text.casefold()]
    assert bare == []


def test_no_case_ending_right_after_a_placeholder() -> None:
    import re

    # "%(date)s дейін", "%(region)s өңіріне": a postposition or an ending the value cannot take
    after = re.compile(r"%\([a-z_]+\)[sd](?: (?:дейін|бастап|өңіріне)|-?(?:ға|ге|қа|ке|на|не"
                       r"|да|де|та|те|дан|ден|тан|тен|нан|нен)\b)")
    assert after.search("Қабылданғанын %(ack)s дейін растау")  # the check can fail
    assert [k for k, text in CATALOGUE.items() if after.search(text)] == []


def test_russian_uses_guillemets_and_names_the_product_as_a_system() -> None:
    with (ROOT / "translations" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    texts = {m.id if isinstance(m.id, str) else m.id[0]:
             m.string if isinstance(m.string, str) else " ".join(m.string or ())
             for m in catalogue if m.id}
    assert [k for k, text in texts.items() if "“" in text or "”" in text] == []
    assert [k for k, text in texts.items()
            if "Сеним" in text and "«Сеним»" not in text and text != "Сеним"] == []
