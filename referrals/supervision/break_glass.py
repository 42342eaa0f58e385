"""Break-the-glass (security.md §2; issue 8 item 5): opening a case outside one's scope.

Order matters: the grant and its audit entry are written and committed before the case page
decrypts anything; the page is reached by a redirect afterwards. The reason goes into the
grant, encrypted, and not into the audit entry: the audit trail can never be edited or
anonymised, and a written reason may well name people. The entry carries the grant's id and
duration instead, and the access log shows the reason beside it.

The other supervisors are told twice: an in-app notification (kind ``break_glass``, no
referral) to each supervisor of the case's region and of the whole helpline, and the list
"Recent break-the-glass" on every supervisor's dashboard (``stats.recent_break_glass``), read
from the audit trail itself.
"""

from __future__ import annotations

from datetime import datetime

from core import audit
from core.extensions import db
from core.models import BreakGlassGrant, User
from core.models.break_glass import GRANT_DURATION, reason_problem
from intake.models import Case
from referrals.handoffs.notification_models import Notification
from referrals.handoffs.notify import supervisors_for
from referrals.supervision.stats import BREAK_GLASS_ACTION

BREAK_GLASS_NOTICE = "break_glass"  # the Notification kind


class BreakGlassRefused(ValueError):
    """The reason will not do: ``problem`` is "missing", "short" or "long"."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def open_grant(user: User, case: Case, reason: str, now: datetime) -> BreakGlassGrant:
    """Write the grant and its audit entry in the caller's transaction (the caller commits
    before anything of the case is read)."""
    problem = reason_problem(reason)
    if problem is not None:
        raise BreakGlassRefused(problem)
    grant = BreakGlassGrant(user_id=user.id, case_id=case.id, granted_at=now,
                            expires_at=now + GRANT_DURATION)
    grant.reason = reason.strip()
    db.session.add(grant)
    told = tell_supervisors(user, case, now)
    audit.record(BREAK_GLASS_ACTION, object_type="case", object_id=case.id, actor=user,
                 details={"grant": grant.id, "minutes": int(GRANT_DURATION.total_seconds() // 60),
                          "case_region": case.region, "told": told})
    return grant


def tell_supervisors(actor: User, case: Case, now: datetime) -> int:
    """Notify every other supervisor who oversees the case's region; returns how many."""
    others = [user for user in supervisors_for(case.region) if user.id != actor.id]
    for user in others:
        db.session.add(Notification(user_id=user.id, kind=BREAK_GLASS_NOTICE, referral_id=None,
                                    created_at=now))
    return len(others)
