"""What the pages and the API share: who may see which register or act (through the policy
module), building them, auditing every view, and signing the act."""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo

from flask import current_app
from sqlalchemy.exc import IntegrityError

from core import audit, permissions
from core.extensions import db
from core.models import AgencyUnit, User
from core.reference import regions
from referrals.registers import reconciliation
from referrals.registers.models import ReconciliationSignoff
from referrals.registers.reconciliation import Act


class NotVisible(Exception):
    """404: the region's register or act does not exist for this user (never say why)."""


class Refused(Exception):
    """403: visible, but this user may not do it (e.g. a district head signing)."""


class AlreadySigned(Exception):
    """409: the agency has signed this act already."""


class NotOver(ValueError):
    """422: a month is signed only once it is over."""


def unit_of(user: User) -> AgencyUnit | None:
    return user.unit if user.unit_id else None


def known_region(region: str | None) -> bool:
    return bool(region) and region in regions()


def default_region(user: User) -> str | None:
    """The region a page opens on: the user's unit's, else the user's, else none."""
    unit = unit_of(user)
    return unit.region if unit is not None else user.region


# A district code is its region's code and a name: KZ-27-TEREKTI.
DISTRICT_CODE = re.compile(r"KZ-\d{2}-[A-Z0-9_]{1,32}")


def register_view(user: User, region: str | None,
                  district: str | None = None) -> permissions.RegisterView:
    if region is None or not known_region(region):
        raise NotVisible
    if district is not None and not (DISTRICT_CODE.fullmatch(district)
                                     and district.startswith(f"{region}-")):
        raise NotVisible  # no such district in this region
    view = permissions.register_view(user, unit_of(user), region)
    if view is None or (view.district and district and district != view.district):
        raise NotVisible
    return view


def tz() -> tzinfo:
    zone: tzinfo = current_app.config["SENIM"].tz
    return zone


def visible_act(user: User, region: str | None, month: date, now: datetime) -> Act:
    if region is None or not known_region(region):
        raise NotVisible
    if not permissions.can_read_reconciliation(user, unit_of(user), region):
        raise NotVisible
    return reconciliation.build(region, month, tz(), now)


def audit_act_view(act: Act, how: str) -> None:
    audit.record("reconciliation.viewed", object_type="reconciliation_act",
                 object_id=f"{act.region}/{act.month}",
                 details={"cases": len(act.cases), "with_discrepancies": act.discrepancy_count(),
                          "as": how})


def sign(user: User, region: str | None, month: date, now: datetime) -> Act:
    """Record the caller's agency's signature on the act as it stands now."""
    act = visible_act(user, region, month, now)
    unit = unit_of(user)
    if unit is None or not permissions.can_sign_reconciliation(user, unit, act.region):
        raise Refused
    if not reconciliation.month_is_over(month, now, tz()):
        raise NotOver("the month is not over yet")
    if act.signoff(unit.agency) is not None:
        raise AlreadySigned
    content = act.content()
    row = ReconciliationSignoff(region=act.region, month=act.month, agency=unit.agency,
                                user_id=user.id, unit_id=unit.id, at=now,
                                digest=reconciliation.digest_of(content),
                                snapshot={"cases": content})
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise AlreadySigned from None  # another head of the agency signed a moment earlier
    audit.record("reconciliation.signed", object_type="reconciliation_act",
                 object_id=f"{act.region}/{act.month}", actor=user,
                 details={"agency": unit.agency, "cases": len(content), "digest": row.digest})
    act.signoffs = reconciliation.signoffs(act.region, act.month, content)
    return act

