"""The referral's own escalation flags (issue 13): they keep the sweep within a partial index of
the referrals still to escalate, and must say exactly which levels were raised."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.clock import FrozenClock
from core.extensions import db
from referrals.handoffs import escalation
from referrals.handoffs.models import SENT, Referral, ReferralEscalation
from tests.referrals.handoffs.conftest import People, Submit, referral
from tests.referrals.handoffs.sweeps import POLICE, levels, sweep_at


def test_flags_follow_the_levels_raised(clock: FrozenClock, people: People, submit: Submit) -> None:
    referral_id = submit()["referrals"][POLICE]
    found = referral(referral_id)
    assert (found.ack_escalated, found.action_escalated) == (False, False)
    sweep_at(clock, found.ack_due_at + timedelta(seconds=1))
    found = referral(referral_id)
    assert levels(referral_id) == [1] and (found.ack_escalated, found.action_escalated) == (True, False)
    sweep_at(clock, found.action_due_at + timedelta(seconds=1))
    found = referral(referral_id)
    assert levels(referral_id) == [1, 2] and (found.ack_escalated, found.action_escalated) == (True, True)


def test_level_one_still_comes_after_level_two(clock: FrozenClock, people: People,
                                               submit: Submit) -> None:
    """escalation_level (the highest) cannot tell this case; the flags can: action escalated
    while acknowledged, then back to awaiting acknowledgement (a re-route), late again."""
    referral_id = submit()["referrals"][POLICE]
    found = referral(referral_id)
    db.session.execute(update(Referral).where(Referral.id == referral_id)
                       .values(status="acknowledged", acknowledged_at=clock.now()))
    db.session.commit()
    sweep_at(clock, found.action_due_at + timedelta(seconds=1))
    assert levels(referral_id) == [2]
    db.session.execute(update(Referral).where(Referral.id == referral_id).values(
        status=SENT, acknowledged_at=None, ack_due_at=clock.now() + timedelta(minutes=1)))
    db.session.commit()
    result = sweep_at(clock, clock.now() + timedelta(minutes=2))
    assert result.escalated[escalation.ACKNOWLEDGEMENT] >= 1
    assert levels(referral_id) == [1, 2]


def test_a_row_without_its_flag_is_not_raised_twice(clock: FrozenClock, people: People,
                                                    submit: Submit) -> None:
    """Rows escalated by an older version (flag unset): the escalation row still decides."""
    referral_id = submit()["referrals"][POLICE]
    found = referral(referral_id)
    db.session.add(ReferralEscalation(referral_id=referral_id, level=1, kind="acknowledgement",
                                      at=clock.now()))
    db.session.commit()
    sweep_at(clock, found.ack_due_at + timedelta(seconds=1))  # the case's other referrals go up
    assert referral(referral_id).escalation_level == 0  # this one was not escalated again
    assert db.session.scalars(select(ReferralEscalation.level).where(
        ReferralEscalation.referral_id == referral_id)).all() == [1]
