"""The algorithm as data: loading, refusing broken files, labels, the readable table, diffs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from referrals.routing import (
    LANGUAGES,
    Algorithm,
    AlgorithmError,
    bundled_algorithm,
    default_algorithm,
    diff_algorithms,
    load_algorithm,
)
from tests.referrals.routing.engine_inputs import ALGORITHM

BUNDLED = (Path(__file__).resolve().parents[3] / "referrals" / "routing" / "algorithms"
           / "2026.1.yaml")
KAZAKH_LETTERS = set("әғқңөұүі")  # һ is rare (loanwords) and no label here needs it


def document() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(ALGORITHM.source_text, Loader=yaml.CSafeLoader)
    return data


def dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)


def refused(change: Callable[[dict[str, Any]], object]) -> tuple[str, ...]:
    data = document()
    change(data)
    with pytest.raises(AlgorithmError) as caught:
        load_algorithm(dump(data))
    return caught.value.problems


def rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["rules"] if r["id"] == rule_id)
    return found


# Loading -------------------------------------------------------------------------------------

def test_the_bundled_algorithm_2026_1_has_13_rules_in_table_order() -> None:
    assert ALGORITHM.version == "2026.1"
    assert [r.id for r in ALGORITHM.rules] == [
        "immediate-danger", "sexual-violence", "missing-child", "trafficking-labour-marriage",
        "suicide-attempt", "family-violence", "self-harm-risk", "minor-pregnancy",
        "neglect-without-care", "physical-violence-outside-family", "school-staff-violation",
        "bullying", "offending-substances-truancy",
    ]
    assert [r.number for r in ALGORITHM.rules] == list(range(1, 14))
    assert bundled_algorithm("2026.1") is ALGORITHM
    assert default_algorithm() is bundled_algorithm("2026.2")  # the newest is the default


def test_loading_from_a_path_text_or_bytes_gives_equal_algorithms() -> None:
    assert load_algorithm(BUNDLED) == ALGORITHM
    assert load_algorithm(str(BUNDLED)) == ALGORITHM
    assert load_algorithm(BUNDLED.read_bytes()) == ALGORITHM
    assert load_algorithm(dump(document())) == ALGORITHM


def test_an_algorithm_can_be_given_as_json() -> None:
    import json

    assert load_algorithm(json.dumps(document(), ensure_ascii=False)) == ALGORITHM


def test_codes_of_section_1() -> None:
    assert ALGORITHM.codes("agency") == ("police", "education", "health", "commission")
    assert ALGORITHM.services["health.forensic_exam"] == "health"
    assert len(ALGORITHM.codes("service")) == 9
    assert len(ALGORITHM.codes("category")) == 49
    assert ALGORITHM.urgency_order == ("P1", "P2", "P3", "P4")
    assert ALGORITHM.routable_contact_types == {"child_self", "third_party", "follow_up"}
    assert set(ALGORITHM.codes("child_flag")) == {
        "orphan", "without_parental_care", "dysfunctional_family",
        "lives_with_violent_offender", "crime_victim", "domestic_violence_victim",
        "suicide_attempt", "pregnancy", "preventive_register", "substance_dependence",
        "mental_illness", "hiv_sti", "parental_sexual_deviation",
    }


# Labels --------------------------------------------------------------------------------------

def test_every_code_has_a_label_in_kk_ru_and_en() -> None:
    for kind, codes in ALGORITHM.labels.items():
        for code, labels in codes.items():
            for lang in LANGUAGES:
                assert labels[lang].strip(), (kind, code, lang)


def test_kazakh_labels_are_cyrillic_kazakh() -> None:
    kazakh = [labels["kk"] for codes in ALGORITHM.labels.values() for labels in codes.values()]
    assert all(re.search("[а-яәғқңөұүһі]", text, re.IGNORECASE) for text in kazakh)
    assert set("".join(kazakh).lower()) >= KAZAKH_LETTERS
    assert ALGORITHM.label("agency", "police", "kk") == "Полиция"
    assert ALGORITHM.label("agency", "education", "kk") == "Білім беру (қорғаншылық органы)"
    assert ALGORITHM.label("agency", "health", "kk") == "Денсаулық сақтау"
    assert ALGORITHM.label("agency", "commission", "kk") == (
        "Кәмелетке толмағандардың істері жөніндегі комиссия")


def test_urgencies_carry_a_plain_description() -> None:
    assert ALGORITHM.label("urgency_description", "P1", "en") == (
        "The child is in danger right now: act at once.")


# Refusing broken files -------------------------------------------------------------------------

def test_schema_error_names_the_path() -> None:
    problems = refused(lambda d: rule(d, "bullying").pop("lead"))
    assert any(p.startswith("rules[11]") and "'lead' is a required property" in p
               for p in problems)


def test_an_unquoted_version_is_refused() -> None:
    problems = refused(lambda d: d.update(version=2026.1))
    assert any(p.startswith("version:") for p in problems)


def test_a_missing_label_is_refused() -> None:
    problems = refused(lambda d: d["services"]["health.forensic_exam"]["label"].pop("kk"))
    assert any("services.health.forensic_exam.label" in p and "'kk'" in p for p in problems)


def test_an_empty_label_is_refused() -> None:
    problems = refused(lambda d: d["agencies"]["police"].update(ru="  "))
    assert any(p.startswith("agencies.police.ru") for p in problems)


def test_a_category_group_without_labels_is_refused() -> None:
    problems = refused(lambda d: d["category_groups"]["missing"].pop("label"))
    assert any("category_groups.missing" in p for p in problems)


def test_unknown_codes_are_all_reported_at_once() -> None:
    def break_codes(d: dict[str, Any]) -> None:
        rule(d, "sexual-violence")["when"] = {"category": ["violence.sexual", "violence.rape"]}
        rule(d, "bullying")["referrals"][0]["service"] = "education.kindergarten"
        rule(d, "bullying")["lead"] = "army"
        d["constraints"][0]["when"] = {"perpetrator": "headmaster"}
        d["instructions"][2]["when"] = {"rule": "sexual-abuse"}

    problems = "\n".join(refused(break_codes))
    for code in ("violence.rape", "education.kindergarten", "army", "headmaster",
                 "sexual-abuse"):
        assert f"'{code}'" in problems


def test_a_service_of_an_unknown_agency_is_refused() -> None:
    def break_agency(d: dict[str, Any]) -> None:
        d["services"]["social.visit"] = {"agency": "social", "label": {
            "kk": "Әлеуметтік қызмет", "ru": "Соцслужба", "en": "Social visit"}}

    assert any("unknown agency 'social'" in p for p in refused(break_agency))


def test_a_new_agency_with_its_labels_is_accepted() -> None:
    data = document()
    data["version"] = "2027.1"
    data["agencies"]["social"] = {"kk": "Әлеуметтік қорғау", "ru": "Социальная защита",
                                  "en": "Social protection"}
    data["services"]["social.visit"] = {"agency": "social", "label": {
        "kk": "Үйге бару", "ru": "Посещение на дому", "en": "Home visit"}}
    rule(data, "neglect-without-care")["referrals"].append(
        {"service": "social.visit", "mandatory": False})
    algorithm = load_algorithm(dump(data))
    assert algorithm.codes("agency")[-1] == "social"
    assert algorithm.rules[8].referrals[-1].agency == "social"


def test_unknown_urgency_and_relation_group_member_are_refused() -> None:
    def break_refs(d: dict[str, Any]) -> None:
        rule(d, "bullying")["min_urgency"] = "P0"
        d["relation_groups"]["family"]["members"].append("cousin")
        rule(d, "self-harm-risk")["min_urgency"] = "P4"

    problems = "\n".join(refused(break_refs))
    assert "'P0' is not a routable urgency" in problems
    assert "'P4' is not a routable urgency" in problems
    assert "unknown relation 'cousin'" in problems


def test_a_condition_with_two_operators_is_refused() -> None:
    problems = refused(lambda d: rule(d, "bullying").update(
        when={"category": "violence.bullying", "flag": "injury"}))
    assert any("exactly one operator" in p for p in problems)


def test_unknown_is_only_for_age_conditions() -> None:
    problems = refused(lambda d: rule(d, "bullying").update(
        when={"category": "violence.bullying", "unknown": True}))
    assert any("'unknown' goes only with age_lt or age_ge" in p for p in problems)


def test_outcome_operators_are_refused_inside_rules() -> None:
    problems = refused(lambda d: rule(d, "bullying").update(when={"urgency": "P1"}))
    assert any("only in instructions and registers" in p for p in problems)


def test_a_misspelt_operator_is_refused() -> None:
    problems = refused(lambda d: rule(d, "bullying").update(when={"categroy": "x"}))
    assert any("categroy" in p for p in problems)


def test_duplicate_rule_ids_are_refused() -> None:
    problems = refused(lambda d: d["rules"].append(dict(rule(d, "bullying"))))
    assert any("'bullying' appears more than once" in p for p in problems)


def test_a_service_code_must_start_with_its_agency() -> None:
    problems = refused(lambda d: d["services"]["health.forensic_exam"].update(agency="police"))
    assert any("starts with its agency" in p for p in problems)


def test_duplicate_yaml_keys_are_refused() -> None:
    text = ALGORITHM.source_text.replace(
        "  injury: {kk:", "  injury: {kk: \"X\", ru: \"X\", en: \"X\"}\n  injury: {kk:", 1)
    with pytest.raises(AlgorithmError, match="duplicate key 'injury'"):
        load_algorithm(text)


@pytest.mark.parametrize("text", ["rules: [\n", "- a\n- b\n", "{}", "just text\nmore\n"])
def test_not_an_algorithm_at_all(text: str) -> None:
    with pytest.raises(AlgorithmError):
        load_algorithm(text)


def test_a_missing_file_is_an_algorithm_error(tmp_path: Path) -> None:
    with pytest.raises(AlgorithmError, match="cannot read"):
        load_algorithm(tmp_path / "nope.yaml")


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(AlgorithmError, match="UTF-8"):
        load_algorithm("version: 'ü'\n".encode("latin-1"))


# The readable table --------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_table_has_a_row_per_rule_in_each_language(lang: str) -> None:
    rows = ALGORITHM.to_table(lang)
    assert [row.number for row in rows] == list(range(1, 14))
    assert all(row.condition and row.label and row.lead_label for row in rows)
    assert rows[0].lead_note is not None
    assert all(row.lead_note is None for row in rows[1:])


def test_table_words_in_english() -> None:
    rows = {row.id: row for row in ALGORITHM.to_table("en")}
    family = rows["family-violence"]
    assert family.condition == (
        "any of the categories \u201cPhysical violence\u201d, \u201cEmotional violence\u201d, "
        "\u201cDomestic violence\u201d, \u201cNeglect\u201d and perpetrator in the group "
        "\u201cFamily\u201d")
    pregnancy_police = rows["minor-pregnancy"].referrals[2]
    assert (pregnancy_police.service, pregnancy_police.mandatory) == (
        "police.juvenile_inspector", True)
    assert pregnancy_police.condition == "if child's age under 16 (or age unknown)"
    suggested = [r.service for r in rows["neglect-without-care"].referrals if not r.mandatory]
    assert suggested == ["police.juvenile_inspector"]
    assert [(u.urgency, u.condition) for u in rows["suicide-attempt"].urgency] == [
        ("P2", None), ("P1", "if any of the flags \u201cOngoing\u201d, \u201cInjury\u201d")]
    assert rows["immediate-danger"].lead_note == "only when no other rule fires"


def test_table_words_in_kazakh() -> None:
    row = ALGORITHM.to_table("kk")[8]
    assert row.label == "Қараусыз қалған бала"
    assert row.urgency[1].condition == (
        "егер баланың жасы 7 жастан кіші немесе «Кішкентай бала ересектердің қарауынсыз» "
        "белгісі болса")


def test_table_refuses_an_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        ALGORITHM.to_table("de")


# Diffs ---------------------------------------------------------------------------------------

def test_an_identical_algorithm_has_no_changes() -> None:
    assert diff_algorithms(ALGORITHM, load_algorithm(BUNDLED)) == []


def test_diff_names_rules_and_codes_added_removed_changed_and_moved() -> None:
    data = document()
    data["version"] = "2026.2"
    rule(data, "family-violence")["when"]["all"][1] = {
        "perpetrator": ["parent", "step_parent", "caregiver", "household_member", "relative"]}
    data["flags"]["weapon"] = {"kk": "Қару", "ru": "Оружие", "en": "Weapon"}
    data["places"]["street"]["en"] = "Street or yard"
    data["rules"].remove(rule(data, "offending-substances-truancy"))
    data["rules"].append({
        "id": "weapon", "label": {"kk": "Қару", "ru": "Оружие", "en": "Weapon"},
        "when": {"flag": "weapon"}, "referrals": [{"service": "police.emergency",
                                                   "mandatory": True}],
        "min_urgency": "P1", "lead": "police",
    })
    bullying = rule(data, "bullying")
    data["rules"].remove(bullying)
    data["rules"].insert(1, bullying)
    data["service_caps"]["health.forensic_exam"]["act"] = {"hours": 12}
    new: Algorithm = load_algorithm(dump(data))

    changes = [str(c) for c in diff_algorithms(ALGORITHM, new)]
    assert changes[0] == "version 2026.2: changed (was 2026.1)"
    for expected in [
        "rule family-violence: changed (when)",
        "rule weapon: added (as #13)",
        "rule offending-substances-truancy: removed",
        "rule bullying: moved (#12 -> #2)",
        "flag weapon: added",
        "place street: changed (labels)",
        "service health.forensic_exam: changed (cap)",
    ]:
        assert expected in changes
    assert not any(c.startswith("rule sexual-violence") for c in changes)
