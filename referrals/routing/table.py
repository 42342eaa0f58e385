"""The rules of an algorithm as readable rows, for the administrators' page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .conditions import Labeler, describe, phrase
from .model import LANGUAGES

if TYPE_CHECKING:
    from .algorithm import Algorithm


@dataclass(frozen=True, slots=True)
class ReferralRow:
    service: str
    service_label: str
    agency: str
    agency_label: str
    mandatory: bool
    condition: str | None  # "if ..." in words, None when the rule always makes it


@dataclass(frozen=True, slots=True)
class UrgencyRow:
    urgency: str
    condition: str | None  # None for the rule's minimum, words for a conditional raise


@dataclass(frozen=True, slots=True)
class RuleRow:
    number: int
    id: str
    label: str
    condition: str
    referrals: tuple[ReferralRow, ...]
    urgency: tuple[UrgencyRow, ...]  # the minimum first, then the conditional raises
    lead: str
    lead_label: str
    lead_note: str | None  # e.g. "only when no other rule fires"


def rule_table(algorithm: Algorithm, lang: str) -> tuple[RuleRow, ...]:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")

    def labeler(kind: str, code: str) -> str:
        return algorithm.labels[kind][code][lang]

    return tuple(
        _row(number, spec, lang, labeler, algorithm)
        for number, spec in enumerate(algorithm.data["rules"], start=1)
    )


def _row(number: int, spec: Mapping[str, Any], lang: str, labeler: Labeler,
         algorithm: Algorithm) -> RuleRow:
    def words_if(node: Mapping[str, Any] | None) -> str | None:
        return None if node is None else phrase(lang, "if").format(describe(node, lang, labeler))

    referrals = tuple(
        ReferralRow(
            service=ref["service"],
            service_label=labeler("service", ref["service"]),
            agency=algorithm.services[ref["service"]],
            agency_label=labeler("agency", algorithm.services[ref["service"]]),
            mandatory=ref["mandatory"],
            condition=words_if(ref.get("when")),
        )
        for ref in spec["referrals"]
    )
    urgency = (
        UrgencyRow(spec["min_urgency"], None),
        *(UrgencyRow(r["to"], words_if(r["when"])) for r in spec.get("raise_urgency", ())),
    )
    return RuleRow(
        number=number,
        id=spec["id"],
        label=labeler("rule", spec["id"]),
        condition=describe(spec["when"], lang, labeler),
        referrals=referrals,
        urgency=urgency,
        lead=spec["lead"],
        lead_label=labeler("agency", spec["lead"]),
        lead_note=phrase(lang, "lead_alone") if spec.get("lead_only_if_alone") else None,
    )
