"""Who has submitted a period's report upward, and who is late (decree §2–3).

Each region's supervisor submits their region's report by the 10th of the month after the
period; the helpline's national supervisor submits the country's by the 25th (the policy says
who: ``core.permissions.can_submit_report``). A submission keeps the figures as they stood and
is audited; it happens once per region and period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit, reference
from core.extensions import db
from core.models import User
from referrals.reports import indicators
from referrals.reports.indicators import ReportPeriod
from referrals.reports.models import NATIONAL, ReportSubmission


class SubmissionRefused(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem  # "not_over" or "already"


@dataclass(frozen=True)
class SubmissionStatus:
    scope: str  # a region code or NATIONAL
    due: date
    submission: ReportSubmission | None
    submitter: str | None
    late: bool  # submitted after the due day, or not yet submitted and the day has passed

    @property
    def submitted(self) -> bool:
        return self.submission is not None


def statuses(period: ReportPeriod, today: date, tz: ZoneInfo) -> list[SubmissionStatus]:
    """Every region, then the country, for one period."""
    found = {row.region: (row, username) for row, username in db.session.execute(
        select(ReportSubmission, User.username).join(User, User.id == ReportSubmission.submitted_by)
        .where(ReportSubmission.period == period.code))}
    rows = []
    for scope in [*reference.regions(), NATIONAL]:
        due = period.due(national=scope == NATIONAL)
        submission, username = found.get(scope, (None, None))
        late = today > due if submission is None else submission.late
        rows.append(SubmissionStatus(scope, due, submission, username, late))
    return rows


def submit(user: User, scope: str, period: ReportPeriod, now: datetime, tz: ZoneInfo) -> ReportSubmission:
    """Record the submission with the figures as they stand now (the caller checked the policy)."""
    today = now.astimezone(tz).date()
    if not period.is_over(today):
        raise SubmissionRefused("not_over")
    existing = db.session.scalar(select(ReportSubmission.id).where(
        ReportSubmission.region == scope, ReportSubmission.period == period.code))
    if existing is not None:
        raise SubmissionRefused("already")
    report = indicators.build(None if scope == NATIONAL else scope, period, now, tz)
    late = today > period.due(national=scope == NATIONAL)
    submission = ReportSubmission(region=scope, period=period.code, submitted_at=now,
                                  submitted_by=user.id, late=late,
                                  figures=report.current.as_json())
    db.session.add(submission)
    try:
        db.session.flush()
    except IntegrityError:  # a second submission at the same moment
        db.session.rollback()
        raise SubmissionRefused("already") from None
    audit.record("report.submitted", object_type="report_submission", object_id=submission.id,
                 details={"region": scope, "period": period.code, "late": late,
                          "contacts": report.current.contacts,
                          "referrals": report.current.referral_total})
    return submission
