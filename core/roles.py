"""The six roles (interfaces.md) and what kind of home each belongs to."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    AGENCY_STAFF = "agency_staff"
    AGENCY_HEAD = "agency_head"
    ADMIN = "admin"
    AUDITOR = "auditor"


HELPLINE_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})
UNIT_ROLES = frozenset({Role.AGENCY_STAFF, Role.AGENCY_HEAD})
ALL_ROLES = tuple(Role)
