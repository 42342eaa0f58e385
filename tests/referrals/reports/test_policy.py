"""The policy of reports, exports and legal holds (core/permissions.py), role by role."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core import permissions
from core.roles import Role


@dataclass
class U:
    role: str
    region: str | None = None
    id: str = "u1"
    unit_id: str | None = None
    active: bool = True


@dataclass
class C:
    region: str | None
    id: str = "c1"
    referral_unit_ids: list[str] = field(default_factory=list)


def test_reports_are_read_and_submitted_within_the_supervisor_s_scope() -> None:
    national, wko = U("supervisor"), U("supervisor", "KZ-27")
    assert permissions.can_read_report(national, None) and permissions.can_read_report(national, "KZ-19")
    assert permissions.can_read_report(wko, "KZ-27")
    assert not permissions.can_read_report(wko, None) and not permissions.can_read_report(wko, "KZ-19")
    assert permissions.can_submit_report(wko, "KZ-27") and not permissions.can_submit_report(wko, "KZ")
    assert permissions.can_submit_report(national, "KZ")
    assert not permissions.can_submit_report(national, "KZ-27")  # each region submits its own
    assert not permissions.can_submit_report(U("supervisor", "KZ-27", active=False), "KZ-27")


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.SUPERVISOR])
def test_no_other_role_reads_submits_or_exports(role: Role) -> None:
    user = U(role.value)
    assert not permissions.can_read_report(user, None)
    assert not permissions.can_submit_report(user, "KZ")
    assert not permissions.can_export(user, "report")
    assert not permissions.can_manage_legal_hold(user, C(None))


@pytest.mark.parametrize("role", list(Role))
def test_report_exports_never_carry_identities(role: Role) -> None:
    assert not permissions.export_includes_identities(U(role.value), "report")


def test_a_legal_hold_is_set_within_the_supervisor_s_region() -> None:
    wko = U("supervisor", "KZ-27")
    assert permissions.can_manage_legal_hold(wko, C("KZ-27"))
    assert not permissions.can_manage_legal_hold(wko, C("KZ-19"))
    assert not permissions.can_download_export(wko, "someone-else")
