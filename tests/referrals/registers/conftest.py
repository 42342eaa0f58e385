"""Register fixtures: the handoff fixtures' directory and people, plus the heads the register
and the act are for, and a seeded set of contacts whose expected figures the tests compute
themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from core.models import User
from tests.referrals.handoffs.conftest import (  # noqa: F401
    TEREKTI_GIRL,
    Acting,
    People,
    acting,
    api,
    bearer,
    case,
    contact,
    directory,
    operator,
    people,
    referral,
    submit,
    unit_of,
)


@dataclass
class Heads:
    health: User          # the region's health department (KZ-27)
    police: User          # the region-level police department
    education: User       # the region-level education department
    commission: User      # the region-level commission
    police_terekti: User  # a district unit's head
    education_terekti: User
    other_health: User    # Pavlodar's health department (another region)
    other_police: User


@pytest.fixture
def heads(people: People, create_user: Callable[..., User]) -> Heads:  # noqa: F811
    head = "agency_head"
    return Heads(
        health=create_user(head, unit=unit_of("health"), display_name="Health Head"),
        police=create_user(head, unit=unit_of("police"), display_name="Police Head"),
        education=create_user(head, unit=unit_of("education"), display_name="Education Head"),
        commission=create_user(head, unit=unit_of("commission")),
        police_terekti=create_user(head, unit=unit_of("police", district="KZ-27-TEREKTI")),
        education_terekti=create_user(head, unit=unit_of("education", district="KZ-27-TEREKTI")),
        other_health=create_user(head, unit=unit_of("health", region="KZ-55")),
        other_police=create_user(head, unit=unit_of("police", region="KZ-55")),
    )
