"""Risk triage of anonymous reports: the phrase list in ``risk_phrases.yaml`` (how it is read is
written there). Pure: no Flask, no database; ``assess(text)`` returns the risk codes found.

Triage orders the queue, it does not decide anything: a false alarm only brings a report to an
operator sooner, a miss leaves it in order of waiting time. So the matcher errs towards
matching (prefixes, one typing mistake in longer words).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PHRASES_FILE = Path(__file__).resolve().parent / "risk_phrases.yaml"
CATEGORIES = ("suicide", "self_harm", "sexual_violence", "immediate_danger")
FUZZY_MIN_LENGTH = 5  # shorter words must match exactly: "жить" and "жито" are different words
_FOLD = str.maketrans({"ё": "е", "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у",
                       "ү": "у", "һ": "х", "і": "и", "ъ": "ь", "’": "", "'": "", "`": ""})
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Word:
    stem: str
    prefix: bool  # the entry ended in *


@dataclass(frozen=True)
class Phrase:
    category: str
    language: str
    words: tuple[Word, ...]
    source: str


def normalise(text: str) -> list[str]:
    """The words of ``text`` as the matcher compares them."""
    folded = unicodedata.normalize("NFC", text).lower().translate(_FOLD)
    return [_squeeze(word) for word in _WORD.findall(folded)]


def _squeeze(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


def _phrase(category: str, language: str, source: str) -> Phrase:
    words = []
    for raw in source.split():
        prefix = raw.endswith("*")
        parts = normalise(raw.rstrip("*"))
        for i, part in enumerate(parts):  # "don't" → "dont"; "ұрып-соғады" → two words
            words.append(Word(part, prefix and i == len(parts) - 1))
    if not words:
        raise ValueError(f"empty phrase in {category}/{language}")
    return Phrase(category, language, tuple(words), source)


@cache
def phrases(path: Path = PHRASES_FILE) -> tuple[Phrase, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: list[Phrase] = []
    for category, by_language in data["categories"].items():
        if category not in CATEGORIES:
            raise ValueError(f"unknown risk category {category!r} in {path.name}")
        for language, entries in by_language.items():
            found.extend(_phrase(category, language, str(entry)) for entry in entries)
    return tuple(found)


def within_one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]  # one substitution
    return a[i:] == b[i + 1:]  # one insertion into a


def word_matches(pattern: Word, token: str) -> bool:
    fuzzy = len(pattern.stem) >= FUZZY_MIN_LENGTH
    if not pattern.prefix:
        return token == pattern.stem or (fuzzy and within_one_edit(token, pattern.stem))
    if token.startswith(pattern.stem):
        return True
    if not fuzzy:
        return False
    size = len(pattern.stem)
    return any(within_one_edit(token[:n], pattern.stem) for n in (size - 1, size, size + 1)
               if 0 < n <= len(token))


def _found_at(phrase: Phrase, tokens: list[str], start: int) -> bool:
    if start + len(phrase.words) > len(tokens):
        return False
    return all(word_matches(w, tokens[start + i]) for i, w in enumerate(phrase.words))


def matches(text: str) -> list[Phrase]:
    tokens = normalise(text)
    return [p for p in phrases() if any(_found_at(p, tokens, i) for i in range(len(tokens)))]


def assess(text: str) -> list[str]:
    """The risk categories ``text`` signals, in the order of ``CATEGORIES``."""
    found = {p.category for p in matches(text)}
    return [c for c in CATEGORIES if c in found]
