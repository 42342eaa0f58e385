"""Refuse the passwords attackers try first (security.md §2).

Two checks. zxcvbn (Dropbox's estimator, maintained on PyPI) matches the password against its
frequency lists (the top 30,000 passwords of public breach corpora, common names and English
words), with l33t substitutions, keyboard patterns, dates, repeats and sequences, and
estimates the guesses an attacker needs: below ``MIN_SCORE`` (fewer than 10^8 guesses, e.g.
"Password123!") the password is refused. The short list below adds what those lists miss for
this country (Russian-layout words, local places, the product's name).

Only passwords of 12+ characters matter here, since shorter ones fail the length rule. The list
holds the long entries that top public breach corpora share, plus the local favourites built on
"qwerty"/"йцукен" layouts and years; shapes (one repeated character, a run of one keyboard row or
of digits) are caught by rule rather than listed.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

_COMMON = frozenset(["123456789012", "1234567890123", "12345678901234", "123456789123", "1234567890qwerty", "123123123123", "111111111111", "000000000000", "123412341234", "qwerty123456", "qwertyuiop123", "qwertyuiop1234", "qwerty12345678", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u", "1qaz2wsx3edc", "1qaz2wsx3edc4rfv", "zaq12wsxcde3", "password1234", "password12345", "password123456", "passw0rd1234", "p@ssw0rd1234", "p@ssword1234", "password2024", "password2025", "password2026", "iloveyou1234", "iloveyou12345", "administrator", "admin1234567", "adminadmin123", "welcome12345", "welcome123456", "letmein12345", "changeme1234", "football1234", "baseball1234", "superman1234", "sunshine1234", "princess1234", "starwars1234", "trustno11234", "monkey123456", "dragon123456", "qwertyqwerty", "asdfghjkl123", "asdfghjkl1234", "zxcvbnm12345", "qazwsxedcrfv", "abcdefghijkl", "abc123456789", "abcd12345678", "aaaaaaaaaaaa", "987654321098", "098765432109", "senimsenim12", "senim1234567", "kazakhstan123", "kazakhstan2024", "kazakhstan2025", "kazakhstan2026", "almaty123456", "astana123456", "йцукенгшщзхъ", "йцукен123456", "пароль123456", "пароль1234567", "привет123456", "qwertyuiopasdf"])

_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "йцукенгшщзхъ", "фывапролджэ")


MIN_SCORE = 3  # zxcvbn's "safely unguessable": at least 10^8 guesses
_ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input; the first 72 characters decide
_CONTEXT_WORDS = ["senim", "сеним", "сенім", "helpline", "kazakhstan", "qazaqstan"]


def is_common(password: str, user_inputs: list[str] | None = None) -> bool:
    folded = password.casefold()
    if folded in _COMMON or len(set(folded)) <= 2:
        return True
    if any(folded in (row * 3) or folded in (row[::-1] * 3) for row in _ROWS):
        return True
    return guessable(password, user_inputs)


def guessable(password: str, user_inputs: list[str] | None = None) -> bool:
    words = [*_CONTEXT_WORDS, *(user_inputs or [])]
    result = zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=words)
    return int(result["score"]) < MIN_SCORE
