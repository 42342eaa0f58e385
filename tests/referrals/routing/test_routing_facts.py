"""Facts of routing.md §2: parsing, defaults, and refusing invalid facts naming every field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from referrals.routing import (
    ChildFacts,
    Facts,
    FactsError,
    Geography,
    facts_to_json,
    parse_facts,
)
from tests.referrals.routing.engine_inputs import GEOGRAPHY, TZ

NOW = datetime(2026, 11, 20, 5, 2, tzinfo=UTC)

VALID: dict[str, Any] = {
    "contact_type": "child_self",
    "categories": ["violence.physical"],
    "urgency": "P2",
    "child": {"age": 12, "region": "KZ-27", "district": "KZ-27-ORAL", "flags": ["orphan"]},
    "perpetrator": {"relation": "stranger", "lives_with_child": False},
    "flags": ["injury"],
    "place": "street",
    "submitted_at": "2026-11-20T10:02:00+05:00",
}


def parse(data: dict[str, Any]) -> Facts:
    return parse_facts(data, GEOGRAPHY, NOW)


def errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(FactsError) as caught:
        parse(data)
    return caught.value.fields


def with_(**changes: Any) -> dict[str, Any]:
    data = dict(VALID)
    data.update(changes)
    return data


def with_child(**changes: Any) -> dict[str, Any]:
    return with_(child={**VALID["child"], **changes})


def test_valid_facts_are_parsed() -> None:
    assert parse(VALID) == Facts(
        contact_type="child_self",
        urgency="P2",
        categories=("violence.physical",),
        child=ChildFacts(age=12, region="KZ-27", district="KZ-27-ORAL", flags=("orphan",)),
        perpetrator_relation="stranger",
        flags=("injury",),
        place="street",
        submitted_at=datetime(2026, 11, 20, 5, 2, tzinfo=UTC),
    )


def test_defaults_for_missing_facts() -> None:
    facts = parse({"contact_type": "third_party", "categories": ["missing.lost"],
                   "urgency": "P1", "child": {"region": "KZ-75"}})
    assert facts.perpetrator_relation == "none"
    assert facts.flags == ()
    assert facts.place == "other"
    assert facts.child.age is None
    assert facts.submitted_at == NOW


def test_explicit_null_counts_as_missing_for_defaulted_facts() -> None:
    facts = parse(with_(perpetrator=None, flags=None, place=None, submitted_at=None,
                        child={"age": None, "region": "KZ-27", "district": None,
                               "flags": None}))
    assert (facts.perpetrator_relation, facts.flags, facts.place) == ("none", (), "other")
    assert facts.child == ChildFacts(region="KZ-27")
    assert facts.submitted_at == NOW
    assert parse(with_(perpetrator={"relation": None})).perpetrator_relation == "none"


def test_other_keys_of_a_contact_are_ignored() -> None:
    assert parse(with_(summary="…", channel="qr", language="kk")) == parse(VALID)


def test_repeated_codes_are_kept_once_in_order() -> None:
    facts = parse(with_(categories=["violence.physical", "violence.bullying",
                                    "violence.physical"]))
    assert facts.categories == ("violence.physical", "violence.bullying")


@pytest.mark.parametrize("moment", ["2026-11-20T05:02:00Z", "2026-11-20t05:02:00z",
                                    "2026-11-20T10:02:00+05:00", "2026-11-20T00:02:00-05:00",
                                    "2026-11-20T10:02:00.000000+05:00"])
def test_submitted_at_accepts_rfc_3339_with_z_or_an_offset(moment: str) -> None:
    assert parse(with_(submitted_at=moment)).submitted_at == datetime(2026, 11, 20, 5, 2,
                                                                      tzinfo=UTC)


@pytest.mark.parametrize("moment", [
    "2026-11-20T10:02:00", "2026-11-20", "2026-11-20T10:02+05:00", "2026-11-20T10:02:00+0500",
    "2026-13-01T10:02:00Z", "2026-02-30T10:02:00Z", "2026-11-20T24:00:00Z",
    "2026-11-20 10:02:00Z", "20261120T100200Z", "yesterday", "", 1763614920, True,
])
def test_submitted_at_rejects_naive_or_malformed_times(moment: object) -> None:
    assert list(errors(with_(submitted_at=moment))) == ["submitted_at"]


@pytest.mark.parametrize("age", [0, 17])
def test_child_age_bounds(age: int) -> None:
    assert parse(with_child(age=age)).child.age == age


@pytest.mark.parametrize("age", [18, 25, -1, 12.0, 12.5, True, False, "12", [12]])
def test_child_age_must_be_a_json_integer_from_0_to_17(age: object) -> None:
    assert list(errors(with_child(age=age))) == ["child.age"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"contact_type": "letter"}, "contact_type"),
    ({"contact_type": None}, "contact_type"),
    ({"contact_type": 3}, "contact_type"),
    ({"categories": ["violence.unknown"]}, "categories"),
    ({"categories": "violence.physical"}, "categories"),
    ({"categories": [1]}, "categories"),
    ({"categories": []}, "categories"),
    ({"urgency": "P5"}, "urgency"),
    ({"urgency": "p1"}, "urgency"),
    ({"urgency": 1}, "urgency"),
    ({"urgency": None}, "urgency"),
    ({"flags": ["panic"]}, "flags"),
    ({"flags": "injury"}, "flags"),
    ({"place": "park"}, "place"),
    ({"perpetrator": {"relation": "uncle"}}, "perpetrator.relation"),
    ({"perpetrator": "parent"}, "perpetrator"),
    ({"child": "Aisha"}, "child"),
    ({"child": {"age": 9}}, "child.region"),
])
def test_each_invalid_fact_is_named(changes: dict[str, Any], field: str) -> None:
    assert list(errors(with_(**changes))) == [field]


@pytest.mark.parametrize(("changes", "field"), [
    ({"region": "KZ-99"}, "child.region"),
    ({"region": 27}, "child.region"),
    ({"district": "KZ-27-NOWHERE"}, "child.district"),
    ({"region": "KZ-75", "district": "KZ-27-ORAL"}, "child.district"),
    ({"region": None, "district": "KZ-27-ORAL"}, "child.region"),
    ({"flags": ["rich"]}, "child.flags"),
])
def test_invalid_child_facts(changes: dict[str, Any], field: str) -> None:
    assert field in errors(with_child(**changes))


def test_a_district_outside_its_region_says_so() -> None:
    message = errors(with_child(region="KZ-75", district="KZ-27-ORAL"))["child.district"]
    assert "KZ-75" in message


def test_a_district_inside_its_region_is_kept() -> None:
    assert parse(with_child(district="KZ-27-TEREKTI")).child.district == "KZ-27-TEREKTI"


def test_every_invalid_field_is_named_at_once() -> None:
    found = errors({
        "contact_type": "child_self",
        "categories": ["violence.physical", "nonsense"],
        "urgency": "urgent",
        "child": {"age": 18, "region": "KZ-27", "district": "KZ-27-NOWHERE", "flags": ["x"]},
        "perpetrator": {"relation": "uncle"},
        "flags": ["injury", "fire"],
        "place": "moon",
        "submitted_at": "2026-11-20T10:02:00",
    })
    assert list(found) == ["categories", "urgency", "child.age", "child.district", "child.flags",
                           "perpetrator.relation", "flags", "place", "submitted_at"]
    assert "'nonsense'" in found["categories"]


def test_routable_contact_without_urgency_categories_or_region() -> None:
    found = errors({"contact_type": "follow_up"})
    assert set(found) == {"urgency", "categories", "child.region"}


def test_p4_needs_neither_categories_nor_region() -> None:
    facts = parse({"contact_type": "child_self", "urgency": "P4"})
    assert (facts.urgency, facts.categories, facts.child.region) == ("P4", (), None)


@pytest.mark.parametrize("contact_type", ["information", "silent", "prank", "abusive",
                                          "wrong_number", "feedback"])
def test_non_routable_contacts_need_no_urgency_categories_or_region(contact_type: str) -> None:
    facts = parse({"contact_type": contact_type})
    assert (facts.urgency, facts.categories, facts.child.region) == (None, (), None)


def test_non_routable_contacts_still_refuse_unknown_codes() -> None:
    assert set(errors({"contact_type": "information", "categories": ["x.y"],
                       "urgency": "P9"})) == {"categories", "urgency"}


def test_p4_with_immediate_danger_is_a_contradiction_named_on_urgency() -> None:
    found = errors(with_(urgency="P4", flags=["immediate_danger"]))
    assert list(found) == ["urgency"]
    assert "immediate_danger" in found["urgency"]
    assert list(errors({"contact_type": "information", "urgency": "P4",
                        "flags": ["immediate_danger"]})) == ["urgency"]


def test_facts_must_be_an_object() -> None:
    with pytest.raises(FactsError) as caught:
        parse_facts(["child_self"], GEOGRAPHY, NOW)  # type: ignore[arg-type]  # a list, not an object: its refusal is the test
    assert list(caught.value.fields) == ["facts"]


def test_the_error_message_lists_the_fields() -> None:
    with pytest.raises(FactsError, match=r"child\.age: .*18"):
        parse(with_child(age=18))


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_facts(VALID, GEOGRAPHY, datetime(2026, 11, 20, 10, 2))


def test_facts_round_trip_through_json() -> None:
    facts = parse(VALID)
    as_json = facts_to_json(facts, TZ)
    assert as_json["submitted_at"] == "2026-11-20T10:02:00+05:00"
    assert parse(as_json) == facts


def test_geography_refuses_a_district_of_an_unknown_region() -> None:
    with pytest.raises(ValueError, match="KZ-99-X"):
        Geography(frozenset({"KZ-27"}), {"KZ-99-X": "KZ-99"})


def test_a_district_needs_its_region_even_when_the_region_is_optional() -> None:
    found = errors({"contact_type": "information", "child": {"district": "KZ-27-ORAL"}})
    assert found == {"child.district": "needs child.region"}
