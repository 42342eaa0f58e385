"""Blind indexes: normalisation, keyed and truncated hashes, lookups across a rotation."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.crypto import (
    INDEX_FIELDS,
    BlindIndexer,
    IndexSpec,
    KeyRing,
    UnknownKeyError,
    new_data_key,
    normalize_iin,
    normalize_name,
    normalize_phone_for_index,
)
from core.crypto import blind_index as blind_index_module
from core.validation import InvalidIIN, InvalidPhone

VALID_IIN = "900101300811"


def _identity(value: str) -> str:
    return value


# 64-bit indexes make "differs" assertions exact instead of true with probability 1 - 2^-16.
WIDE = {"a": IndexSpec(_identity, bits=64), "b": IndexSpec(_identity, bits=64)}


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing({1: new_data_key(), 2: new_data_key()}, current_id=1)


@pytest.fixture
def indexer(ring: KeyRing) -> BlindIndexer:
    return BlindIndexer(ring)


# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["+7 701 123 45 67", "8 (701) 123-45-67", "87011234567", "+77011234567", " 7011234567 "],
)
def test_phone_formats_normalise_to_e164(typed: str) -> None:
    assert normalize_phone_for_index(typed) == "+77011234567"


def test_phone_formats_give_the_same_index(indexer: BlindIndexer) -> None:
    assert indexer.compute("phone", "+7 701 123 45 67") == indexer.compute("phone", "8 (701) 123-45-67")


def test_invalid_phone_has_no_index(indexer: BlindIndexer) -> None:
    with pytest.raises(InvalidPhone):
        indexer.compute("phone", "12345")


def test_iin_normalisation(indexer: BlindIndexer) -> None:
    assert normalize_iin(" 900101 300811 ") == VALID_IIN
    assert indexer.compute("iin", "900101 300811") == indexer.compute("iin", VALID_IIN)
    with pytest.raises(InvalidIIN):
        indexer.compute("iin", "900101300812")


def test_name_case_and_space_folding() -> None:
    assert normalize_name("  ӘСЕЛ   Қайратқызы ") == "әсел қайратқызы"
    assert normalize_name("әсел қайратқызы") == "әсел қайратқызы"
    assert normalize_name("Әсел\tҚайратқызы\n") == "әсел қайратқызы"
    assert normalize_name("\u00a0Әсел\u2003Қайратқызы") == "әсел қайратқызы"  # NBSP, em space


def test_name_folding_gives_the_same_index(indexer: BlindIndexer) -> None:
    assert indexer.compute("child_name", "  ӘСЕЛ   Қайратқызы ") == indexer.compute(
        "child_name", "әсел қайратқызы"
    )


@pytest.mark.parametrize(
    ("upper", "lower", "plain"),
    [
        ("Ә", "ә", "а"),
        ("Ғ", "ғ", "г"),
        ("Қ", "қ", "к"),
        ("Ң", "ң", "н"),
        ("Ө", "ө", "о"),
        ("Ұ", "ұ", "у"),
        ("Ү", "ү", "у"),
        ("Һ", "һ", "х"),
        ("І", "і", "и"),
    ],
)
def test_kazakh_letters_are_folded_in_case_but_never_stripped(upper: str, lower: str, plain: str) -> None:
    assert normalize_name(upper) == lower
    assert normalize_name(f"Б{upper}Л") == f"б{lower}л"
    assert normalize_name(f"б{lower}л") != normalize_name(f"б{plain}л")


def test_kazakh_letters_keep_their_identity() -> None:
    assert normalize_name("Әсел") != normalize_name("Асел")
    assert normalize_name("Ұлан") != normalize_name("Улан")
    assert normalize_name("Іңкәр") == "іңкәр"


def test_name_unicode_forms_are_unified() -> None:
    composed = "Йосиф"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert normalize_name(composed) == normalize_name(decomposed) == "йосиф"
    assert normalize_name("ＡＩＧＥＲＩＭ") == "aigerim"  # fullwidth (NFKC)


def test_name_invisible_characters_are_dropped() -> None:
    assert normalize_name("Әс\u200bел\u00ad \ufeffҚайратқызы") == "әсел қайратқызы"


def test_latin_kazakh_dotted_capital_i() -> None:
    assert normalize_name("İSLAM") == normalize_name("islam") == "islam"


def test_empty_name_has_no_index(indexer: BlindIndexer) -> None:
    assert normalize_name("   \u200b ") == ""
    with pytest.raises(ValueError, match="empty"):
        indexer.compute("child_name", "   ")


@given(st.text())
def test_name_normalisation_is_idempotent(value: str) -> None:
    once = normalize_name(value)
    assert normalize_name(once) == once
    assert once == once.strip()
    assert "  " not in once


@given(st.text(min_size=1))
def test_name_normalisation_ignores_case_and_spacing(value: str) -> None:
    assert normalize_name(f"  {value.upper()}  ") == normalize_name(normalize_name(value).upper())


# --- the keyed hash ---------------------------------------------------------------------------


def test_matches_the_documented_construction(ring: KeyRing, indexer: BlindIndexer) -> None:
    expected = hashlib.scrypt(
        ring.index_key(1, "phone"), salt=b"+77011234567", n=2**9, r=8, p=1, dklen=2
    ).hex()
    assert indexer.compute("phone", "+77011234567") == expected


def test_deterministic_per_key(ring: KeyRing) -> None:
    first = BlindIndexer(ring)
    second = BlindIndexer(ring)
    for field, value in (("phone", "+77011234567"), ("iin", VALID_IIN), ("child_name", "әсел")):
        assert first.compute(field, value) == second.compute(field, value)
        assert first.compute(field, value, key_id=2) == first.compute(field, value, key_id=2)


def test_differs_across_keys(ring: KeyRing) -> None:
    wide = BlindIndexer(ring, WIDE)
    assert wide.compute("a", "x", key_id=1) != wide.compute("a", "x", key_id=2)
    narrow = BlindIndexer(ring)
    phones = [f"+7701123456{d}" for d in range(10)]
    under_1 = [narrow.compute("phone", p, key_id=1) for p in phones]
    under_2 = [narrow.compute("phone", p, key_id=2) for p in phones]
    assert under_1 != under_2


def test_differs_across_fields(ring: KeyRing) -> None:
    wide = BlindIndexer(ring, WIDE)
    assert wide.compute("a", "+77011234567") != wide.compute("b", "+77011234567")


def test_differs_across_values(ring: KeyRing) -> None:
    wide = BlindIndexer(ring, WIDE)
    values = [f"value {i}" for i in range(20)]
    assert len({wide.compute("a", v) for v in values}) == 20


def test_default_key_is_the_current_one_and_key_id_zero_is_honoured() -> None:
    ring = KeyRing({0: new_data_key(), 1: new_data_key()}, current_id=1)
    wide = BlindIndexer(ring, WIDE)
    assert wide.compute("a", "x") == wide.compute("a", "x", key_id=1)
    assert wide.compute("a", "x", key_id=0) != wide.compute("a", "x")


@pytest.mark.parametrize("field", sorted(INDEX_FIELDS))
def test_documented_lengths(indexer: BlindIndexer, field: str) -> None:
    assert INDEX_FIELDS[field].bits == indexer.bits(field) == 16
    sample = {"phone": "+77011234567", "iin": VALID_IIN, "child_name": "әсел"}[field]
    index = indexer.compute(field, sample)
    assert len(index) == 4
    assert int(index, 16) < 2**16


@pytest.mark.parametrize(("bits", "hex_digits"), [(1, 1), (10, 3), (16, 4), (20, 5), (64, 16)])
def test_truncation_length_is_honoured(ring: KeyRing, bits: int, hex_digits: int) -> None:
    short = BlindIndexer(ring, {"a": IndexSpec(_identity, bits=bits)})
    full = BlindIndexer(ring, {"a": IndexSpec(_identity, bits=64)})
    values = [f"v{i}" for i in range(30)]
    for value in values:
        index = short.compute("a", value)
        assert len(index) == hex_digits
        assert 0 <= int(index, 16) < 2**bits
        # the index is the leading `bits` bits of the same keyed hash
        assert int(index, 16) == int(full.compute("a", value), 16) >> (64 - bits)
    if bits >= 10:
        assert len({short.compute("a", v) for v in values}) > 1


@pytest.mark.parametrize("bits", [0, 65])
def test_index_length_bounds(bits: int) -> None:
    with pytest.raises(ValueError):
        IndexSpec(_identity, bits=bits)


def test_unknown_field_and_key(indexer: BlindIndexer) -> None:
    with pytest.raises(ValueError, match="no blind index"):
        indexer.compute("address", "x")
    with pytest.raises(UnknownKeyError):
        indexer.compute("phone", "+77011234567", key_id=9)


def test_the_index_key_is_not_the_encryption_key(ring: KeyRing) -> None:
    assert ring.index_key(1, "phone") != ring.encryption_key(1, "contacts", "phone")


# --- lookups ----------------------------------------------------------------------------------


def test_candidates_cover_every_key_in_the_ring(ring: KeyRing, indexer: BlindIndexer) -> None:
    found = indexer.candidates("phone", "8 (701) 123-45-67")
    expected = {indexer.compute("phone", "+77011234567", key_id=k) for k in (1, 2)}
    assert found == expected
    assert 1 <= len(found) <= 2


def test_candidates_with_one_key(indexer: BlindIndexer) -> None:
    ring = KeyRing({5: new_data_key()}, current_id=5)
    single = BlindIndexer(ring)
    assert single.candidates("iin", VALID_IIN) == {single.compute("iin", VALID_IIN)}


def test_lookup_keeps_working_during_a_rotation() -> None:
    ring = KeyRing({1: new_data_key()}, current_id=1)
    indexer = BlindIndexer(ring)
    stored_before = indexer.compute("child_name", "Әсел Қайратқызы")
    ring.add(2, new_data_key(), make_current=True)
    stored_after = indexer.compute("child_name", "Әсел Қайратқызы")
    wanted = indexer.candidates("child_name", "  ӘСЕЛ   ҚАЙРАТҚЫЗЫ ")
    assert stored_before in wanted
    assert stored_after in wanted
    ring.remove(1)
    assert indexer.candidates("child_name", "әсел қайратқызы") == {stored_after}


def test_repr_shows_no_key(ring: KeyRing, indexer: BlindIndexer) -> None:
    assert ring.index_key(1, "phone").hex() not in repr(indexer)


# --- cost (its timing is measured by benchmarks/bench_crypto.py, not here: wall-clock
# assertions fail on a loaded machine) ----------------------------------------------------


def test_work_factor_parameters_are_the_documented_ones() -> None:
    assert (blind_index_module.SCRYPT_N, blind_index_module.SCRYPT_R) == (2**9, 8)
    assert blind_index_module.SCRYPT_P == 1
