"""The SQL scopes are the policy's twins: for any user, a list query returns exactly the rows the
pure predicates of ``core.permissions`` would let that user open (a list never shows what the
page would refuse, and never hides what it would show)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count

from hypothesis import given, settings
from hypothesis import strategies as st

from core import permissions
from core.extensions import db
from core.models import AgencyUnit, User
from core.roles import HELPLINE_ROLES, Role
from intake.models import Case
from intake.queries import case_scope
from referrals.handoffs.models import Referral
from referrals.handoffs.queries import referral_scope

REGIONS = ("KZ-27", "KZ-19", None)
DUE = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)


def _population(create_unit: Callable[..., AgencyUnit]) -> tuple[list[Case], list[Referral], list[str]]:
    """Cases in two regions and none, each with referrals to no unit, one unit or both, and
    an unassigned referral (no unit) beside them."""
    units = [create_unit(agency="police", region="KZ-27"), create_unit(agency="health", region="KZ-19")]
    numbers = count(1)
    cases, referrals = [], []
    for region in REGIONS:
        for held_by in ((), (units[0],), (units[1],), tuple(units)):
            case = Case(number=f"2026-{next(numbers):06d}", region=region)
            db.session.add(case)
            db.session.flush()
            cases.append(case)
            for unit in (*held_by, None):
                referral = Referral(case_id=case.id, agency=unit.agency if unit else "education",
                                    service="x.y", unit_id=unit.id if unit else None,
                                    region=region, ack_due_at=DUE,
                                    action_due_at=DUE + timedelta(days=1))
                db.session.add(referral)
                referrals.append(referral)
    db.session.commit()
    return cases, referrals, [unit.id for unit in units]


def _user(role: Role, region: str | None, unit_id: str | None, active: bool) -> User:
    user = User(username="someone", role=role.value, region=region, active=active)
    user.unit_id = unit_id
    return user


def test_case_and_referral_scopes_match_the_predicates(
        create_unit: Callable[..., AgencyUnit]) -> None:
    cases, referrals, unit_ids = _population(create_unit)

    @settings(max_examples=60, deadline=None, database=None)
    @given(role=st.sampled_from(list(Role)), region=st.sampled_from(REGIONS),
           unit=st.sampled_from([*unit_ids, None]), active=st.booleans())
    def agree(role: Role, region: str | None, unit: str | None, active: bool) -> None:
        user = _user(role, region, unit, active)
        listed_cases = set(db.session.scalars(case_scope(user).with_only_columns(Case.id)))
        openable_cases = {c.id for c in cases if permissions.can_view_case(user, c)}
        if role in HELPLINE_ROLES:
            assert listed_cases == openable_cases
        else:  # agency staff reach cases through their referrals, never through a case list
            assert listed_cases == set()
        listed = set(db.session.scalars(referral_scope(user).with_only_columns(Referral.id)))
        openable = {r.id for r in referrals if permissions.can_view_referral(user, r, r.case)}
        assert listed == openable

    agree()
