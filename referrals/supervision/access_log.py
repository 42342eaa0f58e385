"""Who looked at this child's case, when, and why (issue 8 item 4).

Read from the audit trail: the entries about the case itself, its contacts and its referrals
(an agency reads the child's details on its referral page), newest first, a page at a time.
"Why" is the viewer's role and scope, or, for a supervisor who broke the glass, the reason
they wrote: an entry falls under a grant when the grant's holder wrote it while the grant ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import and_, or_, select

from core.audit.models import AuditEntry
from core.extensions import db
from core.models import BreakGlassGrant
from intake.models import Case, Contact
from referrals.handoffs.models import Referral

PAGE_SIZE: Final = 100


@dataclass(frozen=True)
class AccessEntry:
    entry: AuditEntry
    grant: BreakGlassGrant | None  # the grant this access fell under, if any


@dataclass(frozen=True)
class AccessLog:
    entries: list[AccessEntry]
    next_before: int | None  # the sequence to ask for the next (older) page
    grants: list[BreakGlassGrant]


def access_log(case: Case, before: int | None = None) -> AccessLog:
    """Two statements: a page of entries (case, contacts, referrals) and the case's grants."""
    contact_ids = select(Contact.id).where(Contact.case_id == case.id).scalar_subquery()
    referral_ids = select(Referral.id).where(Referral.case_id == case.id).scalar_subquery()
    about_case = or_(
        and_(AuditEntry.object_type == "case", AuditEntry.object_id == case.id),
        and_(AuditEntry.object_type == "contact", AuditEntry.object_id.in_(contact_ids)),
        and_(AuditEntry.object_type == "referral", AuditEntry.object_id.in_(referral_ids)),
    )
    query = select(AuditEntry).where(about_case)
    if before is not None:
        query = query.where(AuditEntry.sequence < before)
    rows = list(db.session.scalars(query.order_by(AuditEntry.sequence.desc()).limit(PAGE_SIZE + 1)))
    grants = list(db.session.scalars(
        select(BreakGlassGrant).where(BreakGlassGrant.case_id == case.id)
        .order_by(BreakGlassGrant.granted_at.desc())))
    page = rows[:PAGE_SIZE]
    return AccessLog(entries=[AccessEntry(entry, grant_for(entry, grants)) for entry in page],
                     next_before=page[-1].sequence if len(rows) > PAGE_SIZE else None,
                     grants=grants)


def grant_for(entry: AuditEntry, grants: Sequence[BreakGlassGrant]) -> BreakGlassGrant | None:
    details = entry.details_map
    if entry.action == "btg.opened":
        return next((g for g in grants if g.id == details.get("grant")), None)
    return next((g for g in grants if g.user_id == entry.actor_id
                 and g.granted_at <= entry.occurred_at < g.expires_at), None)
