"""Cases and referrals with chosen timestamps, for the dashboard's figures and its snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.extensions import db
from intake.models import Case
from referrals.handoffs.models import Referral

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # the clock fixture's moment: 10:00 in Almaty


class Data:
    """Cases and referrals with chosen timestamps, written straight to the tables."""

    def __init__(self) -> None:
        self.count = 0

    def case(self, urgency: str | None = "P2", region: str | None = "KZ-27",
             status: str = "open", district: str | None = None) -> Case:
        self.count += 1
        case = Case(number=f"T-{self.count:06d}", status=status, urgency=urgency, region=region,
                    district=district, opened_at=NOW - timedelta(days=1))
        db.session.add(case)
        return case

    def referral(self, agency: str = "police", *, region: str | None = "KZ-27",
                 district: str | None = None, status: str = "sent", created: datetime | None = None,
                 ack_in: float = 3, act_in: float = 60, acknowledged: float | None = None,
                 accepted: float | None = None, acted: float | None = None,
                 closed: float | None = None, mandatory: bool = True,
                 case: Case | None = None) -> Referral:
        """Times in hours after ``created`` (default: two days ago)."""
        start = created or NOW - timedelta(days=2)

        def at(hours: float | None) -> datetime | None:
            return None if hours is None else start + timedelta(hours=hours)

        case = case or self.case(region=region, district=district)
        referral = Referral(
            case_id=case.id, agency=agency, service=f"{agency}.service", unit_id=None,
            mandatory=mandatory, rules=[], status=status, region=region, district=district,
            created_at=start, ack_due_at=at(ack_in), action_due_at=at(act_in),
            acknowledged_at=at(acknowledged), accepted_at=at(accepted), first_action_at=at(acted),
            closed_at=at(closed))
        db.session.add(referral)
        return referral

    def commit(self) -> None:
        db.session.commit()
