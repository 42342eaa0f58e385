"""SLA clocks and escalation (routing.md §8) with an injected clock: just before and just after
each deadline, P1/P2/P3 (working days), the recipients of each level, exactly once per level,
also when two sweeps run at the same moment on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from referrals.handoffs import escalation
from referrals.handoffs.cli import referrals_cli
from referrals.handoffs.models import Referral, ReferralEscalation
from referrals.handoffs.notification_models import Notification
from tests.referrals.handoffs.conftest import Acting, People, referral

ALMATY = ZoneInfo("Asia/Almaty")
SECOND = timedelta(seconds=1)
POLICE = "police.juvenile_inspector"


def notified(kind: str) -> set[str]:
    return set(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def levels(referral_id: str) -> list[int]:
    return sorted(db.session.scalars(select(ReferralEscalation.level).where(
        ReferralEscalation.referral_id == referral_id)))


def sweep_at(clock: FrozenClock, moment: datetime) -> escalation.SweepResult:
    clock.set(moment)
    result = escalation.sweep()
    db.session.expire_all()
    return result


# (urgency case, service under test, submitted changes, expected ack and action delays)
URGENCIES = {
    "P1": (POLICE, {"flags": ["immediate_danger"]}, timedelta(minutes=15), timedelta(hours=2)),
    "P2": (POLICE, {}, timedelta(hours=4), timedelta(hours=24)),
    # Bullying by a peer: P3, education.school; submitted on Friday 20 November 2026 at 10:00,
    # one working day is Monday 23 November 10:00, three are Wednesday 25 November 10:00.
    "P3": ("education.school", {"categories": ["violence.bullying"], "urgency": "P3",
                                "perpetrator": {"relation": "peer", "lives_with_child": False},
                                "place": "school"},
           datetime(2026, 11, 23, 10, tzinfo=ALMATY) - datetime(2026, 11, 20, 10, tzinfo=ALMATY),
           datetime(2026, 11, 25, 10, tzinfo=ALMATY) - datetime(2026, 11, 20, 10, tzinfo=ALMATY)),
}


@pytest.mark.parametrize("urgency", sorted(URGENCIES))
def test_acknowledgement_overdue_escalates_just_after_the_deadline_and_once(
        clock: FrozenClock, people: People, submit: Any, urgency: str) -> None:
    service, changes, ack_delay, _ = URGENCIES[urgency]
    submitted = clock.now()
    referral_id = submit(**changes)["referrals"][service]
    due = referral(referral_id).ack_due_at
    assert due == submitted + ack_delay  # stored at submission, working days included

    assert sweep_at(clock, due - SECOND).total == 0
    assert sweep_at(clock, due).total == 0  # at the deadline it is not yet past
    assert levels(referral_id) == []
    result = sweep_at(clock, due + SECOND)
    assert result.escalated[escalation.ACKNOWLEDGEMENT] >= 1
    assert levels(referral_id) == [1] and referral(referral_id).escalation_level == 1
    assert sweep_at(clock, due + timedelta(minutes=1)).escalated[escalation.ACKNOWLEDGEMENT] == 0
    assert levels(referral_id) == [1]


def test_p3_deadlines_skip_the_weekend(clock: FrozenClock, submit: Any) -> None:
    service, changes, _, _ = URGENCIES["P3"]
    referral_id = submit(**changes)["referrals"][service]
    saturday_evening = datetime(2026, 11, 21, 20, tzinfo=ALMATY)  # 34 hours later
    assert sweep_at(clock, saturday_evening).total == 0
    assert sweep_at(clock, datetime(2026, 11, 23, 9, 59, 59, tzinfo=ALMATY)).total == 0
    assert sweep_at(clock, datetime(2026, 11, 23, 10, 0, 1, tzinfo=ALMATY)).total >= 1
    assert levels(referral_id) == [1]


@pytest.mark.parametrize("urgency", sorted(URGENCIES))
def test_action_overdue_escalates_just_after_the_deadline(
        clock: FrozenClock, people: People, submit: Any, acting: Callable[[User], Acting],
        urgency: str) -> None:
    service, changes, _, action_delay = URGENCIES[urgency]
    submitted = clock.now()
    referral_id = submit(**changes)["referrals"][service]
    staff = people.police if service.startswith("police") else people.education
    acting(staff).act(referral_id, "accept")  # acknowledged in time: level 1 never comes
    due = referral(referral_id).action_due_at
    assert due == submitted + action_delay
    sweep_at(clock, due - SECOND)
    assert levels(referral_id) == []
    sweep_at(clock, due)
    assert levels(referral_id) == []
    sweep_at(clock, due + SECOND)
    assert levels(referral_id) == [2] and referral(referral_id).escalation_level == 2


def test_a_recorded_action_stops_the_action_clock(
        clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    police = acting(people.police)
    police.act(referral_id, "accept")
    police.act(referral_id, "record_action", {"action": "child_seen"})
    sweep_at(clock, referral(referral_id).action_due_at + timedelta(days=3))
    assert levels(referral_id) == []


def test_level_one_goes_to_the_units_heads_and_the_supervisors(
        clock: FrozenClock, people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    sweep_at(clock, referral(referral_id).ack_due_at + SECOND)
    got = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_ack", Notification.referral_id == referral_id)))
    assert got == {people.police_head.id, people.supervisor.id}
    # not the staff (they have the referral already), not another region's supervisor


def test_level_two_goes_to_the_districts_commission_and_the_supervisors(
        clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "acknowledge")
    sweep_at(clock, referral(referral_id).action_due_at + SECOND)
    got = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_action", Notification.referral_id == referral_id)))
    assert got == {people.commission_head.id, people.supervisor.id}


def test_a_late_commission_escalates_to_the_regions_commission(
        clock: FrozenClock, people: People, case: dict[str, Any],
        create_user: Callable[..., User]) -> None:
    referral_id = case["referrals"]["commission.case_control"]
    sweep_at(clock, referral(referral_id).action_due_at + SECOND)
    assert levels(referral_id) == [1, 2]  # both deadlines passed unseen: both levels, once
    action = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_action", Notification.referral_id == referral_id)))
    assert action == {people.region_commission_head.id, people.supervisor.id}
    ack = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_ack", Notification.referral_id == referral_id)))
    assert ack == {people.commission_head.id, people.supervisor.id}


def test_an_unassigned_referral_escalates_to_the_supervisors_only(
        clock: FrozenClock, people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    found = referral(referral_id)
    found.status, found.unit_id = "unassigned", None
    db.session.commit()
    sweep_at(clock, found.ack_due_at + SECOND)
    got = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_ack", Notification.referral_id == referral_id)))
    assert got == {people.supervisor.id}


def test_closed_and_declined_referrals_never_escalate(
        clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    police_id = case["referrals"][POLICE]
    acting(people.police).act(police_id, "decline", {"reason": "wrong_district"})
    education_id = case["referrals"]["education.guardianship"]
    acting(people.supervisor).act(education_id, "override", {"reason": "дубликат"})
    sweep_at(clock, clock.now() + timedelta(days=30))
    assert levels(police_id) == [] and levels(education_id) == []


def test_a_transfer_does_not_raise_a_level_twice(
        clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    sweep_at(clock, referral(referral_id).ack_due_at + SECOND)
    acting(people.police).act(referral_id, "transfer", {"unit_id": people.police_oral.unit_id})
    sweep_at(clock, referral(referral_id).ack_due_at + timedelta(minutes=5))
    assert levels(referral_id) == [1]


def test_each_batch_is_audited_without_personal_data(
        clock: FrozenClock, people: People, case: dict[str, Any]) -> None:
    sweep_at(clock, clock.now() + timedelta(days=2))
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "referral.escalation_sweep").order_by(AuditEntry.sequence)))
    assert len(entries) == 2  # one batch per level here
    assert all(e.actor_id is None for e in entries)
    assert "Әсел" not in "".join(e.details or "" for e in entries)
    assert escalation.sweep(now=clock.now()).total == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "referral.escalation_sweep")) == 2  # an empty sweep adds nothing


def test_small_batches_cover_everything(clock: FrozenClock, case: dict[str, Any],
                                        submit: Any) -> None:
    submit()
    result = escalation.sweep(now=clock.now() + timedelta(days=2), batch_size=3)
    assert result.total == 16 and result.batches == 6  # 8 referrals x 2 levels, 3 per batch


def test_the_cli_prints_the_counts(app: Flask, clock: FrozenClock, case: dict[str, Any]) -> None:
    clock.advance(timedelta(hours=5))
    runner = CliRunner()
    result = runner.invoke(referrals_cli, ["escalate"], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert "4 escalations: 4 acknowledgement overdue, 0 action overdue" in result.output
    again = runner.invoke(referrals_cli, ["escalate"], obj=_script_info(app))
    assert "0 escalations" in again.output


def _script_info(app: Flask) -> Any:
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


# ---- several hosts at the same minute (PostgreSQL) --------------------------------------------


def _in_threads(app: Flask, work: Callable[[], Any], count: int = 2) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                results.append(work())
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.postgres_only
def test_two_concurrent_sweeps_escalate_each_level_once(
        app: Flask, clock: FrozenClock, people: People, case: dict[str, Any],
        submit: Any) -> None:
    submit()
    clock.advance(timedelta(days=2))
    db.session.commit()
    results = _in_threads(app, lambda: escalation.sweep(batch_size=2))
    assert sum(r.total for r in results) == 16
    rows = db.session.execute(select(ReferralEscalation.referral_id, ReferralEscalation.level,
                                     func.count()).group_by(ReferralEscalation.referral_id,
                                                            ReferralEscalation.level)).all()
    assert len(rows) == 16 and all(count == 1 for *_, count in rows)
    supervisor_warnings = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == people.supervisor.id, Notification.kind.like("escalation%")))
    assert supervisor_warnings == 16  # one per referral and level, never twice
    assert all(r.escalation_level == 2 for r in db.session.scalars(select(Referral)))


@pytest.mark.postgres_only
def test_the_unique_escalation_record_decides_when_locks_are_bypassed(
        app: Flask, clock: FrozenClock, case: dict[str, Any]) -> None:
    """Even two escalations of one referral that skip the candidate lock raise it once."""
    referral_id = case["referrals"][POLICE]
    moment = referral(referral_id).ack_due_at + SECOND
    db.session.commit()

    def escalate() -> bool:
        raised = escalation.escalate(referral_id, escalation.ACKNOWLEDGEMENT, moment)
        db.session.commit()
        return raised

    assert sorted(_in_threads(app, escalate)) == [False, True]
    assert levels(referral_id) == [1]


def test_recipients_exclude_inactive_people(clock: FrozenClock, people: People,
                                            case: dict[str, Any]) -> None:
    people.police_head.active = False
    db.session.commit()
    referral_id = case["referrals"][POLICE]
    sweep_at(clock, referral(referral_id).ack_due_at + SECOND)
    assert people.police_head.id not in notified("escalation_ack")
    assert people.supervisor.id in notified("escalation_ack")
