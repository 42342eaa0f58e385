"""Validation of Kazakh IINs and phone numbers, shared by the web forms and the API.

Error messages are short English sentences that never repeat the value (it is personal data and
may end up in a log); ``code`` is a stable identifier that forms and the API can translate.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, Literal

import phonenumbers

Sex = Literal["male", "female"]

IIN_LENGTH: Final = 12
_WEIGHTS_FIRST: Final = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_WEIGHTS_SECOND: Final = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# 7th digit: century of birth and sex. Odd is male, even is female.
_CENTURY_BY_DIGIT: Final = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}
_WHITESPACE: Final = re.compile(r"\s+")
_ASCII_DIGITS: Final = re.compile(r"[0-9]+")


class InvalidIIN(ValueError):
    """An IIN that fails validation. ``code`` says which rule it broke."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class InvalidPhone(ValueError):
    """A phone number that cannot be parsed or is not a valid number."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class IinInfo:
    birth_date: dt.date
    sex: Sex


def iin_check_digit(first_eleven: str) -> int | None:
    """The 12th digit for 11 leading digits, or ``None`` if no check digit exists.

    The official algorithm: the weighted sum with weights 1..11, modulo 11; if that gives 10,
    the weighted sum with weights 3..11, 1, 2, modulo 11; if that gives 10 again, no valid IIN
    starts with these digits.
    """
    if len(first_eleven) != IIN_LENGTH - 1 or not _ASCII_DIGITS.fullmatch(first_eleven):
        raise ValueError("expected exactly 11 ASCII digits")
    digits = [int(c) for c in first_eleven]
    for weights in (_WEIGHTS_FIRST, _WEIGHTS_SECOND):
        check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return check
    return None


def clean_iin(value: str) -> str:
    """Remove whitespace anywhere (people type "900101 300123"); nothing else is changed."""
    if not isinstance(value, str):
        raise InvalidIIN("type", "IIN must be text.")
    return _WHITESPACE.sub("", value)


def validate_iin(value: str, *, today: dt.date | None = None) -> IinInfo:
    """Check an IIN and return the birth date and sex it encodes.

    Rules: 12 ASCII digits (whitespace ignored); YYMMDD is a date that exists, in the century
    named by the 7th digit (1/2: 1800s, 3/4: 1900s, 5/6: 2000s; odd male, even female); the
    date is not in the future (one day of slack for time zones); the 12th digit is the check
    digit. Raises :class:`InvalidIIN`.
    """
    iin = clean_iin(value)
    if not iin:
        raise InvalidIIN("empty", "IIN is empty.")
    if not _ASCII_DIGITS.fullmatch(iin):
        raise InvalidIIN("not_digits", "IIN must contain only digits.")
    if len(iin) != IIN_LENGTH:
        raise InvalidIIN("length", "IIN must be exactly 12 digits.")
    century_digit = int(iin[6])
    century = _CENTURY_BY_DIGIT.get(century_digit)
    if century is None:
        raise InvalidIIN("century", "IIN 7th digit (century and sex) must be 1 to 6.")
    try:
        birth_date = dt.date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        raise InvalidIIN("birth_date", "IIN birth date does not exist.") from None
    today = today or dt.datetime.now(dt.UTC).date()
    if birth_date > today + dt.timedelta(days=1):
        raise InvalidIIN("birth_date", "IIN birth date is in the future.")
    check = iin_check_digit(iin[:11])
    if check is None:
        raise InvalidIIN("check_digit", "IIN has no valid check digit.")
    if check != int(iin[11]):
        raise InvalidIIN("check_digit", "IIN check digit is wrong.")
    return IinInfo(birth_date=birth_date, sex="male" if century_digit % 2 else "female")


def normalize_iin(value: str) -> str:
    """The canonical form of a valid IIN (its 12 digits); raises :class:`InvalidIIN`."""
    validate_iin(value)
    return clean_iin(value)


# phonenumbers refuses longer input anyway; checking first keeps its message (and our work) short.
_MAX_PHONE_INPUT: Final = 64


def normalize_phone(value: str, region: str = "KZ") -> str:
    """Parse a phone number typed in ``region`` (or with a leading +) and return E.164.

    "+7 701 123 45 67", "8 (701) 123-45-67" and "87011234567" all give "+77011234567".
    Numbers that parse but are not valid (wrong length, unassigned ranges) are refused.
    Raises :class:`InvalidPhone`.
    """
    if not isinstance(value, str):
        raise InvalidPhone("type", "Phone number must be text.")
    text = value.strip()
    if not text:
        raise InvalidPhone("empty", "Phone number is empty.")
    if len(text) > _MAX_PHONE_INPUT:
        raise InvalidPhone("length", "Phone number is too long.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("unparseable", "Phone number cannot be read.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("invalid", "Phone number is not a valid number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
