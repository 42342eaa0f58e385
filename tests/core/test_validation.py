"""IIN validation and phone normalisation, shared by the forms and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.validation import (
    IinInfo,
    InvalidIIN,
    InvalidPhone,
    iin_check_digit,
    normalize_iin,
    normalize_phone,
    validate_iin,
)

FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first_eleven: str) -> int | None:
    """The official Kazakh IIN check digit, written independently of the code under test."""
    digits = [int(c) for c in first_eleven]
    first = sum(d * w for d, w in zip(digits, FIRST_WEIGHTS, strict=True)) % 11
    if first != 10:
        return first
    second = sum(d * w for d, w in zip(digits, SECOND_WEIGHTS, strict=True)) % 11
    return None if second == 10 else second


def make_iin(birth: dt.date, sex: str, serial: int = 1234) -> str:
    """A valid IIN for a birth date and sex, trying serials upward until a check digit exists."""
    century_digit = {1800: 1, 1900: 3, 2000: 5}[birth.year // 100 * 100] + (sex == "female")
    for candidate in range(serial, serial + 100):
        prefix = f"{birth:%y%m%d}{century_digit}{candidate % 10_000:04d}"
        check = check_digit(prefix)
        if check is not None:
            return f"{prefix}{check}"
    raise AssertionError("no serial with a check digit")  # pragma: no cover


def with_last_digit(iin: str, digit: int) -> str:
    return iin[:11] + str(digit)


# --- valid IINs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "sex"),
    [
        (dt.date(1990, 1, 1), "male"),
        (dt.date(1985, 12, 31), "female"),
        (dt.date(2010, 5, 15), "female"),
        (dt.date(2012, 2, 29), "male"),
        (dt.date(2000, 2, 29), "female"),
        (dt.date(1899, 12, 31), "male"),
        (dt.date(1800, 1, 1), "female"),
    ],
)
def test_constructed_iins_are_valid(birth: dt.date, sex: str) -> None:
    iin = make_iin(birth, sex)
    assert validate_iin(iin) == IinInfo(birth_date=birth, sex=sex)  # type: ignore[arg-type]
    assert normalize_iin(iin) == iin


@pytest.mark.parametrize(
    ("digit", "year", "sex"),
    [
        (1, 1800, "male"),
        (2, 1800, "female"),
        (3, 1900, "male"),
        (4, 1900, "female"),
        (5, 2000, "male"),
        (6, 2000, "female"),
    ],
)
def test_century_and_sex_digit(digit: int, year: int, sex: str) -> None:
    prefix = f"050607{digit}0042"
    check = check_digit(prefix)
    if check is None:  # pragma: no cover - not the case for these prefixes
        pytest.skip("prefix has no check digit")
    info = validate_iin(f"{prefix}{check}")
    assert info.birth_date == dt.date(year + 5, 6, 7)
    assert info.sex == sex


def test_second_weights_are_used_when_the_first_give_ten() -> None:
    iin = "900101300811"
    digits = [int(c) for c in iin[:11]]
    assert sum(d * w for d, w in zip(digits, FIRST_WEIGHTS, strict=True)) % 11 == 10
    assert sum(d * w for d, w in zip(digits, SECOND_WEIGHTS, strict=True)) % 11 == 1
    assert validate_iin(iin) == IinInfo(birth_date=dt.date(1990, 1, 1), sex="male")
    with pytest.raises(InvalidIIN, match="check digit"):
        validate_iin(with_last_digit(iin, 0))  # 10 mod 10 is not how it works


def test_no_check_digit_when_both_weight_sets_give_ten() -> None:
    prefix = "90010130080"
    assert check_digit(prefix) is None
    assert iin_check_digit(prefix) is None
    for last in range(10):
        with pytest.raises(InvalidIIN) as caught:
            validate_iin(prefix + str(last))
        assert caught.value.code == "check_digit"


def test_whitespace_is_ignored() -> None:
    assert validate_iin(" 900101 300811\n").birth_date == dt.date(1990, 1, 1)
    assert normalize_iin("900 101 300 811") == "900101300811"


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_check_digit_matches_the_reference(prefix: str) -> None:
    assert iin_check_digit(prefix) == check_digit(prefix)


# --- invalid IINs -----------------------------------------------------------------------------


def test_every_wrong_check_digit_is_refused() -> None:
    iin = make_iin(dt.date(2011, 3, 8), "female")
    for last in range(10):
        if last == int(iin[11]):
            continue
        with pytest.raises(InvalidIIN, match="check digit is wrong") as caught:
            validate_iin(with_last_digit(iin, last))
        assert caught.value.code == "check_digit"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("90010130081", "length"),  # 11 digits
        ("9001013008110", "length"),  # 13 digits
        ("", "empty"),
        (" \n", "empty"),
        ("90010130081a", "not_digits"),
        ("ABCDEFGHIJKL", "not_digits"),
        ("900101-300811", "not_digits"),
        ("٩٠٠١٠١٣٠٠٨١١", "not_digits"),  # Arabic-Indic digits are digits to str.isdigit()
        ("９００１０１３００８１１", "not_digits"),  # fullwidth digits
    ],
)
def test_malformed_iins(value: str, code: str) -> None:
    with pytest.raises(InvalidIIN) as caught:
        validate_iin(value)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("date_part", "century_digit"),
    [
        ("990230", 3),  # 30 February 1999
        ("000229", 3),  # 1900 was not a leap year
        ("010229", 5),  # nor was 2001
        ("991301", 3),  # month 13
        ("990001", 3),  # month 0
        ("990100", 3),  # day 0
        ("990431", 3),  # 31 April
    ],
)
def test_impossible_birth_dates(date_part: str, century_digit: int) -> None:
    prefix = f"{date_part}{century_digit}0000"
    for serial in range(10):  # find a serial with a check digit so only the date is wrong
        candidate = prefix[:10] + str(serial)
        check = check_digit(candidate)
        if check is not None:
            break
    with pytest.raises(InvalidIIN, match="birth date does not exist") as caught:
        validate_iin(f"{candidate}{check}")
    assert caught.value.code == "birth_date"


def test_leap_day_2000_exists() -> None:
    assert validate_iin(make_iin(dt.date(2000, 2, 29), "male")).birth_date == dt.date(2000, 2, 29)


@pytest.mark.parametrize("century_digit", [0, 7, 8, 9])
def test_century_digit_out_of_range(century_digit: int) -> None:
    valid = make_iin(dt.date(1990, 1, 1), "male")
    prefix = valid[:6] + str(century_digit) + valid[7:11]
    check = check_digit(prefix)
    value = prefix + str(0 if check is None else check)
    with pytest.raises(InvalidIIN, match="7th digit") as caught:
        validate_iin(value)
    assert caught.value.code == "century"


def test_birth_date_in_the_future() -> None:
    today = dt.date(2025, 6, 1)
    future = make_iin(dt.date(2025, 6, 10), "female")
    with pytest.raises(InvalidIIN, match="future"):
        validate_iin(future, today=today)
    assert validate_iin(future, today=dt.date(2025, 6, 10)).birth_date == dt.date(2025, 6, 10)
    # one day of slack: Almaty is ahead of UTC
    assert validate_iin(make_iin(dt.date(2025, 6, 2), "male"), today=today)
    with pytest.raises(InvalidIIN, match="future"):
        validate_iin(make_iin(dt.date(2099, 1, 1), "male"))


def test_messages_do_not_repeat_the_iin() -> None:
    iin = make_iin(dt.date(2011, 3, 8), "female")
    wrong = with_last_digit(iin, (int(iin[11]) + 1) % 10)
    for value in (wrong, wrong[:11], wrong.replace("0", "O")):
        with pytest.raises(InvalidIIN) as caught:
            validate_iin(value)
        assert wrong[:6] not in str(caught.value)


def test_non_text_iin() -> None:
    with pytest.raises(InvalidIIN):
        validate_iin(900101300811)  # type: ignore[arg-type]  # an int, not a string: its refusal is the test


def test_check_digit_helper_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        iin_check_digit("1234")


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "+7 701 123 45 67",
        "8 (701) 123-45-67",
        "87011234567",
        "7011234567",
        "+7-701-123-45-67",
        " +77011234567 ",
        "tel:+7-701-123-45-67",
    ],
)
def test_kazakh_mobile_formats(typed: str) -> None:
    assert normalize_phone(typed) == "+77011234567"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+7 777 555 12 34", "+77775551234"),  # Beeline
        ("8 747 555 12 34", "+77475551234"),  # Tele2
        ("8 (7112) 50-12-34", "+77112501234"),  # Oral (Uralsk) landline
        ("+7 727 250 12 34", "+77272501234"),  # Almaty landline
    ],
)
def test_other_kazakh_numbers(typed: str, e164: str) -> None:
    assert normalize_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+1 202-456-1111", "+12024561111"),
        ("+49 30 901820", "+4930901820"),
        ("+998 90 123 45 67", "+998901234567"),  # Uzbekistan mobile
        ("+7 495 123-45-67", "+74951234567"),  # Moscow shares +7
    ],
)
def test_foreign_numbers_with_plus_are_accepted_when_valid(typed: str, e164: str) -> None:
    assert normalize_phone(typed) == e164


def test_other_default_region() -> None:
    assert normalize_phone("030 901820", region="DE") == "+4930901820"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("12345", "invalid"),
        ("+7 701 123", "invalid"),
        ("+7 701 123 45 67 89 01", "invalid"),
        ("8 (000) 123-45-67", "invalid"),
        ("+1 000 000 0000", "invalid"),
        ("hello", "unparseable"),
        ("+", "unparseable"),
        ("1" * 100, "length"),
    ],
)
def test_invalid_phones(typed: str, code: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(typed)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)
    if typed.strip():
        assert typed.strip() not in str(caught.value)


def test_non_text_phone() -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(77011234567)  # type: ignore[arg-type]  # an int, not a string: its refusal is the test


@given(st.text(max_size=30))
def test_phone_normalisation_either_returns_e164_or_raises(value: str) -> None:
    try:
        result = normalize_phone(value)
    except InvalidPhone:
        return
    assert result.startswith("+")
    assert result[1:].isascii() and result[1:].isdigit()
    assert normalize_phone(result) == result
