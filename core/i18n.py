"""Language selection: the user's choice, then Accept-Language, then Kazakh."""

from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import get_locale
from werkzeug.wrappers import Response

from core.urls import safe_next

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


@bp.post("/lang")
def choose_language() -> Response:
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for("core.home"))


# Alphabetical order as readers expect it. Code-point order puts the Kazakh letters (ә, ғ, қ,
# ң, ө, ұ, ү, һ, і) after я, so "Қарағанды" would come after "Шымкент".
ALPHABETS = {
    "kk": "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
}


def collation_key(text: str, language: str) -> tuple[int, ...]:
    """A sort key for ``text`` in ``language``'s alphabet (case-insensitive); characters
    outside it sort after, by code point."""
    alphabet = ALPHABETS.get(language, "")
    beyond = len(alphabet)
    return tuple(alphabet.index(c) if c in alphabet else beyond + ord(c) for c in text.lower())
